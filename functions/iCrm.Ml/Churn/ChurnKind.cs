using System.Diagnostics;
using System.Text.Json.Nodes;
using iCrm.Core.Features;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Churn;

/// <summary>
/// The churn model kind: discovers the feature schema from the snapshot (so extra attribute columns train without code
/// changes), decides the label definition and evaluation protocol (<see cref="ChurnPlan"/>), and lets
/// <see cref="ChurnTrainer"/> choose, calibrate, evaluate out of sample and refit on every labelled customer.
/// Promotion: out-of-sample ROC-AUC (metric "auc"), higher is better, 0.005 absolute tolerance.
/// </summary>
public sealed class ChurnKind(ChurnTrainingOptions? options = null, ChurnLabelOptions? labels = null, AttributeDiscoveryOptions? attributes = null)
    : IModelTrainer, IModelLoader, IChampionEvaluator
{
    private readonly ChurnTrainingOptions _options = options ?? new ChurnTrainingOptions();
    private readonly ChurnLabelOptions _labels = labels ?? new ChurnLabelOptions();
    private readonly AttributeDiscoveryOptions _attributes = attributes ?? new AttributeDiscoveryOptions();

    public string Kind => ModelKinds.Churn;

    public PromotionRule Promotion { get; } = new(0.005);

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var (profiles, schema, plan) = Prepare(snapshot);
        cancellationToken.ThrowIfCancellationRequested();
        var result = ChurnTrainer.Train(plan, _options);
        var e = result.Evaluation;
        var m = result.Model;
        var bundle = ModelCards.Save(m.Save);
        var labelText = plan.Labels == ChurnLabelDefinition.Explicit
            ? "explicit labels: the churned column of customers drops (churned = yes)"
            : $"derived from activity: churned = no purchase in the {_labels.WindowDays} days after the cutoff " +
              "(an ended subscription or a dated explicit label when the customer has one)";
        var description = (plan.Labels == ChurnLabelDefinition.Explicit
                ? "Probability that a customer churns, learnt from the explicit churn labels of customers drops. "
                : $"Probability that a customer buys nothing in the {_labels.WindowDays} days after the scoring date " +
                  "(or that their subscriptions end in that window). ") +
            $"Bands: low < {_options.Bands.Medium:0.##} ≤ medium < {_options.Bands.High:0.##} ≤ high.";
        var protocol = plan.IsCrossValidation
            ? $"{plan.Protocol}: {plan.Folds} folds stratified by label over {plan.Selection.Count:N0} labelled customers ({plan.Reason}); " +
              $"every metric and chart is out of fold, probabilities calibrated on the other folds; {result.Search.Count} configurations searched on the same folds; " +
              $"the shipped model is refit on all {plan.All.Count:N0} rows"
            : plan.Protocol == EvaluationProtocols.TimeHoldout
                ? $"{plan.Protocol}: trained on features as of {plan.Selection.AsOf:yyyy-MM-dd} with labels from the {_labels.WindowDays} days after " +
                  $"({plan.Selection.Count:N0} customers), evaluated on features as of {plan.Holdout!.AsOf:yyyy-MM-dd} with labels after that " +
                  $"({plan.Holdout.Count:N0} customers); configuration chosen by {plan.Folds}-fold cross-validation inside the training rows; " +
                  $"the shipped model is refit on all {plan.All.Count:N0} rows"
                : $"{plan.Protocol}: {plan.Holdout!.Count:N0} of {plan.All.Count:N0} labelled customers held out, stratified by label ({plan.Reason}); " +
                  $"configuration chosen by {plan.Folds}-fold cross-validation on the rest; the shipped model is refit on all rows";
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = description,
            Algorithm = $"{m.Candidate.Describe()}, Platt-calibrated on out-of-sample scores; chosen among " +
                $"{string.Join(", ", result.Search.Select(r => r.Candidate.Key))} by cross-validated ROC-AUC",
            PromotionMetric = "auc",
            PromotionValue = e.Model.RocAuc,
            HigherIsBetter = true,
            Metrics = Metrics(e.Model),
            Baselines = e.Baselines.ToDictionary(b => b.Key, b => Metrics(b.Value)),
            FeatureSchema = ModelCards.Describe(schema),
            GlobalImportance = result.Importance.Where(i => i.AucDrop != 0).ToDictionary(i => i.Label, i => ModelCards.Round(i.AucDrop, 5)),
            TrainingWindowStart = plan.Selection.AsOf,
            Cutoff = plan.Holdout?.AsOf ?? plan.Selection.AsOf,
            RowCounts =
            {
                ["profiles"] = profiles.Count,
                ["labelled_rows"] = plan.All.Count,
                ["train_rows"] = e.TrainRows,
                ["evaluation_rows"] = e.Rows,
                ["refit_rows"] = plan.All.Count,
                ["features"] = schema.Count,
            },
            Parameters = result.Parameters.ToDictionary(p => p.Key, p => Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture) ?? ""),
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            EvaluationProtocol = protocol,
            Charts = ChurnCharts.Build(result.OutOfSample, plan.Protocol),
            Details = new JsonObject
            {
                ["split"] = plan.Protocol,
                ["labelDefinition"] = plan.Labels == ChurnLabelDefinition.Explicit ? "explicit" : "derived",
                ["label"] = labelText,
                ["trainChurnRate"] = ModelCards.Round(e.TrainChurnRate),
                ["evaluationChurnRate"] = ModelCards.Round(e.Model.PositiveRate),
                ["search"] = new JsonObject(result.Search.Select(r => KeyValuePair.Create(r.Candidate.Key, (JsonNode?)ModelCards.Round(r.RocAuc, 6)))),
                ["chosen"] = m.Candidate.Key,
                ["calibration"] = "Platt scaling fitted on out-of-sample scores",
                ["importanceMeasure"] = "drop in out-of-sample ROC-AUC when the feature is shuffled (permutation importance)",
                ["featureSchemaFingerprint"] = schema.Fingerprint,
                ["oneHotAttributes"] = new JsonArray([.. schema.OneHotAttributes.Select(a => (JsonNode?)a.Name)]),
                ["encodedAttributes"] = new JsonArray([.. schema.EncodedAttributes.Select(a => (JsonNode?)a.Name)]),
                ["numericAttributes"] = new JsonArray([.. schema.NumericAttributes.Select(a => (JsonNode?)a)]),
            },
        };
        return Task.FromResult(new TrainedModel(card, bundle));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card) => new ChurnProfileScorer(card.Version, ChurnModel.Load(bundle));

    /// <summary>
    /// The champion's configuration refit and measured exactly as the challenger was: on the same folds (or the same
    /// training rows and holdout) of this snapshot, with this run's features. Scoring the champion's own model instead
    /// would measure it on customers it was trained on (its shipped model was refit on every labelled customer), which
    /// flatters it; a refit on the same rows compares like with like.
    /// </summary>
    public double? EvaluateChampion(IProfileScorer champion, TrainingSnapshot snapshot, ModelCard challenger)
    {
        if (champion is not ChurnProfileScorer scorer)
        {
            return null;
        }

        if (challenger.EvaluationProtocol.StartsWith(EvaluationProtocols.StratifiedCrossValidation, StringComparison.Ordinal)
            && challenger.Details?["search"]?[scorer.Model.Candidate.Key]?.GetValue<double>() is { } measured)
        {
            return measured; // the same configuration was cross-validated in this very run, on the same folds
        }

        var (_, _, plan) = Prepare(snapshot);
        return ChurnTrainer.Evaluate(plan, scorer.Model.Candidate with
        {
            MinimumExamplesPerLeaf = Math.Min(scorer.Model.Candidate.MinimumExamplesPerLeaf, Math.Clamp(plan.Selection.Count / 20, 2, _options.MinimumExamplesPerLeaf)),
        }, _options);
    }

    private (List<CustomerProfile> Profiles, FeatureSchema Schema, ChurnPlan Plan) Prepare(TrainingSnapshot snapshot)
    {
        var profiles = snapshot.Profiles.Where(p => p.MergedInto is null).ToList();
        var schema = AttributeDiscovery.Discover(profiles, _attributes);
        var plan = ChurnPlan.Create(profiles, new FeatureBuilder(schema), new ChurnLabeler(_labels), snapshot.AsOf, _options);
        var data = plan.All;
        if (data.Count < _options.MinimumRows || !plan.Selection.HasBothClasses(2) || plan.Holdout is { } h && !h.HasBothClasses())
        {
            throw new NotEnoughDataException($"Churn needs labelled customers of both kinds; the training snapshot has {data.Positives} churners of {data.Count}.");
        }

        return (profiles, schema, plan);
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

/// <summary>Live churn scoring: features built into a stack buffer, scored on the flattened model with top factors.</summary>
public sealed class ChurnProfileScorer : IProfileScorer
{
    private readonly FeatureBuilder _builder;
    private readonly ChurnScorer _scorer;
    private readonly int _count;

    public ChurnProfileScorer(string version, ChurnModel model)
    {
        Version = version;
        Model = model;
        _builder = new FeatureBuilder(model.Schema);
        _scorer = model.CreateScorer();
        _count = model.Schema.Count;
    }

    public string Kind => ModelKinds.Churn;

    public string Version { get; }

    public ChurnModel Model { get; }

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
