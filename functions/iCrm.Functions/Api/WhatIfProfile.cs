using System.Globalization;
using iCrm.Core.Profiles;

namespace iCrm.Functions.Api;

/// <summary>
/// Body of <c>POST /api/score</c>: a what-if customer in the same JSON shape as a profile's history and attributes
/// (orders, monthly buckets, events, feedback, subscriptions, attributes, consent, signup date). Nothing is stored.
/// </summary>
public sealed class WhatIfProfile
{
    // The limits live in iCrm.Core (ProfileLimits), shared with ingestion, so a stored profile always fits a what-if document.
    public const int MaxOrders = ProfileLimits.MaxOrders;
    public const int MaxMonths = ProfileLimits.MaxMonths;
    public const int MaxEventMonths = ProfileLimits.MaxEventMonths;
    public const int MaxEvents = ProfileLimits.MaxEvents;
    public const int MaxFeedback = ProfileLimits.MaxFeedback;
    public const int MaxSubscriptions = ProfileLimits.MaxSubscriptions;
    public const int MaxAttributes = ProfileLimits.MaxAttributes;
    public const int MaxAttributeValueLength = ProfileLimits.MaxAttributeValueLength;
    public const int MaxFeedbackTextLength = ProfileLimits.MaxFeedbackTextLength;
    public const decimal MaxAmount = ProfileLimits.MaxAmount;
    public const decimal MaxQuantity = ProfileLimits.MaxQuantity;
    private static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The date to score as of (default: now); history after it is rejected.</summary>
    public DateTimeOffset? AsOf { get; set; }
    public DateOnly? SignupDate { get; set; }
    public Dictionary<string, string>? Attributes { get; set; }
    public Consent? Consent { get; set; }
    public ChurnLabel? ChurnLabel { get; set; }
    public List<OrderLine>? Orders { get; set; }
    public List<MonthlyOrders>? OrderMonths { get; set; }
    public List<MonthlyEvents>? EventMonths { get; set; }
    public List<CustomerEvent>? RecentEvents { get; set; }
    public List<FeedbackItem>? Feedback { get; set; }
    public List<Subscription>? Subscriptions { get; set; }

