using iCrm.Core.Features;
using iCrm.Ml.Churn;

namespace iCrm.Ml.Tests.Churn;

/// <summary>Trains once on synthetic customers (time split) and shares the result between the tests.</summary>
public sealed class TrainedChurnModel
{
    public TrainedChurnModel()
    {
        var profiles = SyntheticCustomers.Generate(4_000, seed: 7);
        Builder = new FeatureBuilder(AttributeDiscovery.Discover(profiles));
        (Train, Holdout) = ChurnDataset.TimeSplit(profiles, Builder, new ChurnLabeler(), SyntheticCustomers.DataEnd);
        Options = new ChurnTrainingOptions { NumberOfTrees = 60, ImportanceSampleSize = 2_000 };
        Result = ChurnTrainer.Train(Train, Holdout, Options);
    }

    public FeatureBuilder Builder { get; }

    public ChurnDataset Train { get; }

    public ChurnDataset Holdout { get; }

    public ChurnTrainingOptions Options { get; }

    public ChurnTrainingResult Result { get; }
}

public sealed class ChurnModelTests(TrainedChurnModel trained) : IClassFixture<TrainedChurnModel>
{
    private ChurnEvaluation Evaluation => trained.Result.Evaluation;

    [Fact]
    public void The_time_split_trains_on_an_earlier_cutoff_than_it_evaluates_on()
    {
        Assert.Equal(TimeSpan.FromDays(90), Evaluation.HoldoutAsOf - Evaluation.TrainAsOf);
        Assert.True(trained.Train.Count > 1_000);
        Assert.True(trained.Holdout.Count > 1_000);
        Assert.InRange(trained.Holdout.ChurnRate, 0.1, 0.9);
    }

    [Fact]
    public void Boosted_trees_rank_churners_well_above_chance_and_close_to_logistic_regression()
    {
        Assert.True(Evaluation.Boosted.RocAuc > 0.7, $"boosted AUC {Evaluation.Boosted.RocAuc:F3}");
        Assert.True(Evaluation.Boosted.RocAuc >= Evaluation.Logistic.RocAuc - 0.02,
            $"boosted AUC {Evaluation.Boosted.RocAuc:F3} vs logistic {Evaluation.Logistic.RocAuc:F3}");
        Assert.Equal(0.5, Evaluation.BaseRate.RocAuc, 6);
        Assert.True(Evaluation.Boosted.PrAuc > Evaluation.BaseRate.PrAuc);
    }

    [Fact]
    public void Calibrated_probabilities_beat_the_base_rate_on_brier_and_log_loss()
    {
        Assert.True(Evaluation.Boosted.Brier < Evaluation.BaseRate.Brier, $"{Evaluation.Boosted.Brier:F4} vs {Evaluation.BaseRate.Brier:F4}");
        Assert.True(Evaluation.Boosted.LogLoss < Evaluation.BaseRate.LogLoss);
    }

    [Fact]
    public void Save_then_load_gives_identical_scores_and_factors()
    {
        var original = trained.Result.Model.CreateScorer();
        using var stream = new MemoryStream();
        trained.Result.Model.Save(stream);
        stream.Position = 0;
        var loaded = ChurnModel.Load(stream);
        var reloaded = loaded.CreateScorer();

        Assert.Equal(trained.Result.Model.Schema.Fingerprint, loaded.Schema.Fingerprint);
        foreach (var row in trained.Holdout.Features.Take(300))
        {
            var a = original.Score(row);
            var b = reloaded.Score(row);
            Assert.Equal(a.Probability, b.Probability);
            Assert.Equal(a.TopFactors, b.TopFactors);
        }
    }

    [Fact]
    public void The_fast_scorer_matches_ML_NET_prediction_engines()
    {
        var fast = trained.Result.Model.CreateScorer();
        var engine = trained.Result.Model.CreateEngineScorer();

        foreach (var row in trained.Holdout.Features.Take(300))
        {
            Assert.Equal(engine.Probability(row), fast.Probability(row), 5);
        }
    }

    [Fact]
    public void Top_factors_are_named_and_ordered_by_absolute_contribution()
    {
        var scorer = trained.Result.Model.CreateScorer();
        var schema = trained.Result.Model.Schema;

        foreach (var row in trained.Holdout.Features.Take(200))
        {
            var prediction = scorer.Score(row);
            Assert.Equal(3, prediction.TopFactors.Count);
            Assert.All(prediction.TopFactors, f => Assert.Equal(schema.Features[schema.IndexOf(f.Feature)].Label, f.Label));
            for (var i = 1; i < prediction.TopFactors.Count; i++)
            {
                Assert.True(Math.Abs(prediction.TopFactors[i - 1].Contribution) >= Math.Abs(prediction.TopFactors[i].Contribution));
            }
        }
    }

    [Fact]
    public void Contributions_add_up_to_the_log_odds_distance_from_the_average_customer()
    {
        var trees = trained.Result.Model.Trees;
        var contributions = new double[trees.FeatureCount];

        foreach (var row in trained.Holdout.Features.Take(100))
        {
            var raw = trees.ScoreWithContributions(row, contributions);
            var expected = -trees.PlattSlope * (raw - trees.ExpectedScore);
            Assert.Equal(expected, contributions.Sum(), 6);
            Assert.Equal(trees.RawScore(row), raw, 9);
        }
    }

