using iCrm.Core.Features;
using iCrm.Ml.Churn;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Tests.Churn;

/// <summary>Trains once on synthetic customers (time split, the default search) and shares the result between the tests.</summary>
public sealed class TrainedChurnModel
{
    public TrainedChurnModel()
    {
        var profiles = SyntheticCustomers.Generate(4_000, seed: 7);
        Builder = new FeatureBuilder(AttributeDiscovery.Discover(profiles));
        Options = new ChurnTrainingOptions { Boosted = [(60, 16, 0.1)], LogisticL2 = [1f], ImportanceSampleSize = 2_000 };
        Plan = ChurnPlan.Create(profiles, Builder, new ChurnLabeler(), SyntheticCustomers.DataEnd, Options);
        Result = ChurnTrainer.Train(Plan, Options);
        Logistic = ChurnTrainer.Train(Plan, Options with { Boosted = [] });
    }

    public FeatureBuilder Builder { get; }

    public ChurnPlan Plan { get; }

    public ChurnDataset Holdout => Plan.Holdout!;

    public ChurnTrainingOptions Options { get; }

    public ChurnTrainingResult Result { get; }

    /// <summary>The same plan with logistic regression as the only candidate.</summary>
    public ChurnTrainingResult Logistic { get; }
}

public sealed class ChurnModelTests(TrainedChurnModel trained) : IClassFixture<TrainedChurnModel>
{
    private ChurnEvaluation Evaluation => trained.Result.Evaluation;

    [Fact]
    public void Derived_labels_with_a_long_history_are_evaluated_on_a_later_cutoff_than_they_train_on()
    {
        Assert.Equal(EvaluationProtocols.TimeHoldout, trained.Plan.Protocol);
        Assert.Equal(TimeSpan.FromDays(90), trained.Holdout.AsOf - trained.Plan.Selection.AsOf);
        Assert.True(trained.Plan.Selection.Count > 1_000);
        Assert.True(trained.Holdout.Count > 1_000);
        Assert.Equal(trained.Holdout.Count, Evaluation.Rows);
    }

    [Fact]
    public void The_chosen_model_ranks_churners_well_above_chance_and_at_least_as_well_as_the_other_family()
    {
        Assert.True(Evaluation.Model.RocAuc > 0.7, $"AUC {Evaluation.Model.RocAuc:F3}");
        Assert.Equal(0.5, Evaluation.Baselines["base_rate"].RocAuc, 6);
        Assert.Contains(ChurnFamilies.Logistic, Evaluation.Baselines.Keys);
        Assert.Contains(ChurnFamilies.Boosted, Evaluation.Baselines.Keys);
        Assert.True(Evaluation.Model.PrAuc > Evaluation.Baselines["base_rate"].PrAuc);
        Assert.Equal(2, trained.Result.Search.Count);
    }

    [Fact]
    public void Out_of_sample_calibrated_probabilities_beat_the_base_rate_on_brier_and_log_loss()
    {
        Assert.True(Evaluation.Model.Brier < Evaluation.Baselines["base_rate"].Brier, $"{Evaluation.Model.Brier:F4} vs {Evaluation.Baselines["base_rate"].Brier:F4}");
        Assert.True(Evaluation.Model.LogLoss < Evaluation.Baselines["base_rate"].LogLoss);
        Assert.True(trained.Result.Model.Calibration.Slope < 0);
    }

