namespace iCrm.Core.Ingestion;

public sealed class IngestionOptions
{
    /// <summary>Rows per chunk. Fixed, so a re-run after a crash replays the same chunks and skips those already applied.</summary>
    public int ChunkSize { get; set; } = 2000;

    /// <summary>Profiles written concurrently within a chunk.</summary>
    public int WriteConcurrency { get; set; } = 16;

    /// <summary>Attempts per profile write when another writer changed it meanwhile (412).</summary>
    public int MaxWriteAttempts { get; set; } = 20;
}
