namespace iCrm.Azure.Store;

/// <summary>
/// Section <c>Audit</c>: how long audit entries are kept and how reads are recorded. Entries expire through Cosmos per-item
/// time to live (the <c>audit</c> container has <c>defaultTtl: -1</c>: on, no default), so a change of the period applies to
/// entries written from then on.
/// </summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>Cosmos's per-item ttl is an int32 of seconds: about 68 years.</summary>
    public const int MaxRetentionDays = 24_000;

    /// <summary><c>Audit__RetentionDays</c>: days an entry is kept; 0 keeps entries until deleted.</summary>
    public int RetentionDays { get; set; } = 365;

    /// <summary><c>Audit__QueueCapacity</c>: read entries waiting to be written; when full, a read waits for room rather than
    /// drop its entry.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary><c>Audit__BatchSize</c>: entries the background writer takes from the queue and writes concurrently.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>The ttl in seconds written on each entry, or null for none.</summary>
    public int? TimeToLiveSeconds => RetentionDays > 0 ? RetentionDays * 86_400 : null;

    public IEnumerable<string> Problems()
    {
        if (RetentionDays is < 0 or > MaxRetentionDays)
        {
            yield return $"'Audit__RetentionDays' must be 0 (keep) to {MaxRetentionDays:N0} days, not {RetentionDays}.";
        }
        if (QueueCapacity is < 1 or > 1_000_000)
        {
            yield return $"'Audit__QueueCapacity' must be 1 to 1,000,000, not {QueueCapacity}.";
        }
        if (BatchSize is < 1 or > 1_000)
        {
            yield return $"'Audit__BatchSize' must be 1 to 1,000, not {BatchSize}.";
        }
    }
}
