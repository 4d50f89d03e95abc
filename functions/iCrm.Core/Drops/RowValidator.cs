using System.Collections.Frozen;
using iCrm.Core.Profiles;

namespace iCrm.Core.Drops;

/// <summary>
/// Turns a <see cref="RawRow"/> into a clean, typed record of its drop's entity, or a rejection with a stable reason
/// code. One instance per drop (it caches small strings and the clock); not thread-safe.
/// </summary>
/// <remarks>
/// Rules worth knowing when reading reports:
/// <list type="bullet">
/// <item>Only structural and identity-bearing problems reject a row. A customer row with an unusable phone is still
/// useful: the phone is dropped and the row flagged (<c>invalid_phone</c>). An invalid email rejects the row, because a
/// wrong email would become a wrong identity key.</item>
/// <item>Returns: a row with <c>returned</c> true is stored with <see cref="OrderRecord.Returned"/> = true and with
/// negative <see cref="OrderRecord.Quantity"/> and <see cref="OrderRecord.Amount"/> (money flowing back), whatever
/// signs the file used, so sums over an order log net out. A negative quantity or amount on a row that is not a
/// return is rejected (<c>negative_quantity</c>, <c>negative_amount</c>).</item>
/// <item>Empty values and the placeholders <c>null</c>, <c>n/a</c>, <c>\N</c> and <c>-</c> count as missing.</item>
/// </list>
/// </remarks>
public sealed class RowValidator
{
    private static readonly IReadOnlyDictionary<string, string> NoAttributes = FrozenDictionary<string, string>.Empty;

    private readonly string _source;
    private readonly DropEntity _entity;
    private readonly ValidationOptions _options;
    private readonly DropValueParser _values;
    private readonly ContactNormalizer _contacts;
    private readonly DateTimeOffset _latestAllowed;
    private readonly DateOnly _latestAllowedDate;
    private readonly SmallStringPool _pool = new();
    private readonly string?[] _previousRequired = new string?[DropSchema.ColumnCount];

    private List<RowWarning>? _warnings;
    private RowRejection? _rejection;
    private RawRow _row = null!;

    public RowValidator(string source, DropEntity entity, ValidationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        _source = source;
        _entity = entity;
        _options = options ?? ValidationOptions.Default;
        _values = new DropValueParser(_options);
        _contacts = new ContactNormalizer(_options.DefaultPhoneRegion);
        _latestAllowed = _options.TimeProvider.GetUtcNow() + _options.FutureTolerance;
        _latestAllowedDate = DateOnly.FromDateTime(_latestAllowed.UtcDateTime);
    }

    public RowValidator(DropPath path, ValidationOptions? options = null)
        : this(path.Source, path.Entity, options)
    {
    }

    /// <summary>The entity whose rows this validator reads.</summary>
    public DropEntity Entity => _entity;

    public RowOutcome Validate(RawRow row)
    {
        if (Begin(row) is { } unreadable)
        {
            return unreadable;
        }

        DropRecord? record = _entity switch
        {
            DropEntity.Customers => ValidateCustomer(),
            DropEntity.Orders => ValidateOrder(),
            DropEntity.Events => ValidateEvent(),
            DropEntity.Feedback => ValidateFeedback(),
            DropEntity.Subscriptions => ValidateSubscription(),
            _ => null,
        };

        if (record is null)
        {
            return RowOutcome.Rejected(_rejection ?? Rejection(null, RejectionReasons.Malformed, "Unknown entity."));
        }

        if (_row.HasInvalidText || _row.HasDuplicateColumns)
        {
            WarnRepairs();
        }
        return RowOutcome.Accepted(record, _warnings);
    }

