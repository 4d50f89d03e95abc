namespace iCrm.DataGen;

/// <summary>
/// What to generate. Defaults give a realistic, mildly messy shop with three years of history; every rate is a
/// probability per person, record or row as documented. <see cref="End"/> is the export date: drops hold nothing later,
/// and what happens in the following <see cref="FutureDays"/> days is written to the ground truth only.
/// </summary>
public sealed record GeneratorOptions
{
    public int Customers { get; init; } = 1_000;
    public int Seed { get; init; } = 42;
    public DateOnly Start { get; init; } = new(2023, 1, 1);
    public DateOnly End { get; init; } = new(2025, 12, 31);

    /// <summary>Days after <see cref="End"/> simulated into truth/future_orders.csv.</summary>
    public int FutureDays { get; init; } = 365;

    /// <summary>Catalogue size; 0 = automatic (Customers / 5, between 200 and 2,000).</summary>
    public int Products { get; init; }

    /// <summary>People per drop file; 0 = automatic (an eighth of the customers, at least 250). Files rotate together.</summary>
    public int CustomersPerFile { get; init; }

    // --- who appears where -------------------------------------------------------------------------------------
    /// <summary>Probability that a person is also registered in one or more further sales sources (web, pos, app, callcenter).</summary>
    public double DuplicateAcrossSourcesRate { get; init; } = 0.5;

    /// <summary>Of the people in several sources, the share whose extra record shares no deterministic key (only name, postcode, birth date).</summary>
    public double FuzzyOnlyRate { get; init; } = 0.15;

    /// <summary>Probability that a person whose primary record is web or app has a second account there.</summary>
    public double DuplicateWithinSourceRate { get; init; } = 0.02;

    public double LoyaltyRate { get; init; } = 0.4;
    public double SubscriptionRate { get; init; } = 0.08;

    // --- noise in customer records ---------------------------------------------------------------------------------
    /// <summary>Per name/street field: two adjacent letters swapped.</summary>
    public double TypoRate { get; init; } = 0.03;

    /// <summary>Per optional field of a non-primary record: left empty.</summary>
    public double MissingFieldRate { get; init; } = 0.05;

    /// <summary>Per text field: case or whitespace noise (UPPER, lower, padding, doubled spaces).</summary>
    public double CaseNoiseRate { get; init; } = 0.05;

    // --- purchase process (BG/NBD + Gamma–Gamma) ----------------------------------------------------------------------
    /// <summary>λ ~ Gamma(r, α): purchases per year while alive.</summary>
    public double PurchaseRateShape { get; init; } = 1.2;
    public double PurchaseRateRate { get; init; } = 0.17;

    /// <summary>Dropout probability after each purchase p ~ Beta(a, b).</summary>
    public double DropoutA { get; init; } = 1.0;
    public double DropoutB { get; init; } = 9.0;

    /// <summary>Order value z ~ Gamma(p, ν), ν ~ Gamma(q, γ); a person's mean order value is p / ν.</summary>
    public double SpendShape { get; init; } = 6.0;
    public double SpendScaleShape { get; init; } = 4.0;
    public double SpendScaleRate { get; init; } = 30.0;

    public double ReturnRate { get; init; } = 0.03;
    public double FeedbackRate { get; init; } = 0.06;

    // --- messy data ----------------------------------------------------------------------------------------------
    /// <summary>Per written order/event/feedback/customer row: an extra invalid row is injected beside it.</summary>
    public double BadRowRate { get; init; } = 0.01;

    /// <summary>Per written order/event/feedback row: the row is sent again at the top of the next file (overlapping exports).</summary>
    public double DuplicateRowRate { get; init; } = 0.01;

    /// <summary>Write the email events gzip-compressed (events-0001.csv.gz).</summary>
    public bool GzipEmailEvents { get; init; } = true;

    /// <summary>No injected bad rows and no duplicate rows: every row in the drops is valid (format variety and typos stay).</summary>
    public GeneratorOptions AsCleanOnly() => this with { BadRowRate = 0, DuplicateRowRate = 0 };

    internal int EffectiveProducts => Products > 0 ? Products : Math.Clamp(Customers / 5, 200, 2_000);

    internal int EffectiveCustomersPerFile => CustomersPerFile > 0 ? CustomersPerFile : Math.Max(250, (Customers + 7) / 8);

    internal void Validate()
    {
        if (Customers < 1) throw new ArgumentOutOfRangeException(nameof(Customers), "at least one customer");
        if (Customers > 7_000_000) throw new ArgumentOutOfRangeException(nameof(Customers), "at most 7,000,000 (unique phone numbers run out)");
        if (End < Start) throw new ArgumentException("End must not be before Start");
        if (FutureDays < 0) throw new ArgumentOutOfRangeException(nameof(FutureDays));
    }
}

/// <summary>One file the generator wrote, with its record counts (records, not physical lines: a quoted field may span lines).</summary>
public sealed record GeneratedFile(
    string Path,
    string Source,
    string Entity,
    long Rows,
    long CleanRows,
    long DuplicateRows,
    IReadOnlyDictionary<string, long> BadRows,
    long Bytes);

/// <summary>What a run produced. Paths are relative to the output directory, with '/' separators.</summary>
public sealed record GenerationSummary(
    string OutputDirectory,
    int Seed,
    int Customers,
    DateOnly Start,
    DateOnly End,
    IReadOnlyList<GeneratedFile> Files,
    IReadOnlyDictionary<string, long> RowsByEntity,
    IReadOnlyDictionary<string, long> CleanRowsByEntity,
    IReadOnlyDictionary<string, long> BadRowsByKind,
    long DuplicateRows,
    long SourceRecords,
    long FutureOrderLines,
    IReadOnlyDictionary<string, string> Truth,
    long TotalBytes,
    double Seconds);
