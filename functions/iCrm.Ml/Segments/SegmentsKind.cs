using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Features;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Segments;

/// <summary>
/// The segments kind: RFM quintiles with the fixed segment names plus behavioural clusters (k-means, k by silhouette),
/// each cluster described from its centroid. Descriptive, so it is promoted whenever training succeeds. The summaries
/// (size, value = spend in the last 365 days, churn rate = share of customers active before the last 90 days who
/// bought nothing in them) are stored in the card's details and in the bundle.
/// </summary>
public sealed class SegmentsKind(ClusteringOptions? options = null) : IModelTrainer, IModelLoader
{
    private const string Entry = "segments.json";
    private const int ChurnWindowDays = 90;

    public static IReadOnlyList<string> Channels => FixedFeatures.Channels;

    /// <summary>The segment of a customer with no purchase yet.</summary>
    public const string ProspectSegment = "Prospect";

    public string Kind => ModelKinds.Segments;

    public PromotionRule Promotion { get; } = new(0, Always: true);

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var asOf = snapshot.AsOf;
        var features = BehaviourFeatures.Describe(Channels);
        var labeler = new ChurnLabeler(new ChurnLabelOptions { WindowDays = ChurnWindowDays });
        var customers = new List<SegmentCustomer>();
        foreach (var p in snapshot.Profiles)
        {
            if (p.MergedInto is not null || RfmInput.FromProfile(p, asOf) is not { } rfm)
            {
                continue;
            }
            var churn = labeler.Label(p, asOf.AddDays(-ChurnWindowDays)) is { } outcome ? (outcome.Churned ? 1.0 : 0.0) : (double?)null;
            customers.Add(new SegmentCustomer(rfm, BehaviourFeatures.FromProfile(p, asOf, Channels), SpendLastYear(p, asOf), churn));
        }
        if (customers.Count == 0)
        {
            throw new NotEnoughDataException($"Segments need customers with a purchase before {asOf:yyyy-MM-dd}; found none.");
        }
        var model = SegmentsTrainer.Train(customers, features, options);
        var counts = model.RfmSummaries.ToDictionary(s => s.Segment, s => (double)s.Customers);
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "RFM segments (recency, frequency, monetary quintiles 1-5 mapped to eleven fixed names) and behavioural " +
                "clusters described in plain words. Summaries: customers, value (spend in the last 365 days) and churn rate " +
                $"(share who bought nothing in the last {ChurnWindowDays} days).",
            Algorithm = model.Clusters is null ? "RFM quintiles (too few customers for clusters)" : $"RFM quintiles + k-means (k = {model.Clusters.K}, {model.Clusters.Criterion})",
            PromotionMetric = "always",
            PromotionValue = model.Clusters is { } c ? c.SilhouetteByK.GetValueOrDefault(c.K) : 0,
            HigherIsBetter = true,
            Metrics = counts.ToDictionary(k => $"customers_{k.Key}", k => k.Value),
            FeatureSchema =
            [
                new("recency_days", "numeric", "days since last order"),
                new("orders", "numeric", "number of orders"),
                new("spend", "currency", "total spend"),
                .. features.Select(f => new FeatureDescription(f.Name, "numeric", $"{f.HighPhrase} / {f.LowPhrase}")),
            ],
            Cutoff = asOf,
            RowCounts =
            {
                ["profiles"] = snapshot.Profiles.Count,
                ["customers"] = customers.Count,
                ["clustered"] = customers.Count(c => c.Behaviour is not null),
            },
            Parameters =
            {
                ["rfm_recency_cuts"] = string.Join(", ", model.Rfm.RecencyCuts.Select(v => Math.Round(v, 1))),
                ["rfm_frequency_cuts"] = string.Join(", ", model.Rfm.FrequencyCuts.Select(v => Math.Round(v, 1))),
                ["rfm_monetary_cuts"] = string.Join(", ", model.Rfm.MonetaryCuts.Select(v => Math.Round(v, 1))),
                ["clusters"] = (model.Clusters?.K ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["k_criterion"] = model.Clusters?.Criterion ?? "",
            },
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            Details = new JsonObject
            {
                ["rfmSummaries"] = JsonSerializer.SerializeToNode(model.RfmSummaries, ModelCards.Json),
                ["clusterSummaries"] = JsonSerializer.SerializeToNode(model.ClusterSummaries, ModelCards.Json),
                ["clusterDescriptions"] = model.Clusters is null ? null : JsonSerializer.SerializeToNode(model.Clusters.Descriptions, ModelCards.Json),
                ["silhouetteByK"] = model.Clusters is null ? null : JsonSerializer.SerializeToNode(model.Clusters.SilhouetteByK.ToDictionary(k => k.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), k => Math.Round(k.Value, 4)), ModelCards.Json),
            },
        };
        return Task.FromResult(new TrainedModel(card, ModelCards.JsonBundle(Entry, model)));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card)
    {
        var model = ModelCards.ReadJsonBundle<SegmentsModel>(bundle, Entry);
        if (model.Rfm.RecencyCuts.Length != 4)
        {
            throw new InvalidDataException("Segments bundle has no RFM boundaries.");
        }
        return new SegmentsProfileScorer(card.Version, model);
    }

    internal static double SpendLastYear(CustomerProfile p, DateTimeOffset asOf)
    {
        var from = asOf.AddDays(-365);
        double spend = 0;
        foreach (var line in p.Orders)
        {
            if (line.Date >= from && line.Date < asOf && !line.Returned)
            {
                spend += (double)line.Amount;
            }
        }
        return spend;
    }
}

/// <summary>One customer's segment: RFM scores and name, and the behavioural cluster with its description.</summary>
public sealed record SegmentAssignment(RfmScore Rfm, int? Cluster, string? ClusterDescription);

public sealed class SegmentsProfileScorer(string version, SegmentsModel model) : IProfileScorer
{
    public string Kind => ModelKinds.Segments;

    public string Version => version;

    public SegmentsModel Model => model;

    /// <summary>Null for a customer with no purchase before <paramref name="asOf"/>.</summary>
    public SegmentAssignment? Assign(CustomerProfile profile, DateTimeOffset asOf)
    {
        if (RfmInput.FromProfile(profile, asOf) is not { } rfm)
        {
            return null;
        }
        var behaviour = model.Clusters is null ? null : BehaviourFeatures.FromProfile(profile, asOf, SegmentsKind.Channels);
        var (score, cluster, description) = model.Assign(rfm, behaviour ?? []);
        return new SegmentAssignment(score, cluster, description);
    }

    public Prediction Score(CustomerProfile profile, DateTimeOffset asOf)
    {
        if (Assign(profile, asOf) is not { } a)
        {
            return new Prediction(version, asOf, -1, SegmentsKind.ProspectSegment, []);
        }
        List<Factor> factors =
        [
            new("rfm_recency", "recency score (5 = most recent)", a.Rfm.R),
            new("rfm_frequency", "frequency score (5 = most frequent)", a.Rfm.F),
            new("rfm_monetary", "monetary score (5 = highest spend)", a.Rfm.M),
        ];
        if (a.Cluster is { } k)
        {
            factors.Add(new Factor("cluster", a.ClusterDescription ?? $"cluster {k}", k));
        }
        return new Prediction(version, asOf, a.Cluster ?? -1, a.Rfm.Segment, factors) { Recency = a.Rfm.R, Frequency = a.Rfm.F };
    }
}
