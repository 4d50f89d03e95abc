using System.Globalization;
using iCrm.Core.Profiles;
using iCrm.Ml.Lifetime;
using iCrm.Ml.Registry;
using iCrm.Ml.Tests.Training;
using iCrm.Ml.Training;
using iCrm.Testing;
using Xunit.Abstractions;

namespace iCrm.Ml.Tests.Lifetime;

/// <summary>Issue 13 item 3: lifetime value is fitted as of the end of the data, and a holdout that cannot support a
/// comparison never promotes anything.</summary>
public sealed class LifetimeReferenceDateSpecification(ITestOutputHelper output)
{
    private const double R = 0.25, Alpha = 4.0, A = 0.8, B = 2.5;
    private static readonly DateTimeOffset ExportStart = new(1997, 1, 1, 0, 0, 0, TimeSpan.Zero);
    /// <summary>78 weeks after the start: the day after the export's last possible purchase.</summary>
    private static readonly DateTimeOffset ExportEnd = ExportStart.AddDays(78 * 7);
    /// <summary>"Today" for a run without asOf: the wall clock, years after the export ended.</summary>
    private static readonly DateTimeOffset Today = new(2026, 12, 4, 9, 30, 0, TimeSpan.Zero);

    private static readonly Lazy<List<CustomerProfile>> Export = new(() =>
        LifetimeSimulation.Profiles(6_000, seed: 13, ExportStart, R, Alpha, A, B));

    private static double MaxRelativeError(ModelCard card)
    {
        double P(string name) => double.Parse(card.Parameters[name], CultureInfo.InvariantCulture);
        return new[] { (P("bgnbd_r"), R), (P("bgnbd_alpha"), Alpha), (P("bgnbd_a"), A), (P("bgnbd_b"), B) }.Max(x => Math.Abs(x.Item1 / x.Item2 - 1));
    }

