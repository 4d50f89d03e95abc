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
    IReadOnlyDictionary<string, string> Attributes,
    bool? ConsentPhone = null,
    bool? ConsentProfiling = null) : DropRecord(Source, SourceCustomerId, Line);

/// <summary>
/// An order line. It carries the line as a profile keeps it (<see cref="Item"/>, immutable), so applying it to a profile
/// adds that object instead of copying it. <see cref="Amount"/> is the line total (amount, or quantity × unit price).
/// </summary>
public sealed record OrderRecord(string Source, string SourceCustomerId, long Line, Profiles.OrderLine Item, string? Currency)
    : DropRecord(Source, SourceCustomerId, Line)
{
    public OrderRecord(
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
        bool Returned)
        : this(Source, SourceCustomerId, Line, new Profiles.OrderLine(OrderId, OrderLine, OrderDate, ProductId, Quantity, Amount, Channel, Returned), Currency)
    {
    }

    public string OrderId => Item.OrderId;

    /// <summary>The line number within the order (not the drop's physical <see cref="DropRecord.Line"/>).</summary>
    public int OrderLine => Item.Line;

    public DateTimeOffset OrderDate => Item.Date;
    public string? ProductId => Item.ProductId;
    public decimal Quantity => Item.Quantity;
    public decimal Amount => Item.Amount;
    public string Channel => Item.Channel;
    public bool Returned => Item.Returned;
}

/// <summary>
/// The values of a validated order line before they become an <see cref="OrderRecord"/>: the identifiers are still slices
/// of the row they were read from (valid only while that row is), an empty <see cref="ProductId"/> meaning none. For code
/// that only passes lines on (<see cref="RowValidator.ValidateOrder(RawRow, out OrderValues)"/>).
/// </summary>
public readonly ref struct OrderValues(
    string source,
    ReadOnlySpan<char> sourceCustomerId,
    long line,
    ReadOnlySpan<char> orderId,
    int orderLine,
    DateTimeOffset orderDate,
    ReadOnlySpan<char> productId,
    decimal quantity,
    decimal amount,
    string channel,
    string? currency,
    bool returned)
{
    public string Source { get; } = source;
    public ReadOnlySpan<char> SourceCustomerId { get; } = sourceCustomerId;
    public long Line { get; } = line;
    public ReadOnlySpan<char> OrderId { get; } = orderId;
    public int OrderLine { get; } = orderLine;
    public DateTimeOffset OrderDate { get; } = orderDate;
    public ReadOnlySpan<char> ProductId { get; } = productId;
    public decimal Quantity { get; } = quantity;
    public decimal Amount { get; } = amount;
    public string Channel { get; } = channel;
    public string? Currency { get; } = currency;
    public bool Returned { get; } = returned;

    /// <summary>The values of a record (a product of null becomes empty).</summary>
    public static OrderValues Of(OrderRecord o) =>
        new(o.Source, o.SourceCustomerId, o.Line, o.OrderId, o.OrderLine, o.OrderDate, o.ProductId, o.Quantity, o.Amount, o.Channel, o.Currency, o.Returned);
}

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
