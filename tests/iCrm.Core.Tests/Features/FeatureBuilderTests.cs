using System.Text.Json;
using iCrm.Core.Features;
using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Features;

public sealed class FeatureBuilderTests
{
    private static readonly DateTimeOffset Cutoff = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FeatureBuilder _builder = new(FeatureSchema.Default);

    private static CustomerProfile ProfileWithHistoryOnBothSidesOfTheCutoff()
    {
        var p = new CustomerProfile { Id = "c1", SignupDate = new DateOnly(2025, 1, 10) };
        p.OrderMonths.Add(new MonthlyOrders { Month = "2025-02", Orders = 2, Spend = 80m, Returns = 1 });
        p.OrderMonths.Add(new MonthlyOrders { Month = "2026-06", Orders = 5, Spend = 500m }); // the cutoff's month: after
        p.Orders.Add(new OrderLine("o1", 1, Cutoff.AddDays(-100), "p1", 1, 40m, "web", false));
        p.Orders.Add(new OrderLine("o2", 1, Cutoff.AddDays(-20), "p2", 1, 30m, "pos", true));
        p.Orders.Add(new OrderLine("o2", 2, Cutoff.AddDays(-20), "p3", 2, 20m, "pos", false));
        p.Orders.Add(new OrderLine("o3", 1, Cutoff.AddSeconds(-1), "p1", 1, 10m, "app", false));
        p.Orders.Add(new OrderLine("o4", 1, Cutoff, "p9", 1, 999m, "web", false)); // exactly at the cutoff: after
        p.Orders.Add(new OrderLine("o5", 1, Cutoff.AddDays(3), "p8", 1, 999m, "web", true));
        p.EventMonths.Add(new MonthlyEvents { Month = "2026-01", Type = "view", Count = 7 });
        p.RecentEvents.Add(new CustomerEvent(Cutoff.AddDays(-40), "view", "p1", null, "web"));
        p.RecentEvents.Add(new CustomerEvent(Cutoff.AddDays(-10), "call", null, null, "callcenter"));
        p.RecentEvents.Add(new CustomerEvent(Cutoff.AddDays(2), "call", null, null, "callcenter"));
        p.RecentEvents.Add(new CustomerEvent(Cutoff.AddDays(5), "email_open", null, null, "email"));
        p.Feedback.Add(new FeedbackItem { Timestamp = Cutoff.AddDays(-5), Rating = 2, Channel = "web", Text = "slow", Sentiment = 0.2 });
        p.Feedback.Add(new FeedbackItem { Timestamp = Cutoff.AddDays(1), Rating = 1, Channel = "web", Text = "leaving", Sentiment = 0.01 });
        p.Subscriptions.Add(new Subscription("gold", new DateOnly(2025, 3, 1), new DateOnly(2026, 7, 1), 10m, "month", "erp"));
        p.Subscriptions.Add(new Subscription("silver", new DateOnly(2026, 7, 1), null, 5m, "month", "erp"));
        return p;
    }

    private static CustomerProfile OnlyWhatWasKnownAtTheCutoff(CustomerProfile p) => new()
    {
        Id = p.Id,
        SignupDate = p.SignupDate,
        Orders = p.Orders.Where(o => o.Date < Cutoff).ToList(),
        OrderMonths = p.OrderMonths.Where(m => string.CompareOrdinal(m.Month, "2026-06") < 0).ToList(),
        EventMonths = p.EventMonths.ToList(),
        RecentEvents = p.RecentEvents.Where(e => e.Timestamp < Cutoff).ToList(),
        Feedback = p.Feedback.Where(f => f.Timestamp < Cutoff).ToList(),
        // The end date of gold (after the cutoff) was not known at the cutoff; silver had not started.
        Subscriptions = [p.Subscriptions[0] with { EndDate = null }],
    };

    [Fact]
    public void Nothing_on_or_after_the_cutoff_leaks_into_the_features()
    {
        var full = ProfileWithHistoryOnBothSidesOfTheCutoff();

        var withFuture = _builder.Build(full, Cutoff).Values;
        var withoutFuture = _builder.Build(OnlyWhatWasKnownAtTheCutoff(full), Cutoff).Values;

        Assert.Equal(withoutFuture, withFuture);
    }

    [Fact]
    public void Order_features_count_orders_not_lines_and_only_before_the_cutoff()
    {
        var f = _builder.Build(ProfileWithHistoryOnBothSidesOfTheCutoff(), Cutoff);

        Assert.Equal(5f, f["orders_lifetime"]); // o1, o2, o3 + 2 in the Feb-2025 bucket
        Assert.Equal(180f, f["spend_lifetime"]);
        Assert.Equal(2f, f["orders_30d"]); // o2, o3
        Assert.Equal(60f, f["spend_30d"]);
        Assert.Equal(2f, f["orders_90d"]);
        Assert.Equal(36f, f["avg_order_value"]);
        Assert.True(f["days_since_last_order"] < 0.001f);
        Assert.Equal(3f, f["distinct_products"]);
        Assert.Equal(2f / 5f, f["return_rate"], 5); // o2 + one bucket return
        Assert.Equal(1f / 3f, f["channel_share_store"], 5);
        Assert.Equal(0f, f["channel_share_other"]);
        Assert.Equal((float)(Cutoff - new DateTimeOffset(2025, 1, 10, 0, 0, 0, TimeSpan.Zero)).TotalDays, f["tenure_days"]);
        Assert.Equal(1f / 3f, f["orders_trend_90d"], 5); // 2 orders in the last 90 days, 1 (o1) in the 90 before
    }

