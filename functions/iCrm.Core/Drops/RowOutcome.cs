namespace iCrm.Core.Drops;

/// <summary>Stable reason codes for rejected and flagged rows; reports count rows by these.</summary>
public static class RejectionReasons
{
    public const string Malformed = "malformed";
    public const string MissingColumn = "missing_column";
    public const string Required = "required";
    public const string InvalidDate = "invalid_date";
    public const string InvalidNumber = "invalid_number";
    public const string InvalidBoolean = "invalid_boolean";
    public const string InvalidEmail = "invalid_email";
    public const string InvalidCurrency = "invalid_currency";
    public const string FutureDate = "future_date";
    public const string DateRange = "invalid_date_range";
    public const string NegativeQuantity = "negative_quantity";
    public const string NegativeAmount = "negative_amount";
    public const string AbsurdAmount = "absurd_amount";
    public const string RatingOutOfRange = "rating_out_of_range";
}

/// <summary>Reason codes of warnings on accepted (flagged) rows.</summary>
public static class WarningReasons
{
    public const string InvalidPhone = "invalid_phone";
    public const string LargeAmount = "large_amount";
    public const string TextTruncated = "text_truncated";
    public const string InvalidBirthDate = "invalid_birth_date";
}

/// <summary>What became of one row: an accepted record (flagged when it carries warnings) or a rejection.</summary>
public readonly record struct RowOutcome
{
    private readonly bool _accepted;

    private RowOutcome(DropRecord? record, RowRejection? rejection, IReadOnlyList<RowWarning> warnings)
    {
        _accepted = rejection is null;
        Record = record;
        Rejection = rejection;
        Warnings = warnings;
    }

    /// <summary>The record of an accepted row; null for a rejected one, and for one accepted as values only
    /// (<see cref="RowValidator.ValidateOrder(RawRow, out OrderValues)"/>).</summary>
    public DropRecord? Record { get; }

    public RowRejection? Rejection { get; }

    public IReadOnlyList<RowWarning> Warnings { get; }

    public bool IsAccepted => _accepted;

    /// <summary>Accepted with at least one warning; flagged rows are a subset of accepted rows.</summary>
    public bool IsFlagged => _accepted && Warnings.Count > 0;

    public static RowOutcome Accepted(DropRecord record, IReadOnlyList<RowWarning>? warnings = null) =>
        new(record, null, warnings ?? []);

    /// <summary>Accepted, the values handed out another way than as a record.</summary>
    public static RowOutcome Accepted(IReadOnlyList<RowWarning>? warnings) => new(null, null, warnings ?? []);

    public static RowOutcome Rejected(RowRejection rejection) => new(null, rejection, []);
}
