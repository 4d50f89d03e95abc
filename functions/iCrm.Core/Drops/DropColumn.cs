namespace iCrm.Core.Drops;

/// <summary>The canonical columns of all drop entities (ARCHITECTURE.md, "Data drops"). Headers map onto these through aliases.</summary>
public enum DropColumn
{
    CustomerId,
    Email,
    Phone,
    FirstName,
    LastName,
    BirthDate,
    Gender,
    Street,
    City,
    Postcode,
    State,
    Country,
    SignupDate,
    LoyaltyId,
    ConsentEmail,
    ConsentSms,
    Churned,
    ChurnedAt,
    OrderId,
    OrderLine,
    OrderDate,
    Amount,
    Quantity,
    UnitPrice,
    ProductId,
    Channel,
    Currency,
    Returned,
    EventId,
    Timestamp,
    Type,
    Value,
    FeedbackId,
    Text,
    Rating,
    Plan,
    StartDate,
    EndDate,
    Period,
    ConsentPhone,
    ConsentProfiling,
}

/// <summary>
/// Which columns each entity has, their canonical names, the aliases data teams use for them, and which are required.
/// Header names are compared after <see cref="HeaderKey"/> (lower-case, letters and digits only), so
/// <c>E-Mail</c>, <c>e_mail</c> and <c>EMAIL</c> are the same header.
/// </summary>
public static class DropSchema
{
    internal const int ColumnCount = (int)DropColumn.ConsentProfiling + 1;

    private static readonly string[] CanonicalNames =
    [
        "customer_id", "email", "phone", "first_name", "last_name", "birth_date", "gender", "street", "city", "postcode",
        "state", "country", "signup_date", "loyalty_id", "consent_email", "consent_sms", "churned", "churned_at",
        "order_id", "line", "order_date", "amount", "quantity", "unit_price", "product_id", "channel", "currency", "returned",
        "event_id", "timestamp", "type", "value", "feedback_id", "text", "rating", "plan", "start_date", "end_date", "period",
        "consent_phone", "consent_profiling",
    ];

    private static readonly string[] CustomerIdAliases = ["customer id", "cust_id", "custid", "customerid", "customer_no", "customer_number", "client_id", "clientid", "customer"];
    private static readonly string[] TimestampAliases = ["ts", "time", "datetime", "date_time", "date", "created_at", "created", "occurred_at", "event_time", "event_date"];

    private static readonly Dictionary<DropEntity, Dictionary<string, DropColumn>> Aliases = BuildAliases();

    /// <summary>The snake_case name of a canonical column, as written in the drop contract.</summary>
    public static string NameOf(DropColumn column) => CanonicalNames[(int)column];

    /// <summary>Columns a file of this entity must have in its header. Orders need <c>amount</c> or <c>quantity</c> × <c>unit_price</c> besides these.</summary>
    public static IReadOnlyList<DropColumn> RequiredColumns(DropEntity entity) => entity switch
    {
        DropEntity.Customers => [DropColumn.CustomerId],
        DropEntity.Orders => [DropColumn.OrderId, DropColumn.CustomerId, DropColumn.OrderDate],
        DropEntity.Events => [DropColumn.CustomerId, DropColumn.Timestamp, DropColumn.Type],
        DropEntity.Feedback => [DropColumn.CustomerId, DropColumn.Timestamp, DropColumn.Text],
        DropEntity.Subscriptions => [DropColumn.CustomerId, DropColumn.Plan, DropColumn.StartDate],
        _ => [],
    };

