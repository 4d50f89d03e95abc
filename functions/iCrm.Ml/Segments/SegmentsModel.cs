namespace iCrm.Ml.Segments;

/// <summary>One customer's inputs for segment training: RFM inputs, behaviour features, and the values summaries aggregate.</summary>
/// <param name="Behaviour">Features in the order of the feature list given to training; null leaves the customer out of clustering.</param>
/// <param name="Value">The customer's value for summaries (e.g. CLV, or historical spend).</param>
/// <param name="Churn">Churned (1/0) or a churn probability; null when unknown.</param>
public sealed record SegmentCustomer(RfmInput Rfm, float[]? Behaviour, double Value, double? Churn);

/// <summary>
/// What the registry stores for the segments kind: RFM boundaries (names fixed), behavioural clusters (versioned, with
/// descriptions), and the summaries per RFM segment and per cluster computed at training time.
/// </summary>
public sealed record SegmentsModel(
    RfmModel Rfm,
    BehaviourClusterModel? Clusters,
    IReadOnlyList<SegmentSummary> RfmSummaries,
    IReadOnlyList<SegmentSummary> ClusterSummaries)
{
    /// <summary>The RFM segment and, when clusters exist and features are given, the cluster with its description.</summary>
    public (RfmScore Rfm, int? Cluster, string? ClusterDescription) Assign(RfmInput rfm, ReadOnlySpan<float> behaviour)
    {
        var score = Rfm.Score(rfm);
        if (Clusters is null || behaviour.Length == 0) return (score, null, null);
        int cluster = Clusters.Assign(behaviour);
        return (score, cluster, Clusters.Describe(cluster));
    }
}

public static class SegmentsTrainer
{
    /// <summary>
    /// Fits RFM on every customer and clusters on those with behaviour features (skipped with fewer than 50 such customers),
    /// then summarises both. Cluster summaries are named "{index}: {description}".
    /// </summary>
    public static SegmentsModel Train(IReadOnlyList<SegmentCustomer> customers, IReadOnlyList<ClusterFeature> features, ClusteringOptions? options = null)
    {
        var rfm = RfmModel.Fit(customers.Select(c => c.Rfm));
        var rfmSummaries = SegmentSummaries.Summarise(customers.Select(c => new SegmentMember(rfm.Score(c.Rfm).Segment, c.Value, c.Churn)));

        var withBehaviour = customers.Where(c => c.Behaviour is not null).ToList();
        if (withBehaviour.Count < 50) return new SegmentsModel(rfm, null, rfmSummaries, []);
        var clusters = BehaviourClustering.Fit(withBehaviour.Select(c => c.Behaviour!).ToList(), features, options);
        var clusterSummaries = SegmentSummaries.Summarise(withBehaviour.Select(c =>
        {
            int k = clusters.Assign(c.Behaviour);
            return new SegmentMember($"{k}: {clusters.Describe(k)}", c.Value, c.Churn);
        }));
        return new SegmentsModel(rfm, clusters, rfmSummaries, clusterSummaries);
    }
}