    /// <summary>What reading repaired in an accepted row: invalid bytes replaced, a column named twice with differing values
    /// (CSV, when a setting picked the winner), a JSON key given twice.</summary>
    private void WarnRepairs()
    {
        if (_row.HasInvalidText)
        {
            (_warnings ??= []).Add(new RowWarning(_row.FirstFieldWithReplacement() ?? "row", WarningReasons.InvalidUtf8,
                "The row held byte sequences that are not valid text in the file's encoding; they were replaced with U+FFFD."));
        }
        if (!_row.HasDuplicateColumns)
        {
            return;
        }
        if (!_row.FromHeader)
        {
            (_warnings ??= []).Add(new RowWarning(_row.FirstDuplicate, WarningReasons.DuplicateKey, "The JSON object has a key more than once; one value was used."));
        }
        else if (_row.FirstConflictingDuplicate() is { } column)
        {
            (_warnings ??= []).Add(new RowWarning(column, WarningReasons.DuplicateHeader, "The header names this column twice and the row's two values differ; the setting's choice was used."));
        }
    }

    /// <summary>
    /// Validates an orders row like <see cref="Validate"/> but makes no record: the accepted line's values come out as
    /// <paramref name="order"/>, its text still slices of the row (valid while the row is), for a caller that only passes
    /// them on (the customer spill), so accepting a line allocates nothing.
    /// </summary>
    public RowOutcome ValidateOrder(RawRow row, out OrderValues order)
    {
        if (_entity != DropEntity.Orders)
        {
            throw new InvalidOperationException($"This validator reads {_entity} rows, not orders.");
        }
        order = default;
        if (Begin(row) is { } unreadable)
        {
            return unreadable;
        }
        if (!TryOrder(out order))
        {
            return RowOutcome.Rejected(_rejection!);
        }
        if (_row.HasInvalidText || _row.HasDuplicateColumns)
        {
            WarnRepairs();
        }
        return RowOutcome.Accepted(_warnings);
    }

    /// <summary>Starts a row: the rejection of a row that could not be read structurally, or null.</summary>
    private RowOutcome? Begin(RawRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        _row = row;
        _warnings = null;
        _rejection = null;

        if (row.MalformedReason is { } malformed)
        {
            return Reject(null, RejectionReasons.Malformed, malformed);
        }

        if (row.HasMissingColumns)
        {
            var names = string.Join(", ", row.MissingColumns.Select(DropSchema.NameOf));
            return Reject(row.MissingColumns[0], RejectionReasons.MissingColumn, $"The file has no column for: {names}.");
        }

        // No value is longer than the record, nor than its longest field: a row whose values are all short (most are)
        // cannot break a length limit.
        if (row.TextLength > ShortestLimit && row.HasFieldLongerThan(ShortestLimit) && TooLong(row) is { } tooLong)
        {
            return tooLong;
        }
        return null;
    }

    private const int ShortestLimit = ProfileLimits.MaxCodeLength;

    /// <summary>The longest value each column may hold: what fits a profile (and a what-if document).</summary>
    private static readonly int[] Limits = BuildLimits();

    private static int[] BuildLimits()
    {
        var limits = new int[DropSchema.ColumnCount];
        Array.Fill(limits, ProfileLimits.MaxCodeLength); // dates, numbers, booleans, codes
        foreach (var id in (ReadOnlySpan<DropColumn>)[DropColumn.CustomerId, DropColumn.OrderId, DropColumn.ProductId, DropColumn.EventId,
                     DropColumn.FeedbackId, DropColumn.LoyaltyId])
        {
            limits[(int)id] = ProfileLimits.MaxIdLength;
        }
        foreach (var contact in (ReadOnlySpan<DropColumn>)[DropColumn.Email, DropColumn.Phone, DropColumn.FirstName, DropColumn.LastName,
                     DropColumn.Street, DropColumn.City, DropColumn.Postcode, DropColumn.State, DropColumn.Country])
        {
            limits[(int)contact] = ProfileLimits.MaxContactLength;
        }
        limits[(int)DropColumn.Text] = int.MaxValue; // feedback text is cut to MaxTextLength and the row flagged instead
        return limits;
    }

