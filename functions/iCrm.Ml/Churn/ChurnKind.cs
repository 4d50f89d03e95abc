using System.Diagnostics;
using System.Text.Json.Nodes;
using iCrm.Core.Features;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Churn;

/// <summary>
/// The churn model kind: discovers the feature schema from the snapshot (so extra attribute columns train without code
/// changes), labels with <see cref="ChurnLabeler"/> (explicit labels first, then no purchase in the window), trains
/// boosted trees on a time split and compares them with logistic regression and the base rate on the holdout.
/// Promotion: holdout ROC-AUC (metric "auc"), higher is better, 0.005 absolute tolerance.
/// </summary>
public sealed class ChurnKind(ChurnTrainingOptions? options = null, ChurnLabelOptions? labels = null) : IModelTrainer, IModelLoader, IChampionEvaluator
{
    private readonly ChurnTrainingOptions _options = options ?? new ChurnTrainingOptions();
    private readonly ChurnLabelOptions _labels = labels ?? new ChurnLabelOptions();

    public string Kind => ModelKinds.Churn;

    public PromotionRule Promotion { get; } = new(0.005);

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var profiles = snapshot.Profiles.Where(p => p.MergedInto is null).ToList();
        var schema = AttributeDiscovery.Discover(profiles);
        var builder = new FeatureBuilder(schema);
        var labeler = new ChurnLabeler(_labels);
        var split = ChurnDataset.Split(profiles, builder, labeler, snapshot.AsOf);
        cancellationToken.ThrowIfCancellationRequested();
        var churners = split.Train.Labels.Count(l => l);
        if (split.Train.Count < 10 || churners == 0 || churners == split.Train.Count)
        {
            throw new NotEnoughDataException($"Churn needs labelled customers of both kinds; the training snapshot has {churners} churners of {split.Train.Count}.");
        }
        // A small tenant gets smaller leaves, so the trees can split at all (a tree without splits explains nothing).
        var options = _options with { MinimumExamplesPerLeaf = Math.Clamp(split.Train.Count / 20, 2, _options.MinimumExamplesPerLeaf) };
        var result = ChurnTrainer.Train(split.Train, split.Holdout, options);
        var e = result.Evaluation;
        var bundle = ModelCards.Save(result.Model.Save);
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = $"Probability that a customer buys nothing in the {_labels.WindowDays} days after the scoring date " +
                "(or churns by an explicit label or an ended subscription). Bands: " +
                $"low < {_options.Bands.Medium:0.##} ≤ medium < {_options.Bands.High:0.##} ≤ high.",
            Algorithm = "FastTree gradient-boosted trees with Platt calibration",
            PromotionMetric = "auc",
            PromotionValue = e.Boosted.RocAuc,
            HigherIsBetter = true,
            Metrics = Metrics(e.Boosted),
            Baselines =
            {
                ["logistic_regression"] = Metrics(e.Logistic),
                ["base_rate"] = Metrics(e.BaseRate),
            },
            FeatureSchema = ModelCards.Describe(schema),
            GlobalImportance = result.Importance.Where(i => i.AucDrop != 0).ToDictionary(i => i.Label, i => ModelCards.Round(i.AucDrop, 5)),
            TrainingWindowStart = e.TrainAsOf,
            Cutoff = e.HoldoutAsOf,
            RowCounts =
            {
                ["profiles"] = profiles.Count,
                ["train_rows"] = e.TrainRows,
                ["holdout_rows"] = e.HoldoutRows,
                ["features"] = schema.Count,
            },
            Parameters = result.Parameters.ToDictionary(p => p.Key, p => Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture) ?? ""),
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            Details = new JsonObject
            {
                ["split"] = split.Method,
                ["label"] = $"churned = no purchase in the {_labels.WindowDays} days after the cutoff; explicit labels {(_labels.UseExplicitLabels ? "used when present" : "ignored")}",
                ["trainChurnRate"] = ModelCards.Round(e.TrainChurnRate),
                ["holdoutChurnRate"] = ModelCards.Round(e.Boosted.PositiveRate),
                ["trainFeaturesAsOf"] = e.TrainAsOf,
                ["holdoutFeaturesAsOf"] = e.HoldoutAsOf,
                ["importanceMeasure"] = "drop in holdout ROC-AUC when the feature is shuffled (permutation importance)",
                ["featureSchemaFingerprint"] = schema.Fingerprint,
            },
        };
        return Task.FromResult(new TrainedModel(card, bundle));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card) => new ChurnProfileScorer(card.Version, ChurnModel.Load(bundle));

    /// <summary>
    /// The champion's ROC-AUC on the challenger's time holdout: features as of the holdout cutoff, labels from the window
    /// after it. Only for a time split (a random split's holdout cannot be rebuilt); the champion was trained on labels
    /// before that window, so it has not seen them.
    /// </summary>
    public double? EvaluateChampion(IProfileScorer champion, TrainingSnapshot snapshot, ModelCard challenger)
    {
        if (challenger.Details?["split"]?.GetValue<string>() != "time" || challenger.Cutoff is not { } holdoutAsOf)
        {
            return null;
        }
        var labeler = new ChurnLabeler(_labels);
        var scores = new List<double>();
        var outcomes = new List<bool>();
        foreach (var p in snapshot.Profiles)
        {
            if (p.MergedInto is null && labeler.Label(p, holdoutAsOf) is { } outcome)
            {
                scores.Add(champion.Score(p, holdoutAsOf).Value);
                outcomes.Add(outcome.Churned);
            }
        }
        return BinaryMetrics.Compute(scores, outcomes).RocAuc;
    }

    private static Dictionary<string, double> Metrics(BinaryMetrics m)
    {
        var d = new Dictionary<string, double>();
        void Put(string name, double v)
        {
            if (double.IsFinite(v))
            {
                d[name] = ModelCards.Round(v);
            }
        }
        Put("auc", m.RocAuc); // ROC-AUC
        Put("pr_auc", m.PrAuc);
        Put("brier", m.Brier);
        Put("log_loss", m.LogLoss);
        Put("positive_rate", m.PositiveRate);
        d["rows"] = m.Rows;
        return d;
    }
}

/// <summary>Live churn scoring: features built into a stack buffer, scored on the flattened trees with top factors.</summary>
public sealed class ChurnProfileScorer : IProfileScorer
{
    private readonly FeatureBuilder _builder;
    private readonly ChurnScorer _scorer;
    private readonly int _count;

    public ChurnProfileScorer(string version, ChurnModel model)
    {
        Version = version;
        _builder = new FeatureBuilder(model.Schema);
        _scorer = model.CreateScorer();
        _count = model.Schema.Count;
    }

    public string Kind => ModelKinds.Churn;

    public string Version { get; }

    public ChurnPrediction Predict(CustomerProfile profile, DateTimeOffset asOf, int topFactors = 3)
    {
        Span<float> x = _count <= 256 ? stackalloc float[_count] : new float[_count];
        _builder.Build(profile, asOf, x);
        return _scorer.Score(x, topFactors);
    }

    public Prediction Score(CustomerProfile profile, DateTimeOffset asOf)
    {
        var p = Predict(profile, asOf);
        return new Prediction(Version, asOf, p.Probability, p.Band.Label(), p.TopFactors);
    }
}
