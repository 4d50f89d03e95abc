using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;
using iCrm.Testing;

namespace iCrm.Ml.Tests.Training;

public sealed class PromotionSpecification
{
    private static readonly PromotionRule Absolute = new(0.005);

    private static async Task<(TrainingRunner Runner, InMemoryModelRegistry Registry, InMemoryCustomerStore Store)> World(params FixedKind[] kinds)
    {
        var store = await TrainingWorld.StoreAsync([new CustomerProfile { Id = "a" }, new CustomerProfile { Id = "b" }]);
        var registry = new InMemoryModelRegistry();
        return (TrainingWorld.Runner(store, registry, kinds.Select(k => ((IModelTrainer)k, (IModelLoader)k))), registry, store);
    }

    private static TrainingRunRecord NextRun() => TrainingWorld.Run(Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(0.70, 0.60, true, false)] // higher is better, clearly worse: kept
    [InlineData(0.70, 0.696, true, true)] // within the 0.005 tolerance: promoted
    [InlineData(0.70, 0.80, true, true)]
    [InlineData(1.00, 1.10, false, false)] // lower is better (an error): worse
    [InlineData(1.00, 0.90, false, true)]
    public async Task A_challenger_is_promoted_only_when_not_worse_than_the_champion_beyond_the_tolerance(double first, double second, bool higherIsBetter, bool promoted)
    {
        var kind = new FixedKind("churn", Absolute, higherIsBetter) { NextValue = first };
        var (runner, registry, _) = await World(kind);
        var run1 = await runner.RunAsync(NextRun());
        Assert.True(run1.Models["churn"].Promoted);
        kind.NextValue = second;
        var run2 = await runner.RunAsync(NextRun());

        Assert.Equal(promoted, run2.Models["churn"].Promoted);
        var champion = await registry.GetChampionAsync("churn");
        Assert.Equal(promoted ? run2.Models["churn"].Version : run1.Models["churn"].Version, champion!.Value.Version);
        if (promoted)
        {
            Assert.Equal(run1.Models["churn"].Version, champion.Value.PreviousVersion);
        }
    }

    [Theory]
    [InlineData(1.00, 1.019, true)]
    [InlineData(1.00, 1.021, false)]
    [InlineData(10.0, 10.19, true)] // 2 % of 10 is 0.2: an absolute 0.02 would have refused this
    public async Task Lifetime_value_error_may_be_two_percent_worse_relative_to_the_champion(double first, double second, bool promoted)
    {
        var kind = new FixedKind("clv", new PromotionRule(0.02, Relative: true), higherIsBetter: false) { NextValue = first };
        var (runner, _, _) = await World(kind);
        await runner.RunAsync(NextRun());
        kind.NextValue = second;
        Assert.Equal(promoted, (await runner.RunAsync(NextRun())).Models["clv"].Promoted);
    }

    [Fact]
    public async Task A_not_comparable_challenger_never_replaces_a_champion_even_with_a_better_value()
    {
        var kind = new FixedKind("clv", new PromotionRule(0.02, Relative: true), higherIsBetter: false) { NextValue = 0.6 };
        var (runner, registry, _) = await World(kind);
        var run1 = await runner.RunAsync(NextRun());
        kind.NextValue = 0.0008;
        kind.NotComparable = "nobody bought anything in the holdout";
        var run2 = await runner.RunAsync(NextRun());

        Assert.False(run2.Models["clv"].Promoted);
        Assert.Equal($"not comparable: nobody bought anything in the holdout; kept champion {run1.Models["clv"].Version}", run2.Models["clv"].Reason);
        Assert.Equal(TrainingRunStatus.Succeeded, run2.Status);
        Assert.Equal(run1.Models["clv"].Version, (await registry.GetChampionAsync("clv"))!.Value.Version);
    }