    /// <summary>The rejection of a row with a value longer than its column allows (<c>field_too_long</c>), or null.</summary>
    private RowOutcome? TooLong(RawRow row)
    {
        foreach (var c in row.PresentColumns)
        {
            var column = (DropColumn)c;
            if (row.LengthOf(column) <= Limits[c])
            {
                continue; // the untrimmed length is within the limit: so is the value (the usual case, no trimming)
            }
            var length = row[column].Trim().Length;
            if (length > Limits[c])
            {
                return Reject(column, RejectionReasons.FieldTooLong, $"{DropSchema.NameOf(column)} has {length:N0} characters; at most {Limits[c]:N0} fit a profile.");
            }
        }
        if (_entity == DropEntity.Customers && row.HasUnknownColumns
            && row.LongestUnknownValue() is { Length: > ProfileLimits.MaxAttributeValueLength } attribute)
        {
            var rejection = new RowRejection(row.Line, attribute.Header, RejectionReasons.FieldTooLong,
                $"Attribute '{Cut(attribute.Header)}' has {attribute.Length:N0} characters; at most {ProfileLimits.MaxAttributeValueLength} fit a profile.", row.RawText);
            return RowOutcome.Rejected(rejection);
        }
        return null;
    }

    // ------------------------------------------------------------- entities

    private CustomerRecord? ValidateCustomer()
    {
        var customerId = Required(DropColumn.CustomerId);
        if (customerId is null)
        {
            return null;
        }

        string? email = null;
        var emailText = Value(DropColumn.Email);
        if (!emailText.IsEmpty && !ContactNormalizer.TryNormalizeEmail(emailText, out email))
        {
            SetRejection(DropColumn.Email, RejectionReasons.InvalidEmail, $"'{Cut(emailText)}' is not a valid email address.");
            return null;
        }

        string? phone = null;
        var phoneText = Value(DropColumn.Phone);
        if (!phoneText.IsEmpty && !_contacts.TryNormalizePhone(phoneText, out phone))
        {
            phone = null;
            Warn(DropColumn.Phone, WarningReasons.InvalidPhone, $"'{Cut(phoneText)}' is not a valid phone number for region {_options.DefaultPhoneRegion}; the phone was dropped.");
        }

        var birthDate = BirthDateOrWarn();
        if (!OptionalDate(DropColumn.SignupDate, out var signupDate, rejectFuture: true)
            || !OptionalDate(DropColumn.ChurnedAt, out var churnedAt, rejectFuture: true)
            || !OptionalBoolean(DropColumn.ConsentEmail, out var consentEmail)
            || !OptionalBoolean(DropColumn.ConsentSms, out var consentSms)
            || !OptionalBoolean(DropColumn.ConsentPhone, out var consentPhone)
            || !OptionalBoolean(DropColumn.ConsentProfiling, out var consentProfiling)
            || !OptionalBoolean(DropColumn.Churned, out var churned))
        {
            return null;
        }

        var state = Value(DropColumn.State);
        var country = Value(DropColumn.Country);
        var postcode = Value(DropColumn.Postcode);
        var loyalty = Value(DropColumn.LoyaltyId);

        return new CustomerRecord(
            _source,
            customerId,
            _row.Line,
            email,
            phone,
            Text(DropColumn.FirstName, titleCase: true),
            Text(DropColumn.LastName, titleCase: true),
            birthDate,
            ContactNormalizer.NormalizeGender(Value(DropColumn.Gender)),
            Text(DropColumn.Street, titleCase: true),
            Text(DropColumn.City, titleCase: true),
            postcode.IsEmpty ? null : ContactNormalizer.CleanPostcode(postcode),
            state.IsEmpty ? null : state.Length <= 3 ? _pool.Get(state, upper: true) : ContactNormalizer.CleanText(state, titleCase: true),
            country.IsEmpty ? null : ContactNormalizer.NormalizeCountry(country),
            signupDate,
            loyalty.IsEmpty ? null : loyalty.ToString(),
            consentEmail,
            consentSms,
            churned,
            churnedAt,
            Attributes(),
            consentPhone,
            consentProfiling);
    }

    private OrderRecord? ValidateOrder() =>
        TryOrder(out var o)
            ? new OrderRecord(o.Source, Shared(DropColumn.CustomerId, o.SourceCustomerId), o.Line, Shared(DropColumn.OrderId, o.OrderId),
                o.OrderLine, o.OrderDate, o.ProductId.IsEmpty ? null : o.ProductId.ToString(), o.Quantity, o.Amount, o.Channel, o.Currency, o.Returned)
            : null;

