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

    /// <summary>A value longer than its column may be (<see cref="iCrm.Core.Profiles.ProfileLimits"/>).</summary>
    public const string FieldTooLong = "field_too_long";

    /// <summary>Applying the row would have grown its profile past the size budget even after folding old history.</summary>
    public const string ProfileTooLarge = "profile_too_large";

    /// <summary>The header names one column twice and no setting says which one wins (<c>DuplicateColumns</c>).</summary>
    public const string AmbiguousHeader = "ambiguous_header";

    /// <summary>The row names a customer who was erased (one of its source ids, emails, phones or loyalty ids): it is not
    /// applied, so the person is not recreated. Quarantined without its raw text.</summary>
    public const string ErasedSubject = "erased_subject";
}

/// <summary>Reason codes of warnings on accepted (flagged) rows.</summary>
public static class WarningReasons
{
    public const string InvalidPhone = "invalid_phone";
    public const string LargeAmount = "large_amount";
    public const string TextTruncated = "text_truncated";
    public const string InvalidBirthDate = "invalid_birth_date";

    /// <summary>The row had more unknown columns than a profile keeps attributes from one row; the rest were not kept.</summary>
    public const string AttributesCapped = "attributes_capped";

    /// <summary>The row's bytes were not valid UTF-8 (or the declared encoding): the bad sequences became U+FFFD.</summary>
    public const string InvalidUtf8 = "invalid_utf8";

    /// <summary>The header names a column twice and the setting picked one; this row's two values differed.</summary>
    public const string DuplicateHeader = "duplicate_header";

    /// <summary>The JSON object has the same key twice; the setting (default: the first) picked one.</summary>
    public const string DuplicateKey = "duplicate_key";
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
