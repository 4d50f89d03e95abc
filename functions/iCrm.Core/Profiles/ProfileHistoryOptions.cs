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

    /// <summary>Sources in order of trust for contact fields (first wins); sources not listed rank below all listed ones,
    /// and between equals the most recent non-empty value wins.</summary>
    public List<string> SourcePriority { get; set; } = [];
}
