namespace iCrm.Core.Drops;

/// <summary>The kinds of data a drop can carry; the folder <c>drops/{source}/{entity}/</c> names it.</summary>
public enum DropEntity
{
    Customers,
    Orders,
    Events,
    Feedback,
    Subscriptions,
}

/// <summary>A validated, cleaned row of a drop. <see cref="Line"/> is the physical line on which the record starts (header = 1).</summary>
public abstract record DropRecord(string Source, string SourceCustomerId, long Line);

/// <summary>A customers row. Contact fields are already normalised (email lower-cased, phone E.164, names trimmed and cased).</summary>
public sealed record CustomerRecord(
    string Source,
    string SourceCustomerId,
    long Line,
    string? Email,
    string? Phone,
    string? FirstName,
    string? LastName,
    DateOnly? BirthDate,
    string? Gender,
    string? Street,
    string? City,
    string? Postcode,
    string? State,
    string? Country,
    DateOnly? SignupDate,
    string? LoyaltyId,
    bool? ConsentEmail,
    bool? ConsentSms,
    bool? Churned,
    DateOnly? ChurnedAt,
    IReadOnlyDictionary<string, string> Attributes) : DropRecord(Source, SourceCustomerId, Line);

/// <summary>An order line. <see cref="Amount"/> is the line total (amount, or quantity × unit price).</summary>
public sealed record OrderRecord(
    string Source,
    string SourceCustomerId,
    long Line,
    string OrderId,
    int OrderLine,
    DateTimeOffset OrderDate,
    string? ProductId,
    decimal Quantity,
    decimal Amount,
    string Channel,
    string? Currency,
    bool Returned) : DropRecord(Source, SourceCustomerId, Line);

public sealed record EventRecord(
    string Source,
    string SourceCustomerId,
    long Line,
    string? EventId,
    DateTimeOffset Timestamp,
    string Type,
    string? ProductId,
    decimal? Value,
    string Channel) : DropRecord(Source, SourceCustomerId, Line);

public sealed record FeedbackRecord(
    string Source,
    string SourceCustomerId,
    long Line,
    string? FeedbackId,
    DateTimeOffset Timestamp,
    string Text,
    int? Rating,
    string Channel) : DropRecord(Source, SourceCustomerId, Line);

public sealed record SubscriptionRecord(
    string Source,
    string SourceCustomerId,
    long Line,
    string Plan,
    DateOnly StartDate,
    DateOnly? EndDate,
    decimal? Amount,
    string? Period) : DropRecord(Source, SourceCustomerId, Line);

/// <summary>Why a row was not accepted: which field, and a reason code (stable, for counting) with a readable message.</summary>
public sealed record RowRejection(long Line, string? Field, string Reason, string Message, string RawText);

/// <summary>A rule that let a row through but marked it (e.g. a very large amount); flagged rows are counted as accepted.</summary>
public sealed record RowWarning(string Field, string Reason, string Message);
