using System.Text.RegularExpressions;
using iCrm.Core.Privacy;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Scoring;

namespace iCrm.Functions.Api;

/// <summary>Body of <c>POST /api/customers/{id}:erase</c>.</summary>
public sealed class EraseRequest
{
    /// <summary>Why the person is erased: a request reference or a short reason (1-200 characters), kept in the audit
    /// entry, so it must not be personal data (no email address, no phone number).</summary>
    public string? Reason { get; set; }
}

/// <summary>The tombstone an erasure leaves: ids and counts only (the keyed hashes themselves stay in the store).</summary>
public sealed record ErasureView(
    string CustomerId,
    string ErasedId,
    IReadOnlyList<string> ErasedIds,
    DateTimeOffset ErasedAt,
    int KeysTombstoned,
    int QuarantineRowsRemoved)
{
    public static ErasureView From(string requestedId, ErasureRecord r) =>
        new(requestedId, r.ErasedId, r.ErasedIds, r.ErasedAt, r.Keys.Count, r.QuarantineRowsRemoved);
}

/// <summary>Body of <c>POST /api/customers/{id}/consent</c>: one consent statement.</summary>
public sealed class ConsentRequest
{
    /// <summary><c>email</c>, <c>sms</c>, <c>phone</c> or <c>profiling</c>.</summary>
    public string? Channel { get; set; }

    /// <summary>True: consent given; false: refused or withdrawn.</summary>
    public bool? Value { get; set; }

    /// <summary>Where the statement was made (a system or channel name, 1-64 letters, digits, '-', '_', '.').</summary>
    public string? Source { get; set; }

    /// <summary>When the person made the statement (default: now); not in the future.</summary>
    public DateTimeOffset? At { get; set; }
}

/// <summary>A customer's consent: the current value per channel and the statements behind it, oldest first.</summary>
public sealed record ConsentView(string CustomerId, Consent Consent, IReadOnlyList<ConsentStatement> Statements)
{
    public static ConsentView From(CustomerProfile p) => new(p.Id, p.Consent, p.ConsentHistory);
}

/// <summary>The identities one source system knows the person by.</summary>
public sealed record ExportedSource(string Source, IReadOnlyList<string> SourceIds);

/// <summary>Everything of the person's history the profile keeps.</summary>
public sealed record ExportedHistory(
    IReadOnlyList<OrderLine> Orders,
    IReadOnlyList<MonthlyOrders> OrderMonths,
    IReadOnlyList<CustomerEvent> RecentEvents,
    IReadOnlyList<MonthlyEvents> EventMonths,
    IReadOnlyList<FeedbackItem> Feedback,
    IReadOnlyList<Subscription> Subscriptions);

/// <summary>
/// The data-subject export (<c>GET /api/customers/{id}/export</c>): everything iCrm holds about one person, for the person.
/// </summary>
public sealed record CustomerExport(
    string CustomerId,
    DateTimeOffset ExportedAt,
    string Purpose,
    IReadOnlyList<string> MergedIds,
    IReadOnlyList<ExportedSource> Identities,
    ContactDetails Contact,
    IReadOnlyList<ContactValue> ContactValues,
    IReadOnlyDictionary<string, string> Attributes,
    DateOnly? SignupDate,
    ChurnLabel? ChurnLabel,
    ConsentView Consent,
    ExportedHistory History,
    IReadOnlyDictionary<string, Prediction> StoredPredictions,
    CustomerScores? LiveScores,
    string? LiveScoresNote,
    IReadOnlyList<MergeExplanation> MergeExplanations,
    IReadOnlyList<AuditEntry> Audit,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public const string PrivacyPurpose = "privacy";

    public static CustomerExport From(CustomerProfile p, DateTimeOffset now, CustomerScores? scores, string? scoresNote, IReadOnlyList<AuditEntry> audit) => new(
        p.Id,
        now,
        PrivacyPurpose,
        p.MergedFrom,
        [.. p.Identities.GroupBy(i => i.Source, StringComparer.Ordinal).Select(g => new ExportedSource(g.Key, [.. g.Select(i => i.SourceId)]))],
        p.Contact,
        p.ContactValues,
        p.Attributes,
        p.SignupDate,
        p.ChurnLabel,
        ConsentView.From(p),
        new ExportedHistory(p.Orders, p.OrderMonths, p.RecentEvents, p.EventMonths, p.Feedback, p.Subscriptions),
        p.Predictions,
        scores,
        scoresNote,
        p.MergeExplanations,
        audit,
        p.CreatedAt,
        p.UpdatedAt);
}

/// <summary>Checks of privacy request fields.</summary>
public static partial class PrivacyInput
{
    public const int MaxReasonLength = 200;

    // An email address or a phone number (10 or more digits, spaces, dashes, dots or brackets between them) has no place in
    // an audit entry; request references such as DSR-2026-0042 pass.
    [GeneratedRegex(@"@|(?:\d[ \-.()]?){10,}")]
    private static partial Regex PersonalLooking();

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex SourceFormat();

    public static string? CheckReason(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? "reason is required: say why the person is erased (a request reference or a short reason)."
        : reason.Length > MaxReasonLength ? $"reason may be at most {MaxReasonLength} characters."
        : PersonalLooking().IsMatch(reason) ? "reason must not contain personal data (it looks like an email address or a phone number): give a request reference instead."
        : null;

    public static bool IsValidSource(string? source) => source is not null && SourceFormat().IsMatch(source);
}
