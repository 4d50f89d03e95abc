namespace iCrm.Core.Features;

/// <summary>
/// The fixed, behavioural part of the feature vector. The index constants are the layout; <see cref="All"/> names and
/// describes each slot in the same order. Changing either means bumping <see cref="FeatureSchema.CurrentVersion"/>.
/// </summary>
public static class FixedFeatures
{
    /// <summary>Order channels with their own share feature; everything else counts as "other".</summary>
    public static readonly IReadOnlyList<string> Channels = ["web", "app", "store", "callcenter"];

    /// <summary>Event types with their own count feature; everything else counts as "other".</summary>
    public static readonly IReadOnlyList<string> EventTypes = ["view", "click", "email_open", "email_click", "app_open", "visit", "call"];

    public const int DaysSinceLastOrder = 0;
    public const int Orders30 = 1;
    public const int Orders90 = 2;
    public const int Orders365 = 3;
    public const int OrdersLifetime = 4;
    public const int Spend30 = 5;
    public const int Spend90 = 6;
    public const int Spend365 = 7;
    public const int SpendLifetime = 8;
    public const int AverageOrderValue = 9;
    public const int TenureDays = 10;
    public const int SpendTrend90 = 11;
    public const int OrdersTrend90 = 12;
    public const int DistinctProducts = 13;
    public const int ReturnRate = 14;
    public const int ChannelShareStart = 15; // web, app, store, callcenter, other
    public const int EventsStart = ChannelShareStart + 5; // view … call, other (last 90 days)
    public const int EventsTotal90 = EventsStart + 8;
    public const int EventsTrend90 = EventsTotal90 + 1;
    public const int DaysSinceLastEvent = EventsTrend90 + 1;
    public const int SupportContacts90 = DaysSinceLastEvent + 1;
    public const int Feedback365 = SupportContacts90 + 1;
    public const int AverageRating365 = Feedback365 + 1;
    public const int AverageSentiment365 = AverageRating365 + 1;
    public const int NegativeFeedback365 = AverageSentiment365 + 1;
    public const int SubscriptionsActive = NegativeFeedback365 + 1;
    public const int SubscriptionsEnded = SubscriptionsActive + 1;
    public const int SubscriptionsTotal = SubscriptionsEnded + 1;
    public const int AgeYears = SubscriptionsTotal + 1;
    public const int Count = AgeYears + 1;

    /// <summary>"Never" for day counts (no order or event before the cutoff): ten years, so trees and linear models see "long ago".</summary>
    public const float NeverDays = 3650f;

    public static IReadOnlyList<FeatureDefinition> All { get; } = Describe();

    private static FeatureDefinition[] Describe()
    {
        var n = FeatureKind.Numeric;
        var list = new List<FeatureDefinition>
        {
            new("days_since_last_order", n, "days since last order"),
            new("orders_30d", n, "orders in the last 30 days"),
            new("orders_90d", n, "orders in the last 90 days"),
            new("orders_365d", n, "orders in the last 365 days"),
            new("orders_lifetime", n, "orders ever"),
            new("spend_30d", n, "spend in the last 30 days"),
            new("spend_90d", n, "spend in the last 90 days"),
            new("spend_365d", n, "spend in the last 365 days"),
            new("spend_lifetime", n, "spend ever"),
            new("avg_order_value", n, "average order value"),
            new("tenure_days", n, "days since first order or signup"),
            new("spend_trend_90d", n, "spend trend (last 90 days vs the 90 before, -1..1)"),
            new("orders_trend_90d", n, "order trend (last 90 days vs the 90 before, -1..1)"),
            new("distinct_products", n, "distinct products bought"),
            new("return_rate", n, "share of orders with a return"),
        };
        foreach (var channel in Channels)
        {
            list.Add(new($"channel_share_{channel}", n, $"share of orders via {channel}"));
        }

        list.Add(new("channel_share_other", n, "share of orders via other channels"));
        foreach (var type in EventTypes)
        {
            list.Add(new($"events_90d_{type}", n, $"'{type.Replace('_', ' ')}' events in the last 90 days"));
        }

        list.Add(new("events_90d_other", n, "other events in the last 90 days"));
        list.AddRange(
        [
            new("events_90d_total", n, "events in the last 90 days"),
            new("events_trend_90d", n, "activity trend (events last 90 days vs the 90 before, -1..1)"),
            new("days_since_last_event", n, "days since last activity"),
            new("support_contacts_90d", n, "support contacts (calls and feedback) in the last 90 days"),
            new("feedback_365d", n, "feedback given in the last 365 days"),
            new("avg_rating_365d", n, "average rating in the last 365 days (3 when none)"),
            new("avg_sentiment_365d", n, "average feedback sentiment in the last 365 days (0.5 when none)"),
            new("negative_feedback_365d", n, "negative feedback in the last 365 days"),
            new("subscriptions_active", n, "active subscriptions"),
            new("subscriptions_ended", n, "ended subscriptions"),
            new("subscriptions_total", n, "subscriptions ever started"),
            new("age_years", n, "age in years (0 when unknown)"),
        ]);
        if (list.Count != Count)
        {
            throw new InvalidOperationException($"Fixed feature list has {list.Count} entries, layout expects {Count}.");
        }

        return [.. list];
    }

    /// <summary>Maps a source's channel name to one of <see cref="Channels"/>, or -1 for "other".</summary>
    public static int ChannelIndex(string? channel)
    {
        switch (channel?.Trim().ToLowerInvariant())
        {
            case "web" or "online" or "website" or "ecommerce" or "shop_online":
                return 0;
            case "app" or "mobile" or "mobile_app" or "ios" or "android":
                return 1;
            case "store" or "pos" or "shop" or "retail" or "instore" or "in_store":
                return 2;
            case "callcenter" or "call_center" or "phone" or "telephone" or "call":
                return 3;
            default:
                return -1;
        }
    }

    /// <summary>Maps an event type (with common spellings) to one of <see cref="EventTypes"/>, or -1 for "other".</summary>
    public static int EventTypeIndex(string? type)
    {
        switch (type?.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_'))
        {
            case "view" or "page_view" or "pageview" or "product_view":
                return 0;
            case "click" or "link_click":
                return 1;
            case "email_open" or "email_opened" or "open":
                return 2;
            case "email_click" or "email_clicked":
                return 3;
            case "app_open" or "app_opened" or "app_launch" or "app_session":
                return 4;
            case "visit" or "store_visit":
                return 5;
            case "call" or "phone_call" or "support_call" or "callcenter":
                return 6;
            default:
                return -1;
        }
    }
}
