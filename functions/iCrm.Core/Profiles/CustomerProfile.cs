namespace iCrm.Core.Profiles;

/// <summary>
/// The unified customer profile: one document per person, everything training and the API need.
/// History is kept compact by design (capped logs, monthly buckets) so a profile stays far below Cosmos's 2 MB limit.
/// </summary>
public sealed class CustomerProfile
{
    public required string Id { get; set; }

    /// <summary>The source systems' own ids for this person, e.g. (web, 123) and (callcenter, C-9).</summary>
    public List<SourceIdentity> Identities { get; set; } = [];

    public ContactDetails Contact { get; set; } = new();

    /// <summary>Which source last set each contact field and when (for conflict resolution), keyed by field name.</summary>
    public Dictionary<string, FieldStamp> FieldStamps { get; set; } = [];

    /// <summary>Every value each source gave a contact field, with source and time (bounded per field, see
    /// <see cref="ContactValueList"/>): <see cref="Contact"/> shows the current one, these keep the alternatives, so neither a
    /// newer row nor a merge destroys a value.</summary>
    public List<ContactValue> ContactValues { get; set; } = [];

    /// <summary>Columns of customer drops that iCrm has no field for; kept as text, typed by the feature builder.</summary>
    public Dictionary<string, string> Attributes { get; set; } = [];

    public Consent Consent { get; set; } = new();

    /// <summary>The statements behind <see cref="Consent"/>: channel, value, source and time, oldest first, bounded per
    /// channel (<see cref="ConsentLedger"/>); the most recent statement per channel sets the current value.</summary>
    public List<ConsentStatement> ConsentHistory { get; set; } = [];

    public DateOnly? SignupDate { get; set; }

    /// <summary>Explicit churn label from a drop (subscription-style businesses), if any.</summary>
    public ChurnLabel? ChurnLabel { get; set; }

    /// <summary>The most recent order lines, newest last; older orders are folded into <see cref="OrderMonths"/>.</summary>
    public List<OrderLine> Orders { get; set; } = [];

    public List<MonthlyOrders> OrderMonths { get; set; } = [];

    public List<MonthlyEvents> EventMonths { get; set; } = [];

    public List<CustomerEvent> RecentEvents { get; set; } = [];

    public List<FeedbackItem> Feedback { get; set; } = [];

    public List<Subscription> Subscriptions { get; set; } = [];

    /// <summary>Natural keys (hashed, 16 hex chars) of events and feedback already applied, bounded, for duplicate detection.</summary>
    public List<string> SeenKeys { get; set; } = [];

    /// <summary>Markers <c>{dropId}#{chunk}</c> of drop chunks already applied (with what they did, so a replay reports the
    /// same counts), bounded to the most recent ones.</summary>
    public List<AppliedChunk> AppliedChunks { get; set; } = [];

    /// <summary>The hashed match keys (identities container ids) this profile owns; repointed when it is merged away.</summary>
    public List<string> MatchKeys { get; set; } = [];

    /// <summary>The spellings of name, address and birth date seen for this person (bounded), compared by the fuzzy matcher.
    /// Personal data: kept here, never in <c>identities</c>.</summary>
    public List<iCrm.Core.Identity.MatchCandidate> MatchVariants { get; set; } = [];

    /// <summary>Latest predictions by model kind, tagged with the model version that made them.</summary>
    public Dictionary<string, Prediction> Predictions { get; set; } = [];

    /// <summary>Set on a profile that was merged into another; readers follow it.</summary>
    public string? MergedInto { get; set; }

    public List<string> MergedFrom { get; set; } = [];

    /// <summary>Set when the profile holds more source records than <c>ProfileHistoryOptions.LargeClusterSize</c>: identity
    /// resolution may have chained different people together. Stays set.</summary>
    public bool LargeCluster { get; set; }

