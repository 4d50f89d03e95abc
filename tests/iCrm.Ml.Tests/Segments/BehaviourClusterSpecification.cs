using System.Text.Json;
using iCrm.Core.Profiles;
using iCrm.Ml.Segments;

namespace iCrm.Ml.Tests.Segments;

public class BehaviourClusterSpecification
{
    private static readonly ClusterFeature[] Features =
    [
        new("days_since_last_order", "lapsed", "recent"),
        new("orders", "frequent", "infrequent"),
        new("spend", "high spend", "low spend"),
    ];

    /// <summary>Three planted groups: loyal big spenders (500), lapsed one-off buyers (300), recent occasional buyers (200).</summary>
    private static List<float[]> PlantedCustomers(int seed)
    {
        var rnd = new Random(seed);
        float Noise(double sd) => (float)((rnd.NextDouble() - 0.5) * 2 * sd);
        var rows = new List<float[]>();
        for (int i = 0; i < 500; i++) rows.Add([10 + Noise(5), 20 + Noise(3), 900 + Noise(100)]);
        for (int i = 0; i < 300; i++) rows.Add([300 + Noise(30), 1 + Math.Abs(Noise(1)), 40 + Noise(10)]);
        for (int i = 0; i < 200; i++) rows.Add([30 + Noise(10), 4 + Noise(1), 150 + Noise(30)]);
        return rows;
    }

    [Fact]
    public void Planted_groups_are_found_and_k_is_chosen_by_the_best_silhouette()
    {
        var model = BehaviourClustering.Fit(PlantedCustomers(1), Features);
        Assert.Equal(3, model.K);
        Assert.Equal([500, 300, 200], model.Sizes);
        Assert.Equal(model.SilhouetteByK.MaxBy(kv => kv.Value).Key, model.K);
        Assert.Contains("silhouette", model.Criterion);
    }

    [Fact]
    public void Each_cluster_is_described_in_plain_words_from_its_centroid()
    {
        var model = BehaviourClustering.Fit(PlantedCustomers(1), Features);
        Assert.Contains("frequent", model.Describe(0), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("high spend", model.Describe(0), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("infrequent", model.Describe(0), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("lapsed", model.Describe(1), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("low spend", model.Describe(1), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_same_seed_gives_the_same_clusters_and_descriptions()
    {
        var a = BehaviourClustering.Fit(PlantedCustomers(1), Features);
        var b = BehaviourClustering.Fit(PlantedCustomers(1), Features);
        Assert.Equal(a.Descriptions, b.Descriptions);
        Assert.Equal(JsonSerializer.Serialize(a.Centroids), JsonSerializer.Serialize(b.Centroids));
    }

    [Fact]
    public void A_new_customer_is_assigned_to_the_nearest_cluster_also_after_a_json_round_trip()
    {
        var model = BehaviourClustering.Fit(PlantedCustomers(1), Features);
        var back = JsonSerializer.Deserialize<BehaviourClusterModel>(JsonSerializer.Serialize(model))!;
        float[] bigSpender = [5, 25, 1000];
        float[] lapsed = [320, 1, 35];
        Assert.Equal(0, back.Assign(bigSpender));
        Assert.Equal(1, back.Assign(lapsed));
        Assert.Equal(model.Descriptions, back.Descriptions);
        Assert.Throws<ArgumentException>(() => model.Assign([1f, 2f]));
    }

    [Fact]
    public void A_centroid_near_the_mean_on_every_feature_is_called_average()
    {
        Assert.Equal("Close to average on every measure", BehaviourClustering.Describe([0.1, -0.2, 0.3], Features, 0.5));
        Assert.Equal("Recent, high spend", BehaviourClustering.Describe([-1.5, 0.1, 0.9], Features, 0.5));
    }

    [Fact]
    public void Behaviour_features_come_from_a_profile_with_a_channel_mix()
    {
        var profile = new CustomerProfile
        {
            Id = "c1",
            Orders =
            [
                new("o1", 1, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "P1", 1, 40, "web", false),
                new("o1", 2, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "P2", 1, 60, "web", true),
                new("o2", 1, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P1", 1, 60, "store", false),
            ],
        };
        var names = BehaviourFeatures.Describe(["web", "store"]);
        var f = BehaviourFeatures.FromProfile(profile, DateTimeOffset.Parse("2026-03-01T00:00:00Z"), ["web", "store"])!;
        Assert.Equal(names.Count, f.Length);
        Assert.Equal(28, f[0]);                                  // days since 1 Feb
        Assert.Equal(Math.Log(3), f[1], 5);                      // two orders
        Assert.Equal(Math.Log(1 + 50), f[2], 5);                 // 100 kept spend / 2 orders
        Assert.Equal(59, f[3]);                                  // tenure since 1 Jan
        Assert.Equal(1f / 3, f[4], 5);                           // one of three lines returned
        Assert.Equal(2f / 3, f[5], 5);
        Assert.Equal(1f / 3, f[6], 5);
    }

    [Fact]
    public void Behaviour_features_count_an_order_once_when_other_orders_come_between_its_lines()
    {
        var profile = new CustomerProfile
        {
            Id = "c1",
            Orders =
            [
                new("o1", 1, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "P1", 1, 40, "web", false),
                new("o2", 1, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P1", 1, 60, "store", false),
                new("o1", 2, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "P2", 1, 50, "web", false),
            ],
            OrderMonths = [new MonthlyOrders { Month = "2025-11", Orders = 2, Spend = 10 }],
        };
        var cutoff = DateTimeOffset.Parse("2026-03-01T00:00:00Z");

        var f = BehaviourFeatures.FromProfile(profile, cutoff, ["web", "store"])!;
        var again = BehaviourFeatures.FromProfile(profile, cutoff, ["web", "store"])!;

        Assert.Equal(Math.Log(1 + 4), f[1], 5);           // o1, o2 and the bucket's two
        Assert.Equal(Math.Log(1 + 160.0 / 4), f[2], 5);
        Assert.Equal(f, again);                          // nothing is carried over from the call before
    }
}