    private bool TryOrder(out OrderValues order)
    {
        order = default;
        var orderId = RequiredValue(DropColumn.OrderId);
        var customerId = orderId.IsEmpty ? default : RequiredValue(DropColumn.CustomerId);
        if (customerId.IsEmpty || !RequiredTimestamp(DropColumn.OrderDate, out var orderDate))
        {
            return false;
        }

        var orderLine = 1;
        var lineText = Value(DropColumn.OrderLine);
        if (!lineText.IsEmpty && (!_values.TryParseInt(lineText, out orderLine) || orderLine < 0))
        {
            SetRejection(DropColumn.OrderLine, RejectionReasons.InvalidNumber, $"Line '{Cut(lineText)}' is not a line number.");
            return false;
        }

        if (!OptionalBoolean(DropColumn.Returned, out var returnedFlag)
            || !OptionalDecimal(DropColumn.Quantity, out var quantityValue)
            || !OptionalDecimal(DropColumn.UnitPrice, out var unitPrice)
            || !OptionalDecimal(DropColumn.Amount, out var amountValue))
        {
            return false;
        }

        var returned = returnedFlag == true;
        var quantity = quantityValue ?? 1m;
        decimal amount;
        if (amountValue is { } a)
        {
            amount = a;
        }
        else if (unitPrice is { } price)
        {
            try
            {
                amount = quantity * price;
            }
            catch (OverflowException)
            {
                SetRejection(DropColumn.UnitPrice, RejectionReasons.AbsurdAmount, $"Quantity {quantity} × unit price {price} is beyond any real order.");
                return false;
            }
        }
        else
        {
            SetRejection(DropColumn.Amount, RejectionReasons.Required, "The row has neither an amount nor a unit price.");
            return false;
        }

        if (returned)
        {
            quantity = -Math.Abs(quantity);
            amount = -Math.Abs(amount);
        }
        else if (IsBelowZero(quantity))
        {
            SetRejection(DropColumn.Quantity, RejectionReasons.NegativeQuantity, $"Quantity {quantity} is negative but the row is not marked as a return.");
            return false;
        }
        else if (IsBelowZero(amount) || (unitPrice is { } p && IsBelowZero(p)))
        {
            SetRejection(DropColumn.Amount, RejectionReasons.NegativeAmount, $"Amount {amount} is negative but the row is not marked as a return.");
            return false;
        }

        if (!CheckAmount(DropColumn.Amount, amount))
        {
            return false;
        }

        string? currency = null;
        var currencyText = Value(DropColumn.Currency);
        if (!currencyText.IsEmpty)
        {
            if (currencyText.Length != 3 || !char.IsAsciiLetter(currencyText[0]) || !char.IsAsciiLetter(currencyText[1]) || !char.IsAsciiLetter(currencyText[2]))
            {
                SetRejection(DropColumn.Currency, RejectionReasons.InvalidCurrency, $"'{Cut(currencyText)}' is not an ISO 4217 currency code.");
                return false;
            }

            currency = _pool.Get(currencyText, upper: true);
        }

        order = new OrderValues(_source, customerId, _row.Line, orderId, orderLine, orderDate, Value(DropColumn.ProductId), quantity, amount,
            Channel(), currency, returned);
        return true;
    }

    private EventRecord? ValidateEvent()
    {
        var customerId = Required(DropColumn.CustomerId);
        if (customerId is null || !RequiredTimestamp(DropColumn.Timestamp, out var timestamp))
        {
            return null;
        }

        var typeText = Value(DropColumn.Type);
        if (typeText.IsEmpty)
        {
            SetRejection(DropColumn.Type, RejectionReasons.Required, "The event has no type.");
            return null;
        }

        if (!OptionalDecimal(DropColumn.Value, out var value))
        {
            return null;
        }

        var eventId = Value(DropColumn.EventId);
        var product = Value(DropColumn.ProductId);
        return new EventRecord(_source, customerId, _row.Line, eventId.IsEmpty ? null : eventId.ToString(), timestamp, EventType(typeText),
            product.IsEmpty ? null : product.ToString(), value, Channel());
    }

