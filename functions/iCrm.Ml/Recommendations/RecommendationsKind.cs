using System.Diagnostics;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Recommendations;

/// <summary>
/// The recommendations kind: popularity, SAR-like item similarity and EASE are fitted on purchases before a time split
/// (the last <see cref="RecommenderOptions.HoldoutDays"/> days are held out), the best by nDCG@10 on the holdout is
/// refitted on all purchases and shipped. Promotion: nDCG@10, higher is better, 0.005 absolute tolerance.
/// </summary>
public sealed class RecommendationsKind(RecommenderOptions? options = null) : IModelTrainer, IModelLoader
{
    private const string Entry = "recommendations.json";
    private readonly RecommenderOptions _options = options ?? new RecommenderOptions();

    public string Kind => ModelKinds.Recommendations;

    public PromotionRule Promotion { get; } = new(0.005);

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var interactions = Interaction.FromProfiles(snapshot.Profiles.Where(p => p.MergedInto is null), snapshot.AsOf);
        if (interactions.Select(i => i.ItemId).Distinct().Take(2).Count() < 2)
        {
            throw new NotEnoughDataException("Recommendations need order lines with at least two different products.");
        }
        var result = RecommenderTrainer.Train(interactions, _options);
        var chosen = result.Metrics.First(m => m.Kind == result.Chosen);
        static Dictionary<string, double> Of(RecommenderMetrics m) => new()
        {
            ["precision_at_10"] = ModelCards.Round(m.PrecisionAt10),
            ["recall_at_10"] = ModelCards.Round(m.RecallAt10),
            ["ndcg_at_10"] = ModelCards.Round(m.NdcgAt10),
            ["customers"] = m.Customers,
            ["train_seconds"] = Math.Round(m.TrainSeconds, 3),
        };
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "Products a customer is likely to buy next, each with a reason (\"often bought with X\"); items already bought are " +
                $"left out unless at least {_options.RepurchaseThreshold:P0} of their buyers buy them again; customers without history get popular items.",
            Algorithm = result.Chosen switch
            {
                RecommenderKinds.Ease => "EASE (closed-form item-item linear model)",
                RecommenderKinds.ItemSimilarity => "SAR-like item similarity with time-decayed affinity",
                _ => "popularity",
            },
            PromotionMetric = "ndcg_at_10",
            PromotionValue = chosen.NdcgAt10,
            HigherIsBetter = true,
            Metrics = Of(chosen),
            Baselines = result.Metrics.Where(m => m.Kind != result.Chosen).ToDictionary(m => m.Kind, Of),
            FeatureSchema = [new("purchases", "item ids with dates", "products bought and when")],
            TrainingWindowStart = interactions.Count > 0 ? interactions.Min(i => i.Time) : null,
            Cutoff = result.SplitAt,
            RowCounts =
            {
                ["train_interactions"] = result.TrainInteractions,
                ["holdout_interactions"] = result.HoldoutInteractions,
                ["items"] = result.Items,
                ["customers"] = result.Customers,
            },
            Parameters =
            {
                ["chosen"] = result.Chosen,
                ["holdout_days"] = _options.HoldoutDays.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["neighbours"] = _options.Neighbours.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["half_life_days"] = _options.HalfLifeDays.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["similarity"] = _options.Similarity,
                ["ease_lambda"] = _options.EaseLambda.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["max_ease_items"] = _options.MaxEaseItems.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["repurchase_threshold"] = _options.RepurchaseThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            Details = new JsonObject
            {
                ["evaluation"] = $"every candidate fitted on purchases before {result.SplitAt:yyyy-MM-dd}; relevant items = distinct items a customer bought after it; " +
                    "the best by nDCG@10 is refitted on all purchases",
                ["relevance"] = "distinct products bought in the holdout",
            },
        };
        return Task.FromResult(new TrainedModel(card, ModelCards.JsonBundle(Entry, result.Model)));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card)
    {
        var model = ModelCards.ReadJsonBundle<RecommendationModel>(bundle, Entry);
        if (model.Items.Length == 0 || (model.NeighbourIds.Length != 0 && model.NeighbourIds.Length != model.Items.Length))
        {
            throw new InvalidDataException("Recommendations bundle is inconsistent (items vs neighbour lists).");
        }
        return new RecommendationsProfileScorer(card.Version, model);
    }
}

/// <summary>
/// Live recommendations. The write-back stores the top 5 product ids in the prediction's label (value = the best score)
/// so a CRM screen can show them without calling the API; the API recommends live with reasons.
/// </summary>
public sealed class RecommendationsProfileScorer(string version, RecommendationModel model) : IProfileScorer
{
    public const int WrittenBack = 5;

    public string Kind => ModelKinds.Recommendations;

    public string Version => version;

    public RecommendationModel Model => model;

    public List<Recommendation> Recommend(CustomerProfile profile, DateTimeOffset asOf, int top) =>
        model.Recommend(Purchase.FromProfile(profile, asOf), top, asOf);

    public Prediction Score(CustomerProfile profile, DateTimeOffset asOf)
    {
        var list = Recommend(profile, asOf, WrittenBack);
        return new Prediction(version, asOf, list.Count > 0 ? Math.Round(list[0].Score, 4) : 0, string.Join(",", list.Select(r => r.ItemId)),
            [.. list.Select(r => new Factor(r.ItemId, r.Reason, Math.Round(r.Score, 4)))]);
    }
}