    [Fact]
    public void Lines_of_one_order_make_one_order_even_when_other_orders_come_between_them()
    {
        var p = new CustomerProfile { Id = "c1" };
        p.Orders.Add(new OrderLine("o1", 1, Cutoff.AddDays(-10), "p1", 1, 10m, "web", false));
        p.Orders.Add(new OrderLine("o2", 1, Cutoff.AddDays(-200), "p2", 1, 20m, "app", false));
        p.Orders.Add(new OrderLine("o1", 2, Cutoff.AddDays(-50), "p3", 1, 30m, "store", true));

        var f = _builder.Build(p, Cutoff);

        Assert.Equal(2f, f["orders_lifetime"]);
        Assert.Equal(60f, f["spend_lifetime"]);
        Assert.Equal(1f, f["orders_90d"]); // o1 is dated by its earliest line (50 days ago)...
        Assert.Equal(40f, f["spend_90d"]); // ...with both of its lines' amounts
        Assert.Equal(0.5f, f["channel_share_web"]); // o1's channel is its first line's
        Assert.Equal(0.5f, f["channel_share_app"]);
        Assert.Equal(0f, f["channel_share_store"]);
        Assert.Equal(0.5f, f["return_rate"]);
        Assert.Equal(3f, f["distinct_products"]);
    }

    [Fact]
    public void Building_one_customer_after_another_carries_nothing_over()
    {
        var busy = ProfileWithHistoryOnBothSidesOfTheCutoff();
        var quiet = new CustomerProfile { Id = "c2" };
        quiet.Orders.Add(new OrderLine("o1", 1, Cutoff.AddDays(-3), "p7", 1, 5m, "web", false));
        var quietAlone = new FeatureBuilder(FeatureSchema.Default).Build(quiet, Cutoff).Values;
        var busyAlone = new FeatureBuilder(FeatureSchema.Default).Build(busy, Cutoff).Values;

        var first = _builder.Build(busy, Cutoff).Values;
        var second = _builder.Build(quiet, Cutoff).Values;
        var third = _builder.Build(busy, Cutoff).Values;

        Assert.Equal(busyAlone, first);
        Assert.Equal(quietAlone, second);
        Assert.Equal(busyAlone, third);
    }

    [Fact]
    public void Customers_built_on_several_threads_at_once_get_the_features_they_get_alone()
    {
        var profiles = Enumerable.Range(0, 40).Select(i =>
        {
            var p = new CustomerProfile { Id = $"c{i}" };
            for (var o = 0; o <= i; o++)
            {
                p.Orders.Add(new OrderLine($"o{o}", 1, Cutoff.AddDays(-5 - 7 * o), $"p{o % 5}", 1, 10m + o, o % 2 == 0 ? "web" : "app", o % 7 == 0));
            }
            return p;
        }).ToList();
        var alone = profiles.Select(p => _builder.Build(p, Cutoff).Values).ToList();

        var together = new float[profiles.Count][];
        Parallel.For(0, profiles.Count * 25, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            var i = k % profiles.Count;
            together[i] = _builder.Build(profiles[i], Cutoff).Values;
        });

        for (var i = 0; i < profiles.Count; i++)
        {
            Assert.Equal(alone[i], together[i]);
        }
    }

    [Fact]
    public void Event_feedback_and_subscription_features_use_only_the_past()
    {
        var f = _builder.Build(ProfileWithHistoryOnBothSidesOfTheCutoff(), Cutoff);

        Assert.Equal(1f, f["events_90d_view"]);
        Assert.Equal(1f, f["events_90d_call"]);
        Assert.Equal(0f, f["events_90d_email_open"]);
        Assert.Equal(2f, f["support_contacts_90d"]); // one call + one feedback
        Assert.Equal(10f, f["days_since_last_event"], 3);
        Assert.Equal(2f, f["avg_rating_365d"]);
        Assert.Equal(0.2f, f["avg_sentiment_365d"], 5);
        Assert.Equal(1f, f["negative_feedback_365d"]);
        Assert.Equal(1f, f["subscriptions_active"]);
        Assert.Equal(0f, f["subscriptions_ended"]);
        Assert.Equal(1f, f["subscriptions_total"]);
    }

    [Fact]
    public void Event_buckets_are_used_for_months_before_the_recent_events_start()
    {
        var p = new CustomerProfile { Id = "c" };
        p.EventMonths.Add(new MonthlyEvents { Month = "2026-03", Type = "email_open", Count = 4 });
        p.EventMonths.Add(new MonthlyEvents { Month = "2026-05", Type = "email_open", Count = 9 }); // covered by recent events
        p.RecentEvents.Add(new CustomerEvent(new DateTimeOffset(2026, 5, 3, 0, 0, 0, TimeSpan.Zero), "email_open", null, null, "email"));

        var f = _builder.Build(p, Cutoff);

        Assert.Equal(5f, f["events_90d_email_open"]);
    }

    [Fact]
    public void A_customer_without_history_gets_neutral_values()
    {
        var f = _builder.Build(new CustomerProfile { Id = "new" }, Cutoff);

        Assert.Equal(FixedFeatures.NeverDays, f["days_since_last_order"]);
        Assert.Equal(0f, f["orders_lifetime"]);
        Assert.Equal(3f, f["avg_rating_365d"]);
        Assert.Equal(0.5f, f["avg_sentiment_365d"]);
        Assert.All(f.Values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Every_feature_has_a_unique_name_and_a_readable_label()
    {
        var schema = FeatureSchema.Default;

        Assert.Equal(schema.Count, schema.Features.Select(x => x.Name).Distinct().Count());
        Assert.All(schema.Features, x => Assert.False(string.IsNullOrWhiteSpace(x.Label)));
        Assert.Equal("days since last order", schema.Features[schema.IndexOf("days_since_last_order")].Label);
    }
}
