using iCrm.Core.Features;
using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Features;

public sealed class ChurnLabelerTests
{
    private static readonly DateTimeOffset Cutoff = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly ChurnLabeler _labeler = new();

    private static CustomerProfile WithOrdersAt(params int[] daysFromCutoff)
    {
        var p = new CustomerProfile { Id = "c" };
        foreach (var d in daysFromCutoff)
        {
            p.Orders.Add(new OrderLine($"o{d}", 1, Cutoff.AddDays(d), null, 1, 10m, "web", false));
        }

        return p;
    }

    [Fact]
    public void A_buyer_with_no_purchase_in_the_window_after_the_cutoff_churned()
    {
        Assert.Equal(new ChurnOutcome(true, ChurnLabelSource.Transactional), _labeler.Label(WithOrdersAt(-30, 95), Cutoff));
    }

    [Fact]
    public void A_buyer_who_buys_again_within_the_window_is_retained()
    {
        Assert.Equal(new ChurnOutcome(false, ChurnLabelSource.Transactional), _labeler.Label(WithOrdersAt(-30, 0), Cutoff));
        Assert.Equal(new ChurnOutcome(false, ChurnLabelSource.Transactional), _labeler.Label(WithOrdersAt(-30, 89), Cutoff));
    }

    [Fact]
    public void The_window_is_configurable()
    {
        var shortWindow = new ChurnLabeler(new ChurnLabelOptions { WindowDays = 30 });

        Assert.True(shortWindow.Label(WithOrdersAt(-30, 45), Cutoff)!.Churned);
        Assert.False(_labeler.Label(WithOrdersAt(-30, 45), Cutoff)!.Churned);
    }

    [Fact]
    public void Customers_without_an_order_before_the_cutoff_get_no_label()
    {
        Assert.Null(_labeler.Label(WithOrdersAt(10), Cutoff));
        Assert.Null(_labeler.Label(new CustomerProfile { Id = "x" }, Cutoff));
    }

    [Fact]
    public void Folded_order_months_count_as_history_before_the_cutoff()
    {
        var p = new CustomerProfile { Id = "c" };
        p.OrderMonths.Add(new MonthlyOrders { Month = "2025-11", Orders = 1, Spend = 5m });

        Assert.Equal(new ChurnOutcome(true, ChurnLabelSource.Transactional), _labeler.Label(p, Cutoff));
    }

    [Fact]
    public void An_explicit_label_wins_and_is_timed_by_churned_at()
    {
        var p = WithOrdersAt(-30, 10);
        p.ChurnLabel = new ChurnLabel(true, new DateOnly(2026, 7, 15), "crm");

        Assert.Equal(new ChurnOutcome(true, ChurnLabelSource.Explicit), _labeler.Label(p, Cutoff));

        p.ChurnLabel = new ChurnLabel(true, new DateOnly(2026, 12, 1), "crm");
        Assert.Equal(new ChurnOutcome(false, ChurnLabelSource.Explicit), _labeler.Label(p, Cutoff));

        p.ChurnLabel = new ChurnLabel(true, new DateOnly(2026, 1, 1), "crm");
        Assert.Null(_labeler.Label(p, Cutoff)); // gone before the cutoff
    }

    [Fact]
    public void Subscriptions_that_all_end_within_the_window_mean_churn()
    {
        var p = WithOrdersAt(-30, 10);
        p.Subscriptions.Add(new Subscription("gold", new DateOnly(2025, 1, 1), new DateOnly(2026, 7, 1), 10m, "month", "erp"));

        Assert.Equal(new ChurnOutcome(true, ChurnLabelSource.Subscription), _labeler.Label(p, Cutoff));

        p.Subscriptions.Add(new Subscription("silver", new DateOnly(2026, 6, 20), null, 5m, "month", "erp"));
        Assert.Equal(new ChurnOutcome(false, ChurnLabelSource.Subscription), _labeler.Label(p, Cutoff));
    }
}