    /// <summary>Maps a header as written in a file to a canonical column of <paramref name="entity"/>, if it is one.</summary>
    public static bool TryResolve(DropEntity entity, ReadOnlySpan<char> header, out DropColumn column)
    {
        Span<char> key = stackalloc char[Math.Min(header.Length, 128)];
        var length = HeaderKey(header, key);
        return Aliases[entity].GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key[..length], out column);
    }

    /// <summary>Lower-case letters and digits of <paramref name="header"/>: the form headers and aliases are compared in.</summary>
    internal static int HeaderKey(ReadOnlySpan<char> header, Span<char> destination)
    {
        var n = 0;
        foreach (var c in header)
        {
            if (n == destination.Length)
            {
                break;
            }

            if (char.IsLetterOrDigit(c))
            {
                destination[n++] = char.ToLowerInvariant(c);
            }
        }

        return n;
    }

    private static string HeaderKey(string header)
    {
        Span<char> key = stackalloc char[Math.Min(header.Length, 128)];
        return new string(key[..HeaderKey(header, key)]);
    }

    /// <summary>snake_case form of an unknown header, used as the attribute name: <c>Loyalty Tier</c>, <c>loyaltyTier</c> → <c>loyalty_tier</c>.</summary>
    public static string AttributeName(string header)
    {
        var sb = new System.Text.StringBuilder(header.Length + 4);
        var pendingUnderscore = false;
        char previous = ' ';
        foreach (var c in header.Trim())
        {
            if (char.IsLetterOrDigit(c))
            {
                if (char.IsUpper(c) && char.IsLower(previous))
                {
                    pendingUnderscore = true;
                }

                if (pendingUnderscore && sb.Length > 0)
                {
                    sb.Append('_');
                }

                pendingUnderscore = false;
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                pendingUnderscore = true;
            }

            previous = c;
        }

        return sb.Length == 0 ? "column" : sb.ToString();
    }

    private static Dictionary<DropEntity, Dictionary<string, DropColumn>> BuildAliases()
    {
        var result = new Dictionary<DropEntity, Dictionary<string, DropColumn>>();

        var customers = Map(
            (DropColumn.CustomerId, [.. CustomerIdAliases, "id"]),
            (DropColumn.Email, ["e-mail", "email address", "email_address", "mail", "e_mail", "emailaddress"]),
            (DropColumn.Phone, ["telephone", "phone_number", "phone number", "mobile", "tel", "mobile_phone", "cell", "phone_no", "msisdn"]),
            (DropColumn.FirstName, ["firstname", "given_name", "forename", "first", "fname", "given_names"]),
            (DropColumn.LastName, ["surname", "family_name", "lastname", "last", "lname"]),
            (DropColumn.BirthDate, ["dob", "date_of_birth", "birthdate", "birthday", "born"]),
            (DropColumn.Gender, ["sex"]),
            (DropColumn.Street, ["address", "address_1", "address1", "address_line_1", "street_address", "street_number", "address_line1"]),
            (DropColumn.City, ["town", "suburb", "locality", "city_name"]),
            (DropColumn.Postcode, ["zip", "zipcode", "zip_code", "postal_code", "post_code", "postalcode"]),
            (DropColumn.State, ["region", "province", "county", "state_code"]),
            (DropColumn.Country, ["country_code", "nation"]),
            (DropColumn.SignupDate, ["signup", "signed_up", "sign_up_date", "registration_date", "registered", "registered_at", "created_at", "join_date", "joined"]),
            (DropColumn.LoyaltyId, ["loyalty", "loyalty_number", "loyalty_card", "member_id", "membership_id", "loyalty_no"]),
            (DropColumn.ConsentEmail, ["email_consent", "email_opt_in", "opt_in_email", "marketing_email", "email_optin"]),
            (DropColumn.ConsentSms, ["sms_consent", "sms_opt_in", "opt_in_sms", "marketing_sms", "sms_optin"]),
            (DropColumn.ConsentPhone, ["phone_consent", "phone_opt_in", "opt_in_phone", "marketing_phone", "phone_optin", "call_consent"]),
            (DropColumn.ConsentProfiling, ["profiling_consent", "profiling_opt_in", "opt_in_profiling", "profiling", "analytics_consent"]),
            (DropColumn.Churned, ["is_churned", "churn"]),
            (DropColumn.ChurnedAt, ["churn_date", "churned_date", "cancelled_at", "churned_on"]));
        result[DropEntity.Customers] = customers;

        result[DropEntity.Orders] = Map(
            (DropColumn.OrderId, ["order", "order_no", "order_number", "orderid", "transaction_id", "invoice_id", "invoice", "receipt_id"]),
            (DropColumn.CustomerId, CustomerIdAliases),
            (DropColumn.OrderDate, ["date", "order_time", "ordered_at", "purchase_date", "transaction_date", "created_at", "timestamp", "invoice_date"]),
            (DropColumn.OrderLine, ["line_no", "line_number", "order_line", "line_item", "item_no", "position"]),
            (DropColumn.Amount, ["total", "line_total", "revenue", "sales", "net_amount", "amount_total"]),
            (DropColumn.Quantity, ["qty", "units", "count", "quantity_ordered"]),
            (DropColumn.UnitPrice, ["price", "unit_cost", "item_price", "unitprice", "price_each"]),
            (DropColumn.ProductId, ["product", "sku", "item_id", "article", "productid", "stock_code", "stockcode", "item"]),
            (DropColumn.Channel, ["sales_channel", "store", "source_channel"]),
            (DropColumn.Currency, ["currency_code", "ccy"]),
            (DropColumn.Returned, ["is_return", "return", "is_returned", "refunded", "returns"]));

        result[DropEntity.Events] = Map(
            (DropColumn.EventId, ["id", "eventid", "event_uuid"]),
            (DropColumn.CustomerId, CustomerIdAliases),
            (DropColumn.Timestamp, TimestampAliases),
            (DropColumn.Type, ["event", "event_type", "eventtype", "action", "event_name", "kind"]),
            (DropColumn.ProductId, ["product", "sku", "item_id", "productid", "item"]),
            (DropColumn.Value, ["amount", "event_value", "score"]),
            (DropColumn.Channel, ["source_channel", "medium"]));

        result[DropEntity.Feedback] = Map(
            (DropColumn.FeedbackId, ["id", "review_id", "ticket_id", "survey_id", "response_id"]),
            (DropColumn.CustomerId, CustomerIdAliases),
            (DropColumn.Timestamp, [.. TimestampAliases, "submitted_at", "review_date"]),
            (DropColumn.Text, ["comment", "comments", "review", "message", "feedback", "body", "review_text", "feedback_text", "verbatim"]),
            (DropColumn.Rating, ["score", "stars", "star_rating", "rate", "csat"]),
            (DropColumn.Channel, ["source_channel", "medium"]));

        result[DropEntity.Subscriptions] = Map(
            (DropColumn.CustomerId, CustomerIdAliases),
            (DropColumn.Plan, ["plan_name", "product", "tier", "subscription", "plan_id", "package"]),
            (DropColumn.StartDate, ["start", "started_at", "start_at", "begin_date", "from", "valid_from", "subscribed_at"]),
            (DropColumn.EndDate, ["end", "ended_at", "end_at", "cancel_date", "cancelled_at", "to", "valid_to", "expires_at", "expiry_date"]),
            (DropColumn.Amount, ["price", "fee", "mrr", "monthly_amount"]),
            (DropColumn.Period, ["billing_period", "interval", "billing_cycle", "frequency"]));

        return result;
    }

    private static Dictionary<string, DropColumn> Map(params (DropColumn Column, string[] Aliases)[] columns)
    {
        var map = new Dictionary<string, DropColumn>(StringComparer.Ordinal);
        foreach (var (column, aliases) in columns)
        {
            map[HeaderKey(NameOf(column))] = column;
            foreach (var alias in aliases)
            {
                map.TryAdd(HeaderKey(alias), column);
            }
        }

        return map;
    }
}