    [Fact]
    public async Task An_export_that_ended_years_ago_trained_without_asOf_recovers_the_parameters_as_well_as_with_asOf()
    {
        var kind = new LifetimeKind();
        var withAsOf = (await kind.TrainAsync(new TrainingSnapshot(Export.Value, ExportEnd), "with", default)).Card;
        var withoutAsOf = (await kind.TrainAsync(new TrainingSnapshot(Export.Value, Today), "without", default)).Card;
        // What training did before: summaries cut at the wall clock.
        var atWallClock = LifetimeTrainer.Train([.. Export.Value.Select(p => CustomerSummary.FromProfile(p, Today)).OfType<CustomerSummary>()]).Model.Purchases;
        double wallClockError = new[] { (atWallClock.R, R), (atWallClock.Alpha, Alpha), (atWallClock.A, A), (atWallClock.B, B) }.Max(x => Math.Abs(x.Item1 / x.Item2 - 1));
        output.WriteLine($"clv_bgnbd_recovery_max_rel_error with_asOf={MaxRelativeError(withAsOf):F4} without_asOf={MaxRelativeError(withoutAsOf):F4} fitted_at_wall_clock(before)={wallClockError:F4}");
        output.WriteLine($"without asOf: r={withoutAsOf.Parameters["bgnbd_r"]} alpha={withoutAsOf.Parameters["bgnbd_alpha"]} a={withoutAsOf.Parameters["bgnbd_a"]} b={withoutAsOf.Parameters["bgnbd_b"]} (truth {R}, {Alpha}, {A}, {B}); reference {withoutAsOf.Details!["referenceDateSource"]}");

        Assert.Equal(ExportEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), withoutAsOf.Parameters["as_of"]);
        Assert.Equal(MaxRelativeError(withAsOf), MaxRelativeError(withoutAsOf), 6);
        Assert.True(MaxRelativeError(withoutAsOf) < 0.25, $"max relative error {MaxRelativeError(withoutAsOf)}");
        Assert.True(wallClockError > 2 * MaxRelativeError(withoutAsOf), $"the wall-clock fit was expected to be far off: {wallClockError}");
        Assert.Null(PromotionGate.NotComparable(withoutAsOf));
        Assert.Null(PromotionGate.Unsound(withoutAsOf));
        Assert.True(withoutAsOf.PromotionValue is > 0 and < 1, $"purchases_mae {withoutAsOf.PromotionValue}");
        Assert.StartsWith(EvaluationProtocols.TimeHoldout + ":", withoutAsOf.EvaluationProtocol, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_card_draws_predicted_against_actual_holdout_purchases_by_decile_and_the_top_decile_buys_most()
    {
        var card = (await new LifetimeKind().TrainAsync(new TrainingSnapshot(Export.Value, Today), "v", default)).Card;
        var chart = card.Charts["predicted_vs_actual_by_decile"];
        Assert.Equal(10, chart.Points.Count);
        Assert.Equal(card.RowCounts["holdout_customers"], chart.Rows);
        Assert.True(chart.Points[^1].Y > 3 * chart.Points[0].Y, string.Join("; ", chart.Points.Select(p => $"{p.X:F2}->{p.Y:F2}")));
        Assert.True(chart.Points.Zip(chart.Points.Skip(1)).All(p => p.First.X <= p.Second.X));
    }

    [Fact]
    public async Task A_zero_purchase_holdout_cannot_promote_over_a_working_champion()
    {
        var profiles = Export.Value.Select(Copy).ToList();
        var store = await TrainingWorld.StoreAsync(profiles);
        var registry = new InMemoryModelRegistry();
        var kind = new LifetimeKind();
        var runner = TrainingWorld.Runner(store, registry, [(kind, kind)]);
        var first = await runner.RunAsync(Run(ExportEnd));
        Assert.True(first.Models[ModelKinds.Clv].Promoted, first.Models[ModelKinds.Clv].Reason);

        // Activity long after the last purchase (a feedback text today): the end of the data moves to today, and the
        // 182-day holdout before it holds no purchase at all. Its error is ~0 — the bug promoted exactly such a model.
        var stored = (await store.GetAsync(profiles[0].Id))!;
        stored.Value.Feedback.Add(new FeedbackItem { Timestamp = Today.AddDays(-1), Channel = "web", Text = "still here" });
        Assert.NotNull(await store.TryReplaceAsync(stored.Value, stored.ETag));
        var second = await runner.RunAsync(Run(Today));

        var outcome = second.Models[ModelKinds.Clv];
        Assert.False(outcome.Promoted);
        Assert.StartsWith("not comparable: nobody bought anything in the holdout", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains($"kept champion {first.Models[ModelKinds.Clv].Version}", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(TrainingRunStatus.Succeeded, second.Status);
        Assert.Equal(first.Models[ModelKinds.Clv].Version, (await registry.GetChampionAsync(ModelKinds.Clv))!.Value.Version);
        var card = (await registry.GetCardAsync(ModelKinds.Clv, outcome.Version))!;
        Assert.True(double.IsNaN(card.PromotionValue));
        Assert.Equal(0, card.RowCounts["holdout_purchases"]);
        Assert.NotNull(PromotionGate.NotComparable(card));
    }

    [Fact]
    public async Task A_holdout_with_too_few_customers_is_not_comparable_and_a_first_such_model_is_promoted_flagged_then_replaced()
    {
        var store = await TrainingWorld.StoreAsync(Export.Value.Take(1_500).Select(Copy));
        var registry = new InMemoryModelRegistry();
        var strict = new LifetimeKind(minimumHoldoutCustomers: 10_000);
        var first = await TrainingWorld.Runner(store, registry, [(strict, strict)]).RunAsync(Run(ExportEnd));
        var outcome = first.Models[ModelKinds.Clv];
        Assert.True(outcome.Promoted, outcome.Reason);
        Assert.Contains("not comparable: the holdout has 1500 customers", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("quality is unmeasured", outcome.Reason, StringComparison.Ordinal);

        var usual = new LifetimeKind();
        var second = await TrainingWorld.Runner(store, registry, [(usual, usual)]).RunAsync(Run(ExportEnd));
        Assert.True(second.Models[ModelKinds.Clv].Promoted, second.Models[ModelKinds.Clv].Reason);
        Assert.True(double.IsFinite(second.Models[ModelKinds.Clv].Value));
        // The unmeasured champion is measured on the challenger's holdout, so the two are compared on the same customers.
        Assert.Contains("measured on this run's holdout", second.Models[ModelKinds.Clv].Reason, StringComparison.Ordinal);
        Assert.True(second.Models[ModelKinds.Clv].ChampionValue is > 0);
    }

    [Fact]
    public async Task Stored_scores_of_an_old_export_use_the_models_reference_date_not_the_run_date()
    {
        var store = await TrainingWorld.StoreAsync(Export.Value.Take(2_000).Select(Copy));
        var registry = new InMemoryModelRegistry();
        var kind = new LifetimeKind();
        var run = await TrainingWorld.Runner(store, registry, [(kind, kind)]).RunAsync(Run(Today));
        Assert.True(run.Models[ModelKinds.Clv].Promoted, run.Models[ModelKinds.Clv].Reason);

        var predictions = store.All().Select(p => p.Predictions[ModelKinds.Clv]).ToList();
        Assert.All(predictions, p => Assert.Equal(ExportEnd, p.At));
        // Repeat buyers who bought recently are likely alive at the export's end (at today's date all would be ≈ 0).
        var alive = store.All().Where(p => p.Orders.Count > 2 && p.Orders[^1].Date > ExportEnd.AddDays(-14))
            .Select(p => p.Predictions[ModelKinds.Clv].TopFactors.Single(f => f.Feature == "probability_alive").Contribution).ToList();
        Assert.NotEmpty(alive);
        Assert.True(alive.Average() > 0.8, $"mean P(alive) {alive.Average()}");
    }

    [Fact]
    public void A_live_customer_who_bought_after_the_model_was_fitted_is_scored_at_that_purchase_not_at_the_models_date()
    {
        var model = new LifetimeValueModel(new BgNbdParameters(R, Alpha, A, B, 0, 1), null, AsOf: ExportEnd);
        var profile = new CustomerProfile { Id = "x" };
        profile.Orders.Add(new OrderLine("o1", 1, ExportEnd.AddDays(-100), "p", 1, 10, "web", false));
        Assert.Equal(ExportEnd, model.ScoringDate(profile, Today));
        Assert.Equal(ExportEnd.AddDays(-50), model.ScoringDate(profile, ExportEnd.AddDays(-50)));
        profile.Orders.Add(new OrderLine("o2", 1, ExportEnd.AddDays(30).AddHours(5), "p", 1, 10, "web", false));
        Assert.Equal(ExportEnd.AddDays(31), model.ScoringDate(profile, Today));
        Assert.Equal(Today, (model with { AsOf = null }).ScoringDate(profile, Today));
    }

    [Fact]
    public void A_fit_that_sits_at_a_parameter_bound_or_did_not_converge_says_why()
    {
        var fit = BgNbd.FitChecked([.. LifetimeSimulation.Simulate(3_000, seed: 2, R, Alpha, A, B).Select(c => c.Summary)]);
        Assert.Null(fit.Problem);
        Assert.Contains("a=1E-07", (fit with { AtBounds = ["a=1E-07"] }).Problem, StringComparison.Ordinal);
        Assert.Contains("did not converge", (fit with { GradientNorm = 0.5 }).Problem, StringComparison.Ordinal);
    }

    private static TrainingRunRecord Run(DateTimeOffset asOf) => new()
    {
        RunId = Guid.NewGuid().ToString("N"),
        Trigger = "test",
        RequestedAt = asOf,
        AsOf = asOf,
    };

    private static CustomerProfile Copy(CustomerProfile p) => new() { Id = p.Id, Orders = [.. p.Orders] };
}