    [Fact]
    public void The_shipped_model_is_refit_on_every_labelled_row()
    {
        if (trained.Result.Model.Function is ChurnTrees trees)
        {
            Assert.Equal((long)trained.Plan.All.Count * trees.TreeCount, trees.LeafCounts.Sum(c => c.Sum()));
        }

        Assert.Equal(trained.Plan.Selection.Count + trained.Holdout.Count, trained.Plan.All.Count);
        Assert.Equal(trained.Plan.All.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), trained.Result.Parameters["refitRows"].ToString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Save_then_load_gives_identical_scores_and_factors(bool boosted)
    {
        var model = boosted ? trained.Result.Model : trained.Logistic.Model;
        var original = model.CreateScorer();
        using var stream = new MemoryStream();
        model.Save(stream);
        stream.Position = 0;
        var loaded = ChurnModel.Load(stream);
        var reloaded = loaded.CreateScorer();

        Assert.Equal(model.Schema.Fingerprint, loaded.Schema.Fingerprint);
        Assert.Equal(model.Candidate, loaded.Candidate);
        foreach (var row in trained.Holdout.Features.Take(300))
        {
            var a = original.Score(row);
            var b = reloaded.Score(row);
            Assert.Equal(a.Probability, b.Probability);
            Assert.Equal(a.TopFactors, b.TopFactors);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_fast_scorer_matches_pooled_ML_NET_prediction_engines(bool boosted)
    {
        var model = boosted ? trained.Result.Model : trained.Logistic.Model;
        var fast = model.CreateScorer();
        var engine = model.CreateEngineScorer();

        foreach (var row in trained.Holdout.Features.Take(300))
        {
            Assert.Equal(engine.Probability(row), fast.Probability(row), 4);
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
    public void Tree_contributions_add_up_to_the_distance_from_the_average_customer()
    {
        var trees = (ChurnTrees)trained.Result.Model.Function;
        var contributions = new double[trees.FeatureCount];

        foreach (var row in trained.Holdout.Features.Take(100))
        {
            var raw = trees.ScoreWithContributions(row, contributions);
            Assert.Equal(raw - trees.ExpectedScore, contributions.Sum(), 6);
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
    public void Card_charts_are_drawn_from_the_out_of_sample_rows()
    {
        var charts = ChurnCharts.Build(trained.Result.OutOfSample, EvaluationProtocols.TimeHoldout);

        Assert.Equal(["calibration", "lift", "precision_recall", "roc"], charts.Keys.Order());
        Assert.All(charts.Values, c => Assert.Equal(trained.Holdout.Count, c.Rows));
        var roc = charts["roc"].Points;
        Assert.Equal((0, 0), (roc[0].X, roc[0].Y));
        Assert.Equal((1, 1), (roc[^1].X, roc[^1].Y));
        Assert.True(roc.Count <= ChurnCharts.MaxCurvePoints + 1);
        Assert.Equal(10, charts["lift"].Points.Count);
        Assert.True(charts["lift"].Points[0].Y > 1 && charts["lift"].Points[^1].Y < 1);
        Assert.StartsWith("cumulative gain 1", charts["lift"].Points[^1].Label);
        Assert.Equal(trained.Holdout.Count, charts["calibration"].Points.Sum(p => int.Parse(p.Label!.Split(": ")[1].Split(' ')[0])));
    }

    [Fact]
    public void Training_twice_with_the_same_seed_gives_the_same_model()
    {
        var again = ChurnTrainer.Train(trained.Plan, trained.Options);

        var a = trained.Result.Model.CreateScorer();
        var b = again.Model.CreateScorer();
        foreach (var row in trained.Holdout.Features.Take(200))
        {
            Assert.Equal(a.Probability(row), b.Probability(row));
        }
    }

    [Fact]
    public void Bands_follow_the_thresholds()
    {
        var bands = new ChurnBands(0.3, 0.6);

        Assert.Equal(ChurnBand.Low, bands.Of(0.29));
        Assert.Equal(ChurnBand.Medium, bands.Of(0.3));
        Assert.Equal(ChurnBand.High, bands.Of(0.6));
    }
}

public sealed class ChurnPlanTests
{
    [Fact]
    public void Long_history_is_split_by_time_and_short_history_falls_back_to_stratified_cross_validation()
    {
        var labeler = new ChurnLabeler();
        var builder = new FeatureBuilder(FeatureSchema.Default);
        var options = new ChurnTrainingOptions();

        var byTime = ChurnPlan.Create(SyntheticCustomers.Generate(1_500, seed: 3), builder, labeler, SyntheticCustomers.DataEnd, options);
        var shortHistory = ChurnPlan.Create(SyntheticCustomers.Generate(1_500, seed: 3, historyDays: 120), builder, labeler, SyntheticCustomers.DataEnd, options);

        Assert.Equal(EvaluationProtocols.TimeHoldout, byTime.Protocol);
        Assert.True(byTime.Selection.AsOf < byTime.Holdout!.AsOf);
        Assert.Equal(EvaluationProtocols.StratifiedCrossValidation, shortHistory.Protocol);
        Assert.Null(shortHistory.Holdout);
        Assert.Equal(5, shortHistory.Folds);
        var folds = shortHistory.SelectionFolds();
        var rates = Enumerable.Range(0, 5).Select(k => Enumerable.Range(0, folds.Length).Where(i => folds[i] == k).Average(i => shortHistory.Selection.Labels[i] ? 1.0 : 0.0)).ToList();
        Assert.True(rates.Max() - rates.Min() < 0.02, "folds are stratified by label");
    }

    [Fact]
    public void Undated_explicit_labels_are_cross_validated_never_split_by_time()
    {
        var profiles = SyntheticCustomers.Generate(1_500, seed: 3);
        foreach (var p in profiles)
        {
            p.ChurnLabel = new iCrm.Core.Profiles.ChurnLabel(int.Parse(p.Id[1..]) % 3 == 0, null, "crm");
        }

        var plan = ChurnPlan.Create(profiles, new FeatureBuilder(FeatureSchema.Default), new ChurnLabeler(), SyntheticCustomers.DataEnd, new ChurnTrainingOptions());

        Assert.Equal(ChurnLabelDefinition.Explicit, plan.Labels);
        Assert.Equal(EvaluationProtocols.StratifiedCrossValidation, plan.Protocol);
        Assert.Equal(profiles.Count, plan.All.Count);
        Assert.Equal(profiles.Select(p => int.Parse(p.Id[1..]) % 3 == 0), plan.All.Labels);
    }
}

public sealed class ChurnDatasetTests
{
    [Fact]
    public void Dated_explicit_labels_are_used_at_a_cutoff_and_undated_ones_are_left_out()
    {
        var asOf = SyntheticCustomers.DataEnd.AddDays(-90);
        var profiles = SyntheticCustomers.Generate(50, seed: 5).Where(p => p.Orders.Any(o => o.Date < asOf)).ToList();
        foreach (var p in profiles)
        {
            // Every second customer cancels within the window, whatever it bought; the others carry an undated "no".
            p.ChurnLabel = int.Parse(p.Id[1..]) % 2 == 0
                ? new iCrm.Core.Profiles.ChurnLabel(true, DateOnly.FromDateTime(asOf.AddDays(30).UtcDateTime), "crm")
                : new iCrm.Core.Profiles.ChurnLabel(false, null, "crm");
        }

        var data = ChurnDataset.FromProfiles(profiles, new FeatureBuilder(FeatureSchema.Default), new ChurnLabeler(), asOf);

        Assert.Equal(profiles.Count(p => int.Parse(p.Id[1..]) % 2 == 0), data.Count);
        Assert.All(data.Labels, Assert.True);
    }
}