    public List<MergeExplanation> MergeExplanations { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A drop chunk applied to a profile: its counts, whether it created the profile, and the profiles it merged into
/// this one (so a re-run can finish a merge that crashed half-way). <see cref="From"/> names the profile the chunk was
/// applied to when that profile was merged into this one later: a re-run of the chunk then finds it done here.
/// <see cref="Rejected"/> counts the chunk's rows for the profile rejected as <c>profile_too_large</c> (the profile was
/// written as it was stored, with this marker), so a re-run that skips the chunk reports them again and balances.</summary>
public sealed record AppliedChunk(string Marker, int Accepted, int Duplicates, bool Created, IReadOnlyList<string>? Absorbed = null,
    string? From = null, int Linked = 0, int Rejected = 0);

public sealed record SourceIdentity(string Source, string SourceId);

public sealed class ContactDetails
{
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public DateOnly? BirthDate { get; set; }
    public string? Gender { get; set; }
    public string? Street { get; set; }
    public string? City { get; set; }
    public string? Postcode { get; set; }
    public string? State { get; set; }
    public string? Country { get; set; }
    public string? LoyaltyId { get; set; }
}

public sealed record FieldStamp(string Source, DateTimeOffset At);

/// <summary>One value a source gave a contact field (field names as in <see cref="CustomerProfile.FieldStamps"/>), last seen at <see cref="At"/>.</summary>
public sealed record ContactValue(string Field, string Value, string Source, DateTimeOffset At);

/// <summary>
/// The current consent per channel (null: never stated). These four values are what lists, exports and training filter on
/// (stored as <c>consent.email</c>, <c>consent.sms</c>, <c>consent.phone</c>, <c>consent.profiling</c>).
/// </summary>
public sealed class Consent
{
    public bool? Email { get; set; }
    public bool? Sms { get; set; }
    public bool? Phone { get; set; }
    /// <summary>Consent to profiling: when false, the customer is left out of model training and score lists.</summary>
    public bool? Profiling { get; set; }
}

public sealed record ChurnLabel(bool Churned, DateOnly? ChurnedAt, string Source);

public sealed record OrderLine(
    string OrderId,
    int Line,
    DateTimeOffset Date,
    string? ProductId,
    decimal Quantity,
    decimal Amount,
    string Channel,
    bool Returned);

/// <summary>Orders older than the order log keeps, folded per calendar month (<c>yyyy-MM</c>).</summary>
public sealed class MonthlyOrders
{
    public required string Month { get; set; }
    public int Orders { get; set; }
    public decimal Spend { get; set; }
    public int Returns { get; set; }
}

public sealed class MonthlyEvents
{
    public required string Month { get; set; }
    public required string Type { get; set; }
    public int Count { get; set; }
}

public sealed record CustomerEvent(DateTimeOffset Timestamp, string Type, string? ProductId, decimal? Value, string Channel);

public sealed class FeedbackItem
{
    public required DateTimeOffset Timestamp { get; set; }
    public int? Rating { get; set; }
    public required string Channel { get; set; }
    public required string Text { get; set; }
    public double? Sentiment { get; set; }
}

public sealed record Subscription(string Plan, DateOnly StartDate, DateOnly? EndDate, decimal? Amount, string? Period, string Source);

public sealed record Prediction(string ModelVersion, DateTimeOffset At, double Value, string? Label, IReadOnlyList<Factor> TopFactors)
{
    /// <summary>Segments only: the RFM recency score (1-5), flat beside the label so customer lists can filter on it with
    /// the index (<c>topFactors</c>, which also carries it, is left out of the index). Null for other kinds and prospects.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? Recency { get; init; }

    /// <summary>Segments only: the RFM frequency score (1-5), see <see cref="Recency"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public int? Frequency { get; init; }
}

public sealed record Factor(string Feature, string Label, double Contribution);

public sealed record MergeExplanation(string OtherId, DateTimeOffset At, string Rule, double? Score, IReadOnlyList<string> Evidence);