    [Fact]
    public async Task A_first_model_that_is_not_comparable_is_promoted_flagged_and_the_next_comparable_one_replaces_it()
    {
        var kind = new FixedKind("clv", new PromotionRule(0.02, Relative: true), higherIsBetter: false) { NextValue = double.NaN, NotComparable = "the holdout has 12 customers" };
        var (runner, _, _) = await World(kind);
        var run1 = await runner.RunAsync(NextRun());
        Assert.True(run1.Models["clv"].Promoted);
        Assert.Contains("not comparable: the holdout has 12 customers", run1.Models["clv"].Reason, StringComparison.Ordinal);

        kind.NotComparable = null;
        kind.NextValue = 5.0; // any measured value beats an unmeasured champion
        var run2 = await runner.RunAsync(NextRun());
        Assert.True(run2.Models["clv"].Promoted, run2.Models["clv"].Reason);
    }

    [Fact]
    public async Task An_unsound_fit_is_never_promoted_not_even_as_the_first_model_of_its_kind()
    {
        var kind = new FixedKind("clv", new PromotionRule(0.02, Relative: true), higherIsBetter: false) { NextValue = 0.5, Unsound = "BG/NBD parameters at a bound: a=1E-07" };
        var (runner, registry, _) = await World(kind);
        var run1 = await runner.RunAsync(NextRun());
        Assert.False(run1.Models["clv"].Promoted);
        Assert.StartsWith("not promoted: unsound fit: BG/NBD parameters at a bound", run1.Models["clv"].Reason, StringComparison.Ordinal);
        Assert.Null(await registry.GetChampionAsync("clv"));
        Assert.Contains(run1.Models["clv"].Version, await registry.ListVersionsAsync("clv")); // published for inspection

        kind.Unsound = null;
        await runner.RunAsync(NextRun());
        kind.Unsound = "BG/NBD did not converge";
        kind.NextValue = 0.1;
        Assert.False((await runner.RunAsync(NextRun())).Models["clv"].Promoted);
    }

    [Fact]
    public async Task A_champion_card_measured_by_another_protocol_is_not_compared_and_the_challenger_replaces_it()
    {
        var kind = new FixedKind("recommendations", Absolute) { NextValue = 0.9, Protocol = "time-holdout: last 30 days" };
        var (runner, _, _) = await World(kind);
        await runner.RunAsync(NextRun());
        kind.NextValue = 0.4;
        kind.Protocol = "per-user-random-holdout: 20 % of each user's items";
        var run2 = await runner.RunAsync(NextRun());

        Assert.True(run2.Models["recommendations"].Promoted, run2.Models["recommendations"].Reason);
        Assert.Contains("protocol 'time-holdout', not comparable with 'per-user-random-holdout'", run2.Models["recommendations"].Reason, StringComparison.Ordinal);
        kind.NextValue = 0.3; // same protocol now: compared as usual
        Assert.False((await runner.RunAsync(NextRun())).Models["recommendations"].Promoted);
    }

    [Fact]
    public async Task Segments_are_promoted_whenever_training_succeeds_even_with_a_lower_value()
    {
        var kind = new FixedKind("segments", new PromotionRule(0, Always: true)) { NextValue = 0.9 };
        var (runner, _, _) = await World(kind);
        await runner.RunAsync(NextRun());
        kind.NextValue = 0.1;
        Assert.True((await runner.RunAsync(NextRun())).Models["segments"].Promoted);
    }

    [Fact]
    public async Task A_challenger_whose_bundle_cannot_be_loaded_is_neither_published_nor_promoted()
    {
        var kind = new FixedKind("churn", Absolute);
        var (runner, registry, _) = await World(kind);
        var run1 = await runner.RunAsync(NextRun());
        kind.ProduceCorruptBundle = true;
        kind.NextValue = 0.99;
        var run2 = await runner.RunAsync(NextRun());

        Assert.False(run2.Models["churn"].Promoted);
        Assert.StartsWith("failed", run2.Models["churn"].Reason, StringComparison.Ordinal);
        Assert.Equal(TrainingRunStatus.Failed, run2.Status);
        Assert.Equal(run1.Models["churn"].Version, (await registry.GetChampionAsync("churn"))!.Value.Version);
        Assert.DoesNotContain(run2.Models["churn"].Version, await registry.ListVersionsAsync("churn"));
    }

