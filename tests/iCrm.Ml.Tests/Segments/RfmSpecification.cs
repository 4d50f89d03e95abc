using System.Text.Json;
using iCrm.Core.Profiles;
using iCrm.Ml.Segments;

namespace iCrm.Ml.Tests.Segments;

public class RfmSpecification
{
    // Ten customers with recency 1..10 days, 1..10 orders and spend 10..100: quintile cuts at 2.8, 4.6, 6.4, 8.2 (×10 for spend).
    private static readonly RfmModel Model = RfmModel.Fit(
        Enumerable.Range(1, 10).Select(i => new RfmInput($"c{i}", i, i, 10 * i)));

    [Fact]
    public void Quintile_boundaries_are_stored_so_one_customer_can_be_scored_later()
    {
        Assert.Equal([2.8, 4.6, 6.4, 8.2], Model.RecencyCuts.Select(c => Math.Round(c, 6)));
        Assert.Equal([28.0, 46.0, 64.0, 82.0], Model.MonetaryCuts.Select(c => Math.Round(c, 6)));
        var back = JsonSerializer.Deserialize<RfmModel>(JsonSerializer.Serialize(Model))!;
        var someone = new RfmInput("x", 3, 7, 50);
        Assert.Equal(Model.Score(someone), back.Score(someone));
    }

    [Theory]
    [InlineData(1, 10, 100, 5, 5, 5, "Champions")]
    [InlineData(1, 1, 10, 5, 1, 1, "New")]
    [InlineData(10, 10, 100, 1, 5, 5, "Can't lose them")]
    [InlineData(10, 1, 10, 1, 1, 1, "Lost")]
    [InlineData(5, 5, 50, 3, 3, 3, "Need attention")]
    [InlineData(4, 8, 70, 4, 4, 4, "Champions")]
    [InlineData(4, 1, 30, 4, 1, 2, "Potential loyalist")]
    [InlineData(9, 5, 50, 1, 3, 3, "At risk")]
    public void Known_customers_get_the_documented_scores_and_segment(double recencyDays, int orders, double spend, int r, int f, int m, string segment)
    {
        var score = Model.Score(new RfmInput("c", recencyDays, orders, spend));
        Assert.Equal((r, f, m), (score.R, score.F, score.M));
        Assert.Equal(segment, score.Segment);
    }

    [Fact]
    public void Every_cell_of_the_map_has_one_of_the_eleven_fixed_names_and_every_name_is_used()
    {
        var used = new HashSet<string>();
        for (int r = 1; r <= 5; r++)
            for (int fm = 1; fm <= 5; fm++)
            {
                var name = RfmModel.SegmentFor(r, fm);
                Assert.Contains(name, RfmModel.SegmentNames);
                used.Add(name);
            }
        Assert.Equal(11, used.Count);
    }

    [Fact]
    public void Rfm_inputs_come_from_a_profile_as_of_the_cutoff()
    {
        var profile = new CustomerProfile
        {
            Id = "c1",
            Orders =
            [
                new("o1", 1, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P1", 1, 30, "web", false),
                new("o1", 2, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P2", 1, 20, "web", true),
                new("o2", 1, DateTimeOffset.Parse("2026-02-21T00:00:00Z"), "P1", 1, 25, "store", false),
                new("o3", 1, DateTimeOffset.Parse("2026-03-05T00:00:00Z"), "P1", 1, 99, "store", false),
            ],
            OrderMonths = [new MonthlyOrders { Month = "2025-10", Orders = 3, Spend = 90 }],
        };
        var input = RfmInput.FromProfile(profile, DateTimeOffset.Parse("2026-03-01T00:00:00Z"))!;
        Assert.Equal(8, input.RecencyDays, 6);
        Assert.Equal(5, input.Orders);
        Assert.Equal(145, input.Spend, 6);
        Assert.Null(RfmInput.FromProfile(profile, DateTimeOffset.Parse("2025-09-01T00:00:00Z")));
    }

    [Fact]
    public void Rfm_counts_an_order_once_when_other_orders_come_between_its_lines()
    {
        var profile = new CustomerProfile
        {
            Id = "c1",
            Orders =
            [
                new("o1", 1, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P1", 1, 30, "web", false),
                new("o2", 1, DateTimeOffset.Parse("2026-02-10T00:00:00Z"), "P1", 1, 25, "store", false),
                new("o1", 2, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P2", 1, 20, "web", false),
            ],
        };
        var cutoff = DateTimeOffset.Parse("2026-03-01T00:00:00Z");

        var first = RfmInput.FromProfile(profile, cutoff)!;
        var again = RfmInput.FromProfile(profile, cutoff)!; // nothing is carried over from the call before

        Assert.Equal(2, first.Orders);
        Assert.Equal(75, first.Spend, 6);
        Assert.Equal(first, again);
    }

    [Theory]
    [InlineData("2025-10", true)]
    [InlineData("2025-13", false)]
    [InlineData("bad", false)]
    public void Only_well_formed_bucket_months_count_towards_rfm(string month, bool counted)
    {
        var profile = new CustomerProfile
        {
            Id = "c1",
            Orders = [new("o1", 1, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P1", 1, 30, "web", false)],
            OrderMonths = [new MonthlyOrders { Month = month, Orders = 3, Spend = 90 }],
        };

        var input = RfmInput.FromProfile(profile, DateTimeOffset.Parse("2026-03-01T00:00:00Z"))!;

        Assert.Equal(counted ? 4 : 1, input.Orders);
        Assert.Equal(counted ? 120 : 30, input.Spend, 6);
    }
}
