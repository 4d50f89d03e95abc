using iCrm.Core.Profiles;
using iCrm.Ml.Lifetime;

namespace iCrm.Ml.Tests.Lifetime;

public class CustomerSummarySpecification
{
    private static OrderLine Line(string order, string date, decimal amount, bool returned = false) =>
        new(order, 1, DateTimeOffset.Parse(date + "T10:00:00Z"), "P1", 1, amount, "web", returned);

    private static CustomerProfile Profile() => new()
    {
        Id = "c1",
        Orders =
        [
            Line("o1", "2026-01-05", 10),
            Line("o2", "2026-01-05", 5),          // same day as o1: one purchase day
            Line("o3", "2026-01-19", 20),
            Line("o4", "2026-02-02", 40, returned: true),
            Line("o5", "2026-03-30", 99),         // after the cutoff
        ],
    };

    [Fact]
    public void Orders_on_the_same_day_count_as_one_purchase_and_time_is_in_weeks()
    {
        var s = CustomerSummary.FromProfile(Profile(), DateTimeOffset.Parse("2026-03-02T00:00:00Z"))!;
        Assert.Equal(2, s.Frequency);           // 5 Jan, 19 Jan, 2 Feb: two repeats
        Assert.Equal(4.0, s.Recency, 9);        // 5 Jan -> 2 Feb
        Assert.Equal(8.0, s.Age, 9);            // 5 Jan -> 2 Mar
        Assert.Equal(10.0, s.MonetaryValue, 9); // (20 + 0 returned) / 2 repeats
        Assert.Equal(35.0, s.TotalSpend, 9);
    }

    [Fact]
    public void Orders_after_the_cutoff_are_holdout_not_history()
    {
        var profile = Profile();
        var cutoff = DateTimeOffset.Parse("2026-03-02T00:00:00Z");
        Assert.Equal(1, CustomerSummary.PurchaseDaysBetween(profile, cutoff, cutoff.AddDays(60)));
        Assert.Equal(99.0, CustomerSummary.SpendBetween(profile, cutoff, cutoff.AddDays(60)));
    }

    [Fact]
    public void Monthly_buckets_of_older_orders_become_purchase_days_spread_over_the_month()
    {
        var profile = Profile();
        profile.OrderMonths.Add(new MonthlyOrders { Month = "2025-11", Orders = 2, Spend = 60 });
        var s = CustomerSummary.FromProfile(profile, DateTimeOffset.Parse("2026-03-02T00:00:00Z"))!;
        Assert.Equal(4, s.Frequency);
        Assert.Equal(95.0, s.TotalSpend, 9);
        Assert.True(s.Age > 15, $"age {s.Age}");
    }

    [Fact]
    public void A_customer_who_bought_nothing_before_the_cutoff_has_no_summary()
    {
        Assert.Null(CustomerSummary.FromProfile(Profile(), DateTimeOffset.Parse("2026-01-01T00:00:00Z")));
    }
}
