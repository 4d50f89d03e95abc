using iCrm.Core.Drops;

namespace iCrm.Core.Ingestion;

public sealed class IngestionOptions
{
    /// <summary>Rows per chunk. Fixed, so a re-run after a crash replays the same chunks and skips those already applied.</summary>
    public int ChunkSize { get; set; } = 2000;

    /// <summary>
    /// An activity drop (orders, events, feedback, subscriptions) is grouped by customer across the whole drop, so a
    /// customer whose rows are spread over the file (an export in date order) is loaded and written once per drop, not once
    /// per chunk. A drop no larger than one spill bucket (<see cref="SpillBucketBytes"/>) is grouped in memory, up to this
    /// many rows (about 1 KB of working set per row); a larger one is spilled to customer buckets in a temporary file
    /// (<see cref="CustomerSpill"/>, about 40 bytes per order line: some 550 MB for a 1 GB orders drop) and grouped one
    /// bucket at a time, in windows of at most this many rows. An export already sorted by customer is applied a chunk at
    /// a time instead. Customer drops always keep file order.
    /// </summary>
    public int GroupInMemoryRows { get; set; } = 50_000;

    /// <summary>Where large activity drops spill their rows (default: the system's temporary directory).</summary>
    public string? SpillDirectory { get; set; }

    /// <summary>
    /// Drop bytes (before compression) per spill bucket. A bucket is read back and grouped in memory at once, so this bounds
    /// the memory a spilled drop needs: the default, about 20,000 order lines, takes a few MB. At most
    /// <see cref="CustomerSpill.MaxBuckets"/> buckets are made; beyond that a bucket is read in windows of
    /// <see cref="GroupInMemoryRows"/>.
    /// </summary>
    public long SpillBucketBytes { get; set; } = CustomerSpill.DefaultDropBytesPerBucket;

    /// <summary>Profiles written concurrently within a chunk.</summary>
    public int WriteConcurrency { get; set; } = 16;

    /// <summary>
    /// Whether a chunk's identity writes (key claims, blocking-key candidates, merge reviews) are held while its rows are
    /// resolved and written together, concurrently, before its profiles (on), or written by each row as it is resolved
    /// (off: a round trip or two after every row). On, a claim lost to another writer makes the chunk resolve again with
    /// this off, so the outcome is the one the row-by-row writes would have had.
    /// </summary>
    public bool DeferIdentityWrites { get; set; } = true;

    /// <summary>Attempts per profile write when another writer changed it meanwhile (412).</summary>
    public int MaxWriteAttempts { get; set; } = 20;

    /// <summary>Default reading of dates, numbers and phones (culture, time zone, phone region, limits).</summary>
    public ValidationSettings Validation { get; set; } = new();

    /// <summary>Per-source overrides, e.g. <c>Ingestion__Sources__pos__Culture=en-GB</c> for a till system writing dd/MM/yyyy.</summary>
    public Dictionary<string, ValidationSettings> Sources { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How a source's rows are read: its overrides on top of the defaults, fully resolved.</summary>
    public SourceReading ReadingFor(string source)
    {
        var defaults = Validation;
        Sources.TryGetValue(source, out var own);
        var baseline = ValidationOptions.Default;
        return new SourceReading(
            own?.Culture ?? defaults.Culture ?? baseline.Culture,
            own?.TimeZone ?? defaults.TimeZone ?? baseline.TimeZone,
            own?.DefaultPhoneRegion ?? defaults.DefaultPhoneRegion ?? baseline.DefaultPhoneRegion,
            own?.MaxAmount ?? defaults.MaxAmount ?? baseline.MaxAmount,
            own?.FlagAmount ?? defaults.FlagAmount ?? baseline.FlagAmount,
            own?.Separator is { Length: 1 } separator ? separator : null,
            own?.DuplicateColumns ?? defaults.DuplicateColumns);
    }

    /// <summary>What is wrong with these settings (empty when nothing): checked when the app starts.</summary>
    public IEnumerable<string> Problems()
    {
        if (ChunkSize < 1)
        {
            yield return $"Ingestion:ChunkSize must be at least 1 (is {ChunkSize}).";
        }
        if (GroupInMemoryRows < 0)
        {
            yield return $"Ingestion:GroupInMemoryRows must not be negative (is {GroupInMemoryRows}).";
        }
        if (SpillBucketBytes < 1)
        {
            yield return $"Ingestion:SpillBucketBytes must be at least 1 (is {SpillBucketBytes}).";
        }
        if (WriteConcurrency < 1 || MaxWriteAttempts < 1)
        {
            yield return "Ingestion:WriteConcurrency and Ingestion:MaxWriteAttempts must be at least 1.";
        }
        foreach (var (source, own) in Sources.Append(new("(defaults)", Validation)))
        {
            if (own.Separator is { Length: not 1 } separator)
            {
                yield return $"Ingestion:Sources:{source}:Separator must be one character (is '{separator}').";
            }
            if (own.DuplicateColumns is { } duplicates && !Enum.TryParse<DuplicateColumns>(duplicates, ignoreCase: true, out _))
            {
                yield return $"Ingestion:Sources:{source}:DuplicateColumns must be reject, first or last (is '{duplicates}').";
            }
        }
    }
}

/// <summary>The settings one source's rows are read with, resolved (no fallbacks left).</summary>
public sealed record SourceReading(string Culture, string TimeZone, string DefaultPhoneRegion, decimal MaxAmount, decimal FlagAmount, string? Separator,
    string? DuplicateColumns = null)
{
    /// <summary>What a CSV header naming a column twice means for this source (default: the drop is rejected).</summary>
    public DuplicateColumns DuplicateRule =>
        Enum.TryParse<DuplicateColumns>(DuplicateColumns, ignoreCase: true, out var rule) ? rule : Drops.DuplicateColumns.Reject;

    public ValidationOptions ToValidation(TimeProvider time) => ValidationOptions.Default with
    {
        Culture = Culture,
        TimeZone = TimeZone,
        DefaultPhoneRegion = DefaultPhoneRegion,
        MaxAmount = MaxAmount,
        FlagAmount = FlagAmount,
        TimeProvider = time,
    };

    public DropReadOptions ToReadOptions() => DropReadOptions.Default with
    {
        Separator = Separator is { Length: 1 } separator ? separator[0] : null,
        DuplicateColumns = DuplicateRule,
    };
}

/// <summary>Settings for reading one source's values; unset ones fall back to the defaults.</summary>
public sealed class ValidationSettings
{
    public string? Culture { get; set; }
    public string? TimeZone { get; set; }
    public string? DefaultPhoneRegion { get; set; }
    public decimal? MaxAmount { get; set; }
    public decimal? FlagAmount { get; set; }

    /// <summary>The CSV separator, when it should not be detected from the header.</summary>
    public string? Separator { get; set; }

    /// <summary>A CSV header that names one column twice (<c>email</c> and <c>E-Mail</c>): <c>reject</c> the drop as
    /// <c>ambiguous_header</c> (default), or let the <c>first</c> or <c>last</c> column win (rows whose two values differ
    /// are flagged <c>duplicate_header</c>). For JSON Lines, <c>last</c> makes the last of a repeated key win.</summary>
    public string? DuplicateColumns { get; set; }
}
