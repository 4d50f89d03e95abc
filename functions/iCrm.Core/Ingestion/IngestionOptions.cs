using iCrm.Core.Drops;

namespace iCrm.Core.Ingestion;

public sealed class IngestionOptions
{
    /// <summary>Rows per chunk. Fixed, so a re-run after a crash replays the same chunks and skips those already applied.</summary>
    public int ChunkSize { get; set; } = 2000;

    /// <summary>
    /// Rows of an activity drop (orders, events, feedback, subscriptions) grouped by customer before they are cut into
    /// chunks (<see cref="ChunkPlanner"/>): an export in date order, where each customer's rows are spread over the file,
    /// then costs one profile read and write per customer per window instead of per chunk. The window's accepted rows
    /// are held in memory until the window is applied, which costs about 1 KB of working set per row once garbage
    /// collection is counted: for a 1 GB orders drop in date order (14.2 M rows, 50,000 customers) the process peaked at
    /// 219 MB without grouping, 255 MB with 30,000-row windows and 427 MB with 200,000-row windows (which halve the profile
    /// writes). Off by default (0) to keep within a 256 MB budget; turn it on where instances have the memory. The first
    /// window is short (ten chunks): when its rows are sorted by customer already, the rest of the drop is read a chunk at
    /// a time, since holding rows longer would gain nothing. Customer drops always keep file order.
    /// </summary>
    public int GroupingWindowRows { get; set; }

    /// <summary>Whether an activity drop's rows are grouped by customer across more than one chunk.</summary>
    public bool GroupsByCustomer(DropEntity entity) => entity != DropEntity.Customers && GroupingWindowRows > ChunkSize;

    /// <summary>Rows read, validated and planned together for a drop of this entity.</summary>
    public int WindowRowsFor(DropEntity entity) => GroupsByCustomer(entity) ? GroupingWindowRows : ChunkSize;

    /// <summary>Profiles written concurrently within a chunk.</summary>
    public int WriteConcurrency { get; set; } = 16;

    /// <summary>Attempts per profile write when another writer changed it meanwhile (412).</summary>
    public int MaxWriteAttempts { get; set; } = 20;

    /// <summary>Default reading of dates, numbers and phones (culture, time zone, phone region, limits).</summary>
    public ValidationSettings Validation { get; set; } = new();

    /// <summary>Per-source overrides, e.g. <c>Ingestion__Sources__pos__Culture=en-GB</c> for a till system writing dd/MM/yyyy.</summary>
    public Dictionary<string, ValidationSettings> Sources { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The validation options for a source: its overrides on top of the defaults.</summary>
    public ValidationOptions ValidationFor(string source, TimeProvider time)
    {
        var defaults = Validation;
        Sources.TryGetValue(source, out var own);
        var baseline = ValidationOptions.Default;
        return baseline with
        {
            Culture = own?.Culture ?? defaults.Culture ?? baseline.Culture,
            TimeZone = own?.TimeZone ?? defaults.TimeZone ?? baseline.TimeZone,
            DefaultPhoneRegion = own?.DefaultPhoneRegion ?? defaults.DefaultPhoneRegion ?? baseline.DefaultPhoneRegion,
            MaxAmount = own?.MaxAmount ?? defaults.MaxAmount ?? baseline.MaxAmount,
            FlagAmount = own?.FlagAmount ?? defaults.FlagAmount ?? baseline.FlagAmount,
            TimeProvider = time,
        };
    }

    public DropReadOptions ReadOptionsFor(string source) =>
        Sources.TryGetValue(source, out var own) && own.Separator is { Length: 1 } separator
            ? DropReadOptions.Default with { Separator = separator[0] }
            : DropReadOptions.Default;
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
}
