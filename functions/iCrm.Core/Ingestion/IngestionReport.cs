namespace iCrm.Core.Ingestion;

public enum IngestionStatus
{
    Running,
    Completed,

    /// <summary>The attempt failed; the host retries (and after the last attempt the event goes to the poison queue).</summary>
    Failed,

    /// <summary>The drop can never be ingested as it is (e.g. a path that names no known entity): not retried.</summary>
    Rejected,
}

/// <summary>
/// The settings that decide a drop's chunk boundaries, pinned by its first attempt. <see cref="GroupByCustomer"/> is false
/// for drops first attempted before activity drops were grouped by customer (their chunks were rows in file order).
/// </summary>
public sealed record ChunkPlan(int ChunkSize, bool GroupByCustomer, int GroupInMemoryRows, long SpillBucketBytes)
{
    public static ChunkPlan From(IngestionOptions options) =>
        new(options.ChunkSize, GroupByCustomer: true, options.GroupInMemoryRows, options.SpillBucketBytes);
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
    public long CustomersMerged { get; set; }
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

    /// <summary>How the first attempt cut the drop into chunks; every re-run cuts it the same way, whatever the settings
    /// say by then, so chunk markers name the same rows.</summary>
    public ChunkPlan? Plan { get; set; }
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

    public bool IsBalanced => RowsRead == RowsAccepted + RowsRejected + DuplicatesSkipped;
}