    [Fact]
    public async Task A_failed_training_keeps_the_champion_and_the_run_reports_why()
    {
        var kind = new FixedKind("churn", Absolute);
        var (runner, registry, _) = await World(kind);
        var run1 = await runner.RunAsync(NextRun());
        kind.FailTraining = true;
        var run2 = await runner.RunAsync(NextRun());

        Assert.Equal(TrainingRunStatus.Failed, run2.Status);
        Assert.Contains("not enough data", run2.Error, StringComparison.Ordinal);
        Assert.Equal(run1.Models["churn"].Version, (await registry.GetChampionAsync("churn"))!.Value.Version);
    }

    [Fact]
    public async Task A_kind_without_enough_data_is_skipped_and_the_run_still_succeeds()
    {
        var sentiment = new FixedKind("sentiment", Absolute) { NotEnoughData = true };
        var churn = new FixedKind("churn", Absolute);
        var (runner, registry, _) = await World(sentiment, churn);
        var run = await runner.RunAsync(NextRun());

        Assert.Equal(TrainingRunStatus.Succeeded, run.Status);
        Assert.Equal("skipped: no feedback texts yet", run.Models["sentiment"].Reason);
        Assert.Null(await registry.GetChampionAsync("sentiment"));
        Assert.True(run.Models["churn"].Promoted);
    }

    [Fact]
    public async Task A_challenger_whose_metric_could_not_be_measured_is_not_promoted_even_without_a_champion()
    {
        var kind = new FixedKind("churn", Absolute) { NextValue = double.NaN };
        var (runner, registry, _) = await World(kind);
        var run = await runner.RunAsync(NextRun());

        Assert.False(run.Models["churn"].Promoted);
        Assert.Null(await registry.GetChampionAsync("churn"));
    }

    [Fact]
    public async Task A_champion_whose_bundle_was_corrupted_in_storage_keeps_serving_from_memory_and_is_reported_when_nothing_is_loaded()
    {
        var kind = new FixedKind("churn", Absolute);
        var (runner, registry, _) = await World(kind);
        var run = await runner.RunAsync(NextRun());
        var warm = TrainingWorld.Champions(registry, [kind]);
        Assert.NotNull((await warm.GetAsync("churn")).Scorer);

        registry.Corrupt("churn", run.Models["churn"].Version, [0, 0, 0]);
        var cold = TrainingWorld.Champions(registry, [kind]);
        var (scorer, unavailable) = await cold.GetAsync("churn");

        Assert.Null(scorer);
        Assert.Contains("could not be loaded", unavailable!.Reason, StringComparison.Ordinal);
        Assert.NotNull((await warm.GetAsync("churn")).Scorer); // same version: the loaded scorer stays
    }

    [Fact]
    public async Task Two_runs_never_overlap_the_second_is_skipped_while_the_lease_is_held()
    {
        var kind = new FixedKind("churn", Absolute);
        var (runner, registry, _) = await World(kind);
        await using (await registry.TryAcquireAsync())
        {
            var skipped = await runner.RunAsync(NextRun());
            Assert.Equal(TrainingRunStatus.Skipped, skipped.Status);
            Assert.Empty(skipped.Models);
        }
        Assert.Equal(TrainingRunStatus.Succeeded, (await runner.RunAsync(NextRun())).Status);
    }

    [Fact]
    public async Task The_write_back_is_idempotent_and_a_failed_write_back_is_completed_by_the_next_run()
    {
        var kind = new FixedKind("churn", Absolute);
        var (runner, _, store) = await World(kind);
        store.BeforeWrite = _ => throw new IOException("store unavailable");
        var failed = await runner.RunAsync(NextRun());
        Assert.Equal(TrainingRunStatus.Failed, failed.Status);
        Assert.True(failed.Models["churn"].Promoted); // the swap happened before the write-back

        store.BeforeWrite = null;
        kind.NextValue = 0.1; // worse: the champion stays, and the next run still writes its predictions
        var retry = await runner.RunAsync(NextRun());
        Assert.Equal(2, retry.PredictionsWritten);
        Assert.All(store.All(), p => Assert.Equal(failed.Models["churn"].Version, p.Predictions["churn"].ModelVersion));

        var again = await runner.RunAsync(NextRun());
        Assert.Equal(0, again.PredictionsWritten);
    }
}