    /// <summary>Every problem with the document (empty when it can be scored), each naming the field and the rule.</summary>
    public List<string> Validate(DateTimeOffset now)
    {
        var errors = new List<string>();
        var asOf = AsOf ?? now;
        if (asOf < Earliest || asOf > now.AddDays(1))
        {
            errors.Add("asOf must be between 1970-01-01 and now.");
        }
        var latest = asOf.AddDays(1);
        void Date(DateTimeOffset value, string field)
        {
            if (value < Earliest || value > latest)
            {
                errors.Add($"{field} must be between 1970-01-01 and asOf.");
            }
        }
        void Text(string? value, string field, int max, bool required = true)
        {
            if (required && string.IsNullOrWhiteSpace(value))
            {
                errors.Add($"{field} is required.");
            }
            else if (value is not null && value.Length > max)
            {
                errors.Add($"{field} may be at most {max} characters.");
            }
        }
        void Count<T>(List<T>? list, string field, int max)
        {
            if (list is not null && list.Count > max)
            {
                errors.Add($"{field} may hold at most {max} items.");
            }
        }
        void Month(string? month, string field)
        {
            if (!DateOnly.TryParseExact(month + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first)
                || first.ToDateTime(TimeOnly.MinValue) < Earliest.UtcDateTime || first.ToDateTime(TimeOnly.MinValue) > latest.UtcDateTime)
            {
                errors.Add($"{field} must be a month 'yyyy-MM' between 1970-01 and asOf.");
            }
        }

        Count(Orders, "orders", MaxOrders);
        Count(OrderMonths, "orderMonths", MaxMonths);
        Count(EventMonths, "eventMonths", MaxEventMonths);
        Count(RecentEvents, "recentEvents", MaxEvents);
        Count(Feedback, "feedback", MaxFeedback);
        Count(Subscriptions, "subscriptions", MaxSubscriptions);
        if (errors.Count > 0)
        {
            return errors;
        }
        if (Attributes is { } attributes)
        {
            if (attributes.Count > MaxAttributes)
            {
                errors.Add($"attributes may hold at most {MaxAttributes} entries.");
            }
            foreach (var (key, value) in attributes)
            {
                if (!CustomerLookup.IsValidId(key))
                {
                    errors.Add("attribute names must be 1-64 letters, digits, '-' or '_'.");
                    break;
                }
                Text(value, $"attributes.{key}", MaxAttributeValueLength, required: false);
            }
        }
        if (SignupDate is { } signup)
        {
            Date(new DateTimeOffset(signup.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), "signupDate");
        }
        for (var i = 0; i < (Orders?.Count ?? 0); i++)
        {
            var o = Orders![i];
            var field = $"orders[{i}]";
            if (o is null)
            {
                errors.Add($"{field} is null.");
                continue;
            }
            Text(o.OrderId, $"{field}.orderId", 128);
            Text(o.ProductId, $"{field}.productId", 128, required: false);
            Text(o.Channel, $"{field}.channel", 64, required: false);
            Date(o.Date, $"{field}.date");
            if (o.Amount is < -MaxAmount or > MaxAmount)
            {
                errors.Add($"{field}.amount must be between -{MaxAmount:0} and {MaxAmount:0}.");
            }
            if (o.Quantity is < 0 or > MaxQuantity)
            {
                errors.Add($"{field}.quantity must be between 0 and {MaxQuantity:0}.");
            }
            if (o.Line is < 0 or > 10_000)
            {
                errors.Add($"{field}.line must be between 0 and 10000.");
            }
        }
        for (var i = 0; i < (OrderMonths?.Count ?? 0); i++)
        {
            var m = OrderMonths![i];
            Month(m?.Month, $"orderMonths[{i}].month");
            if (m is not null && (m.Orders < 0 || m.Returns < 0 || m.Orders > 100_000 || Math.Abs(m.Spend) > MaxAmount * 100))
            {
                errors.Add($"orderMonths[{i}] counts must be 0-100000 and spend within ±{MaxAmount * 100:0}.");
            }
        }
        for (var i = 0; i < (EventMonths?.Count ?? 0); i++)
        {
            var m = EventMonths![i];
            Month(m?.Month, $"eventMonths[{i}].month");
            Text(m?.Type, $"eventMonths[{i}].type", 64);
            if (m is not null && m.Count is < 0 or > 1_000_000)
            {
                errors.Add($"eventMonths[{i}].count must be between 0 and 1000000.");
            }
        }
        for (var i = 0; i < (RecentEvents?.Count ?? 0); i++)
        {
            var e = RecentEvents![i];
            if (e is null)
            {
                errors.Add($"recentEvents[{i}] is null.");
                continue;
            }
            Date(e.Timestamp, $"recentEvents[{i}].timestamp");
            Text(e.Type, $"recentEvents[{i}].type", 64);
            Text(e.ProductId, $"recentEvents[{i}].productId", 128, required: false);
            if (e.Value is < -MaxAmount or > MaxAmount)
            {
                errors.Add($"recentEvents[{i}].value must be between -{MaxAmount:0} and {MaxAmount:0}.");
            }
        }
        for (var i = 0; i < (Feedback?.Count ?? 0); i++)
        {
            var f = Feedback![i];
            if (f is null)
            {
                errors.Add($"feedback[{i}] is null.");
                continue;
            }
            Date(f.Timestamp, $"feedback[{i}].timestamp");
            Text(f.Text, $"feedback[{i}].text", MaxFeedbackTextLength, required: false);
            if (f.Rating is < 1 or > 5)
            {
                errors.Add($"feedback[{i}].rating must be between 1 and 5.");
            }
            if (f.Sentiment is < 0 or > 1)
            {
                errors.Add($"feedback[{i}].sentiment must be between 0 and 1.");
            }
        }
        for (var i = 0; i < (Subscriptions?.Count ?? 0); i++)
        {
            var s = Subscriptions![i];
            if (s is null)
            {
                errors.Add($"subscriptions[{i}] is null.");
                continue;
            }
            Text(s.Plan, $"subscriptions[{i}].plan", 64);
            Date(new DateTimeOffset(s.StartDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), $"subscriptions[{i}].startDate");
            if (s.EndDate is { } end && end < s.StartDate)
            {
                errors.Add($"subscriptions[{i}].endDate is before startDate.");
            }
            if (s.Amount is < 0 or > MaxAmount)
            {
                errors.Add($"subscriptions[{i}].amount must be between 0 and {MaxAmount:0}.");
            }
        }
        return errors;
    }

    /// <summary>The document as a transient profile (id <c>what-if</c>), history ordered as the store keeps it.</summary>
    public CustomerProfile ToProfile(DateTimeOffset now) => new()
    {
        Id = "what-if",
        SignupDate = SignupDate,
        Attributes = Attributes ?? [],
        Consent = Consent ?? new Consent(),
        ChurnLabel = ChurnLabel,
        Orders = [.. (Orders ?? []).OrderBy(o => o.Date).Select(o => o with { Channel = o.Channel ?? "what-if" })],
        OrderMonths = [.. (OrderMonths ?? []).OrderBy(m => m.Month, StringComparer.Ordinal)],
        EventMonths = EventMonths ?? [],
        RecentEvents = [.. (RecentEvents ?? []).OrderBy(e => e.Timestamp).Select(e => e with { Channel = e.Channel ?? "what-if" })],
        Feedback = [.. (Feedback ?? []).OrderBy(f => f.Timestamp)],
        Subscriptions = Subscriptions ?? [],
        CreatedAt = now,
        UpdatedAt = now,
    };
}
