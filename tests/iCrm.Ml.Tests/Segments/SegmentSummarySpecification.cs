using iCrm.Ml.Segments;

namespace iCrm.Ml.Tests.Segments;

public class SegmentSummarySpecification
{
    [Fact]
    public void Summaries_give_size_value_and_churn_rate_per_segment_largest_first()
    {
        var summaries = SegmentSummaries.Summarise(
        [
            new("Champions", 100, 0),
            new("Lost", 5, 1),
            new("Champions", 300, 1),
            new("Lost", 15, 1),
            new("Champions", 200, null),
        ]);
        Assert.Equal(["Champions", "Lost"], summaries.Select(s => s.Segment));
        var champions = summaries[0];
        Assert.Equal(3, champions.Customers);
        Assert.Equal(600, champions.TotalValue);
        Assert.Equal(200, champions.AverageValue);
        Assert.Equal(0.5, champions.ChurnRate);    // the unknown one is left out
        Assert.Equal(1.0, summaries[1].ChurnRate);
    }

    [Fact]
    public void A_segment_with_no_known_churn_has_no_churn_rate()
    {
        Assert.Null(SegmentSummaries.Summarise([new("New", 10, null)])[0].ChurnRate);
    }
}
