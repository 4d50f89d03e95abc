using System.Diagnostics;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Recommendations;

/// <summary>
/// The recommendations kind: popularity, SAR-like item similarity (similarity and time decay searched) and EASE (λ
/// searched, on a bounded catalogue) are compared by a per-user random holdout (<see cref="RecommenderTrainer"/>); the
/// chosen one is refitted on all purchases and shipped. Promotion: nDCG@10 on customers not used to choose, higher is
/// better, 0.005 absolute tolerance.
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
        var chosen = result.Report[0];
        var evaluated = Math.Min(chosen.Customers, result.Metrics[0].Customers);
        var notComparable = evaluated < _options.MinimumEvaluationCustomers
            ? $"only {evaluated} customers per evaluation half have at least {_options.MinimumItemsPerCustomer} distinct products, fewer than the {_options.MinimumEvaluationCustomers} needed"
            : null;
        static Dictionary<string, double> Of(RecommenderMetrics m) => new()
        {
            ["precision_at_10"] = ModelCards.Round(m.PrecisionAt10),
            ["recall_at_10"] = ModelCards.Round(m.RecallAt10),
            ["ndcg_at_10"] = ModelCards.Round(m.NdcgAt10),
            ["catalogue_coverage"] = ModelCards.Round(m.Coverage),
            ["popular_share"] = ModelCards.Round(m.PopularShare),
            ["customers"] = m.Customers,
            ["train_seconds"] = Math.Round(m.TrainSeconds, 3),
        };
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var grid = new JsonArray([.. result.Metrics.Select(m => (JsonNode)new JsonObject
        {
            ["candidate"] = m.Candidate.Name,
            ["ndcg_at_10"] = ModelCards.Round(m.NdcgAt10),
            ["catalogue_coverage"] = ModelCards.Round(m.Coverage),
            ["train_seconds"] = Math.Round(m.TrainSeconds, 3),
        })]);
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "Products a customer is likely to buy next, each with a reason (\"often bought with X\"); items already bought are " +
                $"left out unless at least {_options.RepurchaseThreshold:P0} of their buyers buy them again; customers without history get popular items.",
            Algorithm = result.Chosen switch
            {
                RecommenderKinds.Ease => $"EASE (closed-form item-item linear model, λ = {result.ChosenCandidate.Lambda:G}, on the {result.EaseItems:N0} most bought items)",
                RecommenderKinds.ItemSimilarity => $"SAR-like item similarity ({result.ChosenCandidate.Similarity}, " +
                    (result.ChosenCandidate.HalfLifeDays > 0 ? $"time-decayed affinity, half-life {result.ChosenCandidate.HalfLifeDays:G} days)" : "no time decay)"),
                _ => "popularity",
            } + (result.EaseDecision.Length > 0 ? $". {result.EaseDecision}" : ""),
            PromotionMetric = "ndcg_at_10",
            PromotionValue = notComparable is null ? chosen.NdcgAt10 : double.NaN,
            HigherIsBetter = true,
            EvaluationProtocol = $"{EvaluationProtocols.PerUserRandomHoldout}: for each of {result.Metrics[0].Customers + chosen.Customers:N0} customers with at least " +
                $"{_options.MinimumItemsPerCustomer} distinct products, {_options.HoldoutFraction:P0} of them (at least one) hidden at random; " +
                $"{result.Metrics.Count} candidates chosen on {result.Metrics[0].Customers:N0} of the customers, figures measured on the other {chosen.Customers:N0}; " +
                "the shipped model is refit on all purchases",
            Metrics = Of(chosen),
            Baselines = result.Report.Skip(1).ToDictionary(m => m.Candidate.Name, Of),
            FeatureSchema = [new("purchases", "item ids with dates", "products bought and when")],
            TrainingWindowStart = interactions.Count > 0 ? interactions.Min(i => i.Time) : null,
            Cutoff = snapshot.AsOf, // purchases before it were used; the holdout is per customer, not a date
            RowCounts =
            {
                ["train_interactions"] = result.TrainInteractions,
                ["holdout_interactions"] = result.HoldoutInteractions,
                ["items"] = result.Items,
                ["ease_items"] = result.EaseItems,
                ["customers"] = result.Customers,
                ["selection_customers"] = result.Metrics[0].Customers,
                ["report_customers"] = chosen.Customers,
            },
            Parameters =
            {
                ["chosen"] = result.Chosen,
                ["chosen_candidate"] = result.ChosenCandidate.Name,
                ["ease_lambda"] = result.ChosenCandidate.Kind == RecommenderKinds.Ease ? result.ChosenCandidate.Lambda.ToString(inv) : "",
                ["similarity"] = result.ChosenCandidate.Similarity,
                ["half_life_days"] = result.ChosenCandidate.HalfLifeDays.ToString(inv),
                ["grid_ease_lambda"] = string.Join(",", _options.EaseLambdas.Select(l => l.ToString(inv))),
                ["grid_similarity"] = string.Join(",", _options.Similarities),
                ["grid_half_life_days"] = string.Join(",", _options.HalfLives.Select(h => h.ToString(inv))),
                ["grid_skipped_for_time"] = string.Join("; ", result.Skipped.Select(c => c.Name)),
                ["tuning_seconds_budget"] = _options.TuningSeconds.ToString(inv),
                ["holdout_fraction"] = _options.HoldoutFraction.ToString(inv),
                ["neighbours"] = _options.Neighbours.ToString(inv),
                ["max_ease_items"] = _options.MaxEaseItems.ToString(inv),
                ["ease_decision"] = result.EaseDecision,
                ["repurchase_threshold"] = _options.RepurchaseThreshold.ToString(inv),
            },
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            Charts =
            {
                ["precision_recall_ndcg_at_k"] = new CardChart("Precision, recall and nDCG at k on hidden purchases", "k (recommendations shown)", "metric",
                    [
                        .. chosen.AtK.Select(x => new CardPoint(x.K, ModelCards.Round(x.Precision), "precision")),
                        .. chosen.AtK.Select(x => new CardPoint(x.K, ModelCards.Round(x.Recall), "recall")),
                        .. chosen.AtK.Select(x => new CardPoint(x.K, ModelCards.Round(x.Ndcg), "ndcg")),
                    ],
                    chosen.Customers),
            },
            Details = new JsonObject
            {
                ["relevance"] = "the hidden distinct products of each customer",
                ["selection"] = $"best nDCG@10; among candidates within {_options.CoverageTolerance:P0} of it, the widest catalogue coverage",
                ["coverage"] = "share of the catalogue in at least one evaluated customer's top 10",
                ["popularShare"] = "share of top-10 slots taken by the 10 % most bought products (popularity bias)",
                ["grid"] = grid,
                [PromotionGate.NotComparableKey] = notComparable,
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