    private FeedbackRecord? ValidateFeedback()
    {
        var customerId = Required(DropColumn.CustomerId);
        if (customerId is null || !RequiredTimestamp(DropColumn.Timestamp, out var timestamp))
        {
            return null;
        }

        var rawText = Value(DropColumn.Text);
        if (rawText.IsEmpty)
        {
            SetRejection(DropColumn.Text, RejectionReasons.Required, "The feedback has no text.");
            return null;
        }

        int? rating = null;
        var ratingText = Value(DropColumn.Rating);
        if (!ratingText.IsEmpty)
        {
            if (!_values.TryParseInt(ratingText, out var r))
            {
                SetRejection(DropColumn.Rating, RejectionReasons.InvalidNumber, $"Rating '{Cut(ratingText)}' is not a whole number.");
                return null;
            }

            if (r is < 1 or > 5)
            {
                SetRejection(DropColumn.Rating, RejectionReasons.RatingOutOfRange, $"Rating {r} is outside 1–5.");
                return null;
            }

            rating = r;
        }

        var text = rawText.ToString();
        if (!text.IsNormalized(System.Text.NormalizationForm.FormC))
        {
            text = text.Normalize(System.Text.NormalizationForm.FormC);
        }

        if (text.Length > _options.MaxTextLength)
        {
            Warn(DropColumn.Text, WarningReasons.TextTruncated, $"Text of {text.Length} characters cut to {_options.MaxTextLength}.");
            var cut = _options.MaxTextLength;
            if (char.IsHighSurrogate(text[cut - 1]))
            {
                cut--;
            }

            text = text[..cut];
        }

        var feedbackId = Value(DropColumn.FeedbackId);
        return new FeedbackRecord(_source, customerId, _row.Line, feedbackId.IsEmpty ? null : feedbackId.ToString(), timestamp, text, rating, Channel());
    }

    private SubscriptionRecord? ValidateSubscription()
    {
        var customerId = Required(DropColumn.CustomerId);
        if (customerId is null)
        {
            return null;
        }

        var planText = Value(DropColumn.Plan);
        if (planText.IsEmpty)
        {
            SetRejection(DropColumn.Plan, RejectionReasons.Required, "The subscription has no plan.");
            return null;
        }

        var startText = Value(DropColumn.StartDate);
        if (startText.IsEmpty)
        {
            SetRejection(DropColumn.StartDate, RejectionReasons.Required, "The subscription has no start date.");
            return null;
        }

        if (!OptionalDate(DropColumn.StartDate, out var start, rejectFuture: true)
            || !OptionalDate(DropColumn.EndDate, out var end, rejectFuture: false)
            || !OptionalDecimal(DropColumn.Amount, out var amount))
        {
            return null;
        }

        if (end < start)
        {
            SetRejection(DropColumn.EndDate, RejectionReasons.DateRange, $"End date {end:yyyy-MM-dd} is before start date {start:yyyy-MM-dd}.");
            return null;
        }

        if (amount < 0)
        {
            SetRejection(DropColumn.Amount, RejectionReasons.NegativeAmount, $"Amount {amount} is negative.");
            return null;
        }

        if (amount is { } value && !CheckAmount(DropColumn.Amount, value))
        {
            return null;
        }

        var period = Value(DropColumn.Period);
        return new SubscriptionRecord(_source, customerId, _row.Line, _pool.Get(planText, upper: false), start!.Value, end, amount,
            period.IsEmpty ? null : _pool.Get(period, upper: false, lower: true));
    }

    // -------------------------------------------------------------- helpers

    /// <summary>The trimmed value, empty for missing values and the usual placeholders.</summary>
    private ReadOnlySpan<char> Value(DropColumn column)
    {
        var value = _row[column].Trim();
        if (value.Length is > 0 and <= 4
            && (value is "-" or "\\N" || value.Equals("null", StringComparison.OrdinalIgnoreCase) || value.Equals("n/a", StringComparison.OrdinalIgnoreCase)))
        {
            return default;
        }

        return value;
    }

    private string? Required(DropColumn column)
    {
        var value = RequiredValue(column);
        return value.IsEmpty ? null : Shared(column, value);
    }

