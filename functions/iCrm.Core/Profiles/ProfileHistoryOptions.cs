namespace iCrm.Core.Profiles;

/// <summary>Caps that keep a profile compact, and how conflicting values from different sources are resolved.</summary>
public sealed class ProfileHistoryOptions
{
    /// <summary>Orders kept with their lines; older orders are folded into monthly buckets.</summary>
    public int MaxOrders { get; set; } = 1000;

    public int MaxRecentEvents { get; set; } = 200;

    public int MaxFeedback { get; set; } = 50;

    /// <summary>Hashed natural keys remembered for duplicate detection of events, feedback and folded orders.</summary>
    public int MaxSeenKeys { get; set; } = 20_000;

    public int MaxAppliedChunks { get; set; } = 200;

    /// <summary>Serialized JSON a profile is kept under before every write (Cosmos DB's item limit is 2 MB): over it, the
    /// oldest history is folded, and rows that would still grow it past the budget are rejected (<c>profile_too_large</c>).</summary>
    public long MaxProfileBytes { get; set; } = ProfileLimits.DefaultBudgetBytes;

    /// <summary>A profile holding more source records than this is flagged <c>LargeCluster</c> (and listed in the drop's
    /// report): identity resolution may have chained different people together. 0 turns the flag off.</summary>
    public int LargeClusterSize { get; set; } = 10;

    /// <summary>Values kept per contact field (the current one and the alternatives other sources gave, newest first).</summary>
    public int MaxContactValuesPerField { get; set; } = 5;

    /// <summary>Sources in order of trust for contact fields (first wins); sources not listed rank below all listed ones,
    /// and between equals the most recent non-empty value wins.</summary>
    public List<string> SourcePriority { get; set; } = [];
}
