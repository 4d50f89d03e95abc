using System.Text.Json;
using iCrm.Ml.Segments;

namespace iCrm.Ml.Tests.Segments;

public class SegmentsModelSpecification
{
    private static readonly ClusterFeature[] Features = [new("days_since_last_order", "lapsed", "recent"), new("orders", "frequent", "infrequent")];

    private static List<SegmentCustomer> Customers()
    {
        var rnd = new Random(2);
        var list = new List<SegmentCustomer>();
        for (int i = 0; i < 200; i++)
        {
            bool loyal = i % 2 == 0;
            double recency = loyal ? 5 + rnd.Next(10) : 200 + rnd.Next(100);
            int orders = loyal ? 10 + rnd.Next(5) : 1 + rnd.Next(2);
            list.Add(new SegmentCustomer(new RfmInput($"c{i}", recency, orders, orders * 50.0), [(float)recency, orders], orders * 50.0, loyal ? 0 : 1));
        }
        return list;
    }

    [Fact]
    public void Training_stores_rfm_clusters_and_summaries_that_cover_every_customer()
    {
        var model = SegmentsTrainer.Train(Customers(), Features, new ClusteringOptions { MinClusters = 2, MaxClusters = 4 });
        Assert.Equal(200, model.RfmSummaries.Sum(s => s.Customers));
        Assert.Equal(200, model.ClusterSummaries.Sum(s => s.Customers));
        Assert.NotNull(model.Clusters);
        Assert.All(model.RfmSummaries, s => Assert.Contains(s.Segment, RfmModel.SegmentNames));
        // Lapsed one-off buyers churned in this data; their cluster's churn rate says so.
        var lapsed = model.ClusterSummaries.Single(s => s.Segment.Contains("lapsed", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(1.0, lapsed.ChurnRate);
    }

    [Fact]
    public void A_stored_segments_model_assigns_a_customer_after_a_json_round_trip()
    {
        var model = SegmentsTrainer.Train(Customers(), Features, new ClusteringOptions { MinClusters = 2, MaxClusters = 4 });
        var back = JsonSerializer.Deserialize<SegmentsModel>(JsonSerializer.Serialize(model))!;
        var (rfm, cluster, description) = back.Assign(new RfmInput("x", 3, 14, 700), [3f, 14f]);
        Assert.Equal("Champions", rfm.Segment);
        Assert.NotNull(cluster);
        Assert.Contains("recent", description!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(model.Assign(new RfmInput("x", 3, 14, 700), [3f, 14f]), back.Assign(new RfmInput("x", 3, 14, 700), [3f, 14f]));
    }
}