    /// <summary>The value of a required column, empty (with the rejection set) when it is missing.</summary>
    private ReadOnlySpan<char> RequiredValue(DropColumn column)
    {
        var value = Value(column);
        if (value.IsEmpty)
        {
            SetRejection(column, RejectionReasons.Required, $"{DropSchema.NameOf(column)} is required.");
        }
        return value;
    }

    /// <summary>Consecutive rows often repeat an identifier (an order's lines, a customer's rows in a sorted export): share the string.</summary>
    private string Shared(DropColumn column, ReadOnlySpan<char> value)
    {
        ref var previous = ref _previousRequired[(int)column];
        if (previous is not null && value.SequenceEqual(previous))
        {
            return previous;
        }
        return previous = value.ToString();
    }

    private bool RequiredTimestamp(DropColumn column, out DateTimeOffset value)
    {
        var text = Value(column);
        if (text.IsEmpty)
        {
            value = default;
            SetRejection(column, RejectionReasons.Required, $"{DropSchema.NameOf(column)} is required.");
            return false;
        }

        if (!_values.TryParseTimestamp(text, out value) || DateOnly.FromDateTime(value.UtcDateTime) < _options.MinDate)
        {
            SetRejection(column, RejectionReasons.InvalidDate, $"'{Cut(text)}' is not a date and time.");
            return false;
        }

        if (value > _latestAllowed)
        {
            SetRejection(column, RejectionReasons.FutureDate, $"{value:O} is in the future.");
            return false;
        }

        return true;
    }

    /// <summary>A birth date that cannot be right is dropped with a warning: the rest of a customer row is still worth having
    /// (as with an invalid phone), and a wrong birth date would only mislead matching.</summary>
    private DateOnly? BirthDateOrWarn()
    {
        var text = Value(DropColumn.BirthDate);
        if (text.IsEmpty)
        {
            return null;
        }
        if (!_values.TryParseDate(text, out var date) || date < _options.MinDate || date > _latestAllowedDate)
        {
            Warn(DropColumn.BirthDate, WarningReasons.InvalidBirthDate, $"'{Cut(text)}' is not a possible birth date; it was dropped.");
            return null;
        }
        return date;
    }

    private bool OptionalDate(DropColumn column, out DateOnly? value, bool rejectFuture)
    {
        value = null;
        var text = Value(column);
        if (text.IsEmpty)
        {
            return true;
        }

        if (!_values.TryParseDate(text, out var date) || date < _options.MinDate)
        {
            SetRejection(column, RejectionReasons.InvalidDate, $"'{Cut(text)}' is not a date.");
            return false;
        }

        if (rejectFuture && date > _latestAllowedDate)
        {
            SetRejection(column, RejectionReasons.FutureDate, $"{date:yyyy-MM-dd} is in the future.");
            return false;
        }

        value = date;
        return true;
    }

    private bool OptionalDecimal(DropColumn column, out decimal? value)
    {
        value = null;
        var text = Value(column);
        if (text.IsEmpty)
        {
            return true;
        }

        if (!_values.TryParseDecimal(text, out var d))
        {
            SetRejection(column, RejectionReasons.InvalidNumber, $"'{Cut(text)}' is not a number.");
            return false;
        }

        value = d;
        return true;
    }

    private bool OptionalBoolean(DropColumn column, out bool? value)
    {
        value = null;
        var text = Value(column);
        if (text.IsEmpty)
        {
            return true;
        }

        if (!DropValueParser.TryParseBoolean(text, out var b))
        {
            SetRejection(column, RejectionReasons.InvalidBoolean, $"'{Cut(text)}' is not yes/no.");
            return false;
        }

        value = b;
        return true;
    }

    private bool CheckAmount(DropColumn column, decimal amount)
    {
        var size = Math.Abs(amount);
        if (size > _options.MaxAmount)
        {
            SetRejection(column, RejectionReasons.AbsurdAmount, $"Amount {amount} exceeds the maximum of {_options.MaxAmount}.");
            return false;
        }

        if (size > _options.FlagAmount)
        {
            Warn(column, WarningReasons.LargeAmount, $"Amount {amount} is above {_options.FlagAmount}.");
        }

        return true;
    }

    private string? Text(DropColumn column, bool titleCase)
    {
        var value = Value(column);
        return value.IsEmpty ? null : ContactNormalizer.CleanText(value, titleCase);
    }