    [Fact]
    public void Recency_and_frequency_lead_the_global_importance()
    {
        var top = trained.Result.Importance.Take(5).Select(i => i.Feature).ToList();

        Assert.Contains(top, f => f is "days_since_last_order" or "orders_90d" or "orders_365d" or "orders_30d" or "days_since_last_event" or "spend_90d" or "spend_365d");
        Assert.True(trained.Result.Importance[0].AucDrop > 0.01);
        Assert.All(trained.Result.Importance, i => Assert.False(string.IsNullOrWhiteSpace(i.Label)));
    }

    [Fact]
    public void A_scorer_refuses_features_laid_out_by_another_schema()
    {
        var scorer = trained.Result.Model.CreateScorer();
        var other = new FeatureBuilder(FeatureSchema.Default).Build(SyntheticCustomers.Generate(1, seed: 1)[0], SyntheticCustomers.DataEnd);

        Assert.Throws<InvalidOperationException>(() => scorer.Score(other));
        Assert.Throws<ArgumentException>(() => scorer.Score(new float[3]));
    }

    [Fact]
    public void Refitting_on_the_latest_snapshot_ships_a_different_model_with_the_same_evaluation()
    {
        var refit = ChurnTrainer.Train(trained.Train, trained.Holdout, trained.Options with { RefitOnLatest = true });

        Assert.Equal(trained.Result.Evaluation, refit.Evaluation);
        Assert.True(refit.Model.Trees.LeafCounts.Sum(c => c.Sum()) == (long)trained.Holdout.Count * refit.Model.Trees.TreeCount);
        var row = trained.Holdout.Features[0];
        Assert.NotEqual(trained.Result.Model.CreateScorer().Probability(row), refit.Model.CreateScorer().Probability(row));
    }

    [Fact]
    public void Bands_follow_the_thresholds()
    {
        var bands = new ChurnBands(0.3, 0.6);

        Assert.Equal(ChurnBand.Low, bands.Of(0.29));
        Assert.Equal(ChurnBand.Medium, bands.Of(0.3));
        Assert.Equal(ChurnBand.High, bands.Of(0.6));
    }

    [Fact]
    public void Training_twice_with_the_same_seed_gives_the_same_model()
    {
        var again = ChurnTrainer.Train(trained.Train, trained.Holdout, trained.Options);

        var a = trained.Result.Model.CreateScorer();
        var b = again.Model.CreateScorer();
        foreach (var row in trained.Holdout.Features.Take(200))
        {
            Assert.Equal(a.Probability(row), b.Probability(row));
        }
    }
}

public sealed class ChurnSplitTests
{
    [Fact]
    public void Long_history_is_split_by_time_and_short_history_falls_back_to_a_random_split()
    {
        var labeler = new ChurnLabeler();
        var longHistory = SyntheticCustomers.Generate(1_500, seed: 3);
        var builder = new FeatureBuilder(FeatureSchema.Default);

        var byTime = ChurnDataset.Split(longHistory, builder, labeler, SyntheticCustomers.DataEnd);
        var shortHistory = ChurnDataset.Split(SyntheticCustomers.Generate(1_500, seed: 3, historyDays: 120), builder, labeler, SyntheticCustomers.DataEnd);

        Assert.Equal("time", byTime.Method);
        Assert.True(byTime.Train.AsOf < byTime.Holdout.AsOf);
        Assert.StartsWith("random", shortHistory.Method);
        Assert.Equal(shortHistory.Train.AsOf, shortHistory.Holdout.AsOf);
        Assert.True(shortHistory.Holdout.Count > 0 && shortHistory.Train.Count > 3 * shortHistory.Holdout.Count);
    }
}

public sealed class ChurnDatasetTests
{
    [Fact]
    public void Explicit_labels_from_drops_are_used_when_present()
    {
        var asOf = SyntheticCustomers.DataEnd.AddDays(-90);
        var profiles = SyntheticCustomers.Generate(50, seed: 5).Where(p => p.Orders.Any(o => o.Date < asOf)).ToList();
        foreach (var p in profiles)
        {
            // Every second customer cancels within the window, whatever it bought.
            p.ChurnLabel = int.Parse(p.Id[1..]) % 2 == 0
                ? new iCrm.Core.Profiles.ChurnLabel(true, DateOnly.FromDateTime(asOf.AddDays(30).UtcDateTime), "crm")
                : new iCrm.Core.Profiles.ChurnLabel(false, null, "crm");
        }

        var data = ChurnDataset.FromProfiles(profiles, new FeatureBuilder(FeatureSchema.Default), new ChurnLabeler(), asOf);

        Assert.Equal(profiles.Count, data.Count);
        Assert.Equal(profiles.Select(p => int.Parse(p.Id[1..]) % 2 == 0), data.Labels);
    }
}
