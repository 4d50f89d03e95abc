using System.Collections.ObjectModel;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

/// <summary>
/// The indexing policy of the <c>customers</c> container and the document paths the customer lists query. Bicep declares
/// the same policy (infra/main.bicep, checked by InfrastructureTemplateTests); the app creates it only against the local
/// server. Every list that filters on one equality field and sorts by a score orders by that field first, so Cosmos serves
/// it from one composite index (field asc, score desc) instead of sorting the matches.
/// </summary>
public static class CustomerIndexing
{
    public const string SegmentLabel = "/predictions/segments/label";
    public const string Cluster = "/predictions/segments/value";
    public const string Recency = "/predictions/segments/recency";
    public const string Frequency = "/predictions/segments/frequency";
    public const string Churn = "/predictions/churn/value";
    public const string Clv = "/predictions/clv/value";
    public const string Identities = "/identities";
    public const string MergedInto = "/mergedInto";
    public const string ConsentProfiling = "/consent/profiling";

    public static string Consent(ConsentChannel channel) => channel switch
    {
        ConsentChannel.Email => "/consent/email",
        ConsentChannel.Sms => "/consent/sms",
        ConsentChannel.Phone => "/consent/phone",
        _ => throw new ArgumentOutOfRangeException(nameof(channel)),
    };

    public static string Score(CustomerSort sort) => sort switch
    {
        CustomerSort.Churn => Churn,
        CustomerSort.Clv => Clv,
        _ => throw new ArgumentOutOfRangeException(nameof(sort)),
    };

    /// <summary>The equality-filter paths a score-sorted list may lead its ORDER BY with, in the order the query picks them
    /// (an RFM grid cell filters on two fields, recency and frequency, and leads with both).</summary>
    public static IReadOnlyList<IReadOnlyList<string>> SortPrefixes { get; } =
        [[SegmentLabel], [Cluster], [Recency, Frequency], [Recency], [Frequency],
         [Consent(ConsentChannel.Email)], [Consent(ConsentChannel.Sms)], [Consent(ConsentChannel.Phone)]];

    /// <summary>(path, descending) pairs of each composite index: every prefix with each score, highest score first.</summary>
    public static IReadOnlyList<IReadOnlyList<(string Path, bool Descending)>> CompositeIndexes { get; } =
        [.. SortPrefixes.SelectMany(prefix => new[] { Churn, Clv }.Select(score =>
            (IReadOnlyList<(string, bool)>)[.. prefix.Select(p => (p, false)), (score, true)]))];

    /// <summary>History kept on the profile that no list filters on: not indexing it makes every profile write cheaper.</summary>
    public static IReadOnlyList<string> ExcludedPaths { get; } =
    [
        "/\"_etag\"/?",
        "/orders/*",
        "/orderMonths/*",
        "/eventMonths/*",
        "/recentEvents/*",
        "/feedback/*",
        "/seenKeys/*",
        "/appliedChunks/*",
        "/matchVariants/*",
        "/contactValues/*",
        "/mergeExplanations/*",
        "/predictions/*/topFactors/*",
    ];

    public static IndexingPolicy Policy()
    {
        var policy = new IndexingPolicy { IndexingMode = IndexingMode.Consistent, Automatic = true };
        policy.IncludedPaths.Add(new IncludedPath { Path = "/*" });
        foreach (var path in ExcludedPaths)
        {
            policy.ExcludedPaths.Add(new ExcludedPath { Path = path });
        }
        foreach (var index in CompositeIndexes)
        {
            policy.CompositeIndexes.Add(new Collection<CompositePath>([.. index.Select(p =>
                new CompositePath { Path = p.Path, Order = p.Descending ? CompositePathSortOrder.Descending : CompositePathSortOrder.Ascending })]));
        }
        return policy;
    }
}