    private string Channel()
    {
        var value = Value(DropColumn.Channel);
        if (value.IsEmpty)
        {
            return _source;
        }
        // Most rows repeat the previous row's channel, usually written in lower case already: then the lower-casing and
        // the pool's lookup are skipped (other spellings go through the pool, which allocates nothing for a known one).
        if (_lastChannel is not null && value.SequenceEqual(_lastChannel))
        {
            return _lastChannel;
        }
        return _lastChannel = _pool.Get(value, upper: false, lower: true);
    }

    private string? _lastChannel;

    /// <summary><c>Email Open</c>, <c>email-open</c> → <c>email_open</c>.</summary>
    private string EventType(ReadOnlySpan<char> text)
    {
        Span<char> buffer = stackalloc char[Math.Min(text.Length, 64)];
        var n = 0;
        var pendingUnderscore = false;
        foreach (var c in text[..buffer.Length])
        {
            if (c is ' ' or '-' or '_' or '.' || char.IsWhiteSpace(c))
            {
                pendingUnderscore = n > 0;
                continue;
            }

            if (pendingUnderscore)
            {
                buffer[n++] = '_';
                pendingUnderscore = false;
            }

            if (n < buffer.Length)
            {
                buffer[n++] = char.ToLowerInvariant(c);
            }
        }

        return _pool.Get(buffer[..n], upper: false);
    }

    private IReadOnlyDictionary<string, string> Attributes()
    {
        if (!_row.HasUnknownColumns)
        {
            return NoAttributes;
        }

        Dictionary<string, string>? attributes = null;
        var dropped = 0;
        foreach (var (_, name, value) in _row.UnknownColumns)
        {
            attributes ??= new Dictionary<string, string>(StringComparer.Ordinal);
            if (attributes.Count < ProfileLimits.MaxAttributes)
            {
                attributes.TryAdd(name, value);
            }
            else if (!attributes.ContainsKey(name))
            {
                dropped++;
            }
        }

        if (dropped > 0)
        {
            (_warnings ??= []).Add(new RowWarning("attributes", WarningReasons.AttributesCapped,
                $"The row has {attributes!.Count + dropped:N0} attribute columns with values; the first {ProfileLimits.MaxAttributes} were kept."));
        }

        return attributes ?? NoAttributes;
    }

    private void Warn(DropColumn column, string reason, string message) =>
        (_warnings ??= []).Add(new RowWarning(DropSchema.NameOf(column), reason, message));

    private RowOutcome Reject(DropColumn? column, string reason, string message) => RowOutcome.Rejected(Rejection(column, reason, message));

    private RowRejection Rejection(DropColumn? column, string reason, string message) =>
        new(_row.Line, column is { } c ? DropSchema.NameOf(c) : null, reason, message, _row.RawText);

    private void SetRejection(DropColumn column, string reason, string message) => _rejection = Rejection(column, reason, message);

    /// <summary><c>value &lt; 0</c>, with the sign bit checked first (a decimal comparison is costly; -0 is not below zero).</summary>
    private static bool IsBelowZero(decimal value) => decimal.IsNegative(value) && value < 0;

    private static string Cut(ReadOnlySpan<char> text) => text.Length <= 60 ? text.ToString() : string.Concat(text[..57], "...");
}

/// <summary>Dedups the few distinct values of low-cardinality columns (channel, currency, event type) so rows share one string.</summary>
internal sealed class SmallStringPool
{
    private const int Capacity = 4096;
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    public string Get(ReadOnlySpan<char> value, bool upper, bool lower = false)
    {
        Span<char> buffer = stackalloc char[Math.Min(value.Length, 128)];
        var source = value[..buffer.Length];
        if (upper)
        {
            source.ToUpperInvariant(buffer);
        }
        else if (lower)
        {
            source.ToLowerInvariant(buffer);
        }
        else
        {
            source.CopyTo(buffer);
        }

        ReadOnlySpan<char> text = buffer;

        var lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(text, out var existing))
        {
            return existing;
        }

        var s = text.ToString();
        if (_strings.Count < Capacity)
        {
            _strings[s] = s;
        }

        return s;
    }
}
