namespace iCrm.Core.Ingestion;

public enum IngestionStatus
{
    Running,
    Completed,

    /// <summary>The attempt failed; the host retries (and after the last attempt the event goes to the poison queue). With a
    /// <see cref="IngestionReport.FailureReason"/> (<c>truncated_archive</c>, <c>corrupt_archive</c>) the file itself is
    /// broken: retrying the same bytes cannot help, so the host is not asked to; upload the complete file again.</summary>
    Failed,

    /// <summary>The drop can never be ingested as it is (e.g. a path that names no known entity): not retried.</summary>
    Rejected,
}

/// <summary>
/// How a drop is read and cut into chunks, kept from the attempt that first applied a chunk: every later attempt reads
/// the same rows (<see cref="Reading"/>: culture, time zone, limits, separator) into the same chunks, whatever the
/// settings or the release say by then, so chunk markers name the same rows. Until <see cref="Applied"/>, nothing of the
/// drop is in any profile and a retry plans afresh (a fixed setting then takes effect).
/// </summary>
public sealed record DropPlan(int Version, int ChunkSize, bool GroupByCustomer, int GroupInMemoryRows, long SpillBucketBytes,
    SourceReading Reading, bool Applied = false)
{
    /// <summary>The cutting rules of this release (probe, buckets, windows). Version 0: rows in file order, before plans were kept.</summary>
    public const int CurrentVersion = 1;

    public static DropPlan From(IngestionOptions options, string source) =>
        new(CurrentVersion, options.ChunkSize, GroupByCustomer: true, options.GroupInMemoryRows, options.SpillBucketBytes, options.ReadingFor(source));

    /// <summary>The plan for a re-run: the previous attempts' if one applied a chunk under it, else a fresh one. An attempt
    /// from before plans were kept (no plan) cut rows in file order, unless its report says it grouped them by customer
    /// (development builds that grouped before they kept plans).</summary>
    public static DropPlan ForAttempt(IngestionReport? previous, IngestionOptions options, string source) => previous switch
    {
        null => From(options, source),
        { Plan: { Applied: true } kept } => kept,
        { Plan: not null } => From(options, source),
        { Grouping: "memory" or "spill" or "sorted" } => From(options, source) with { Applied = true },
        _ => From(options, source) with { Version = 0, GroupByCustomer = false, Applied = true },
    };
}

/// <summary>
/// The ledger entry and report of one drop. Invariant: <c>RowsRead == RowsAccepted + RowsRejected + DuplicatesSkipped</c>;
/// flagged rows are a subset of the accepted ones.
/// </summary>
public sealed class IngestionReport
{
    public required string Id { get; set; }
    public required string BlobPath { get; set; }
    public required string ETag { get; set; }
    public string Source { get; set; } = "";
    public string Entity { get; set; } = "";
    public IngestionStatus Status { get; set; }
    public int Attempts { get; set; }
    public long RowsRead { get; set; }
    public long RowsAccepted { get; set; }
    public long RowsRejected { get; set; }
    public long RowsFlagged { get; set; }
    public long DuplicatesSkipped { get; set; }
    public Dictionary<string, long> RejectedByReason { get; set; } = [];
    public Dictionary<string, long> FlaggedByReason { get; set; } = [];
    public long CustomersCreated { get; set; }
    public long CustomersUpdated { get; set; }
    /// <summary>Merges: new source records that joined an existing profile (by a shared key or by score), plus profiles
    /// merged into another.</summary>
    public long CustomersMerged { get; set; }

    /// <summary>Profiles touched by this drop whose cluster holds more source records than <c>Profiles:LargeClusterSize</c>
    /// (flagged <c>largeCluster</c> on the profile too), at most <see cref="MaxLargeClusters"/> of them.</summary>
    public List<string>? LargeClusters { get; set; }

    public const int MaxLargeClusters = 100;

    public void FlagLargeCluster(string customerId)
    {
        LargeClusters ??= [];
        if (LargeClusters.Count < MaxLargeClusters && !LargeClusters.Contains(customerId))
        {
            LargeClusters.Add(customerId);
        }
    }
    /// <summary>Profile documents written (one per customer per chunk at most).</summary>
    public long StoreWrites { get; set; }
    public int Chunks { get; set; }

    /// <summary>
    /// How the rows reached their chunks: <c>file-order</c> (customer drops), <c>sorted</c> (an activity export already
    /// sorted by customer, applied as read), <c>memory</c> (grouped by customer in memory) or <c>spill</c> (grouped by
    /// customer through buckets in a temporary file, <see cref="SpillBuckets"/> of them).
    /// </summary>
    public string? Grouping { get; set; }
    public int? SpillBuckets { get; set; }

    /// <summary>How the drop is read and cut into chunks, the same for every attempt once one has applied a chunk.</summary>
    public DropPlan? Plan { get; set; }
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>When the first attempt started. Every attempt judges dates ("in the future?") against it, so a re-run hours
    /// later accepts and rejects exactly the rows the first attempt did, and cuts the same chunks.</summary>
    public DateTimeOffset? FirstStartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public double DurationSeconds { get; set; }
    public string? RejectedPath { get; set; }
    public string? ReportPath { get; set; }
    public string? Error { get; set; }

    /// <summary>Required columns a CSV header lacked (every row is then rejected as <c>missing_column</c>).</summary>
    public List<string>? MissingColumns { get; set; }

    /// <summary>Why a failed drop cannot succeed as it is: <c>truncated_archive</c> or <c>corrupt_archive</c> (the file was
    /// not read whole; <see cref="Error"/> says where it broke). Null for a completed drop or a transient failure.</summary>
    public string? FailureReason { get; set; }

    /// <summary>
    /// Rows read and accepted before the drop failed but not applied to profiles (they were waiting for their chunk).
    /// A failed drop's accounting: read = accepted (applied) + rejected + duplicates + not applied.
    /// </summary>
    public long RowsNotApplied { get; set; }

    /// <summary>Header names of columns the CSV header names twice. Rejected as <c>ambiguous_header</c> unless the source's
    /// <c>DuplicateColumns</c> setting says which one wins.</summary>
    public List<string>? DuplicateHeaders { get; set; }

    /// <summary>Byte sequences that were not valid text in the file's encoding, replaced with U+FFFD (the rows holding
    /// them are flagged <c>invalid_utf8</c>).</summary>
    public long InvalidTextSequences { get; set; }

    /// <summary>The first <see cref="MaxListedWarnings"/> warnings of flagged rows: line, field and reason (no values:
    /// the report carries no personal data). All of them are counted in <see cref="FlaggedByReason"/>.</summary>
    public List<ReportedWarning> Warnings { get; set; } = [];

    public const int MaxListedWarnings = 100;

    public bool IsBalanced => RowsRead == RowsAccepted + RowsRejected + DuplicatesSkipped;
}

/// <summary>A warning on an accepted row, as listed in the report.</summary>
public sealed record ReportedWarning(long Line, string Field, string Reason);
