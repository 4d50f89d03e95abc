using System.Diagnostics;
using iCrm.Ml.Segments;
using iCrm.Ml.Tests.Lifetime;
using Xunit.Abstractions;

namespace iCrm.Ml.Tests.Segments;

public class SegmentsMeasurement(ITestOutputHelper output)
{
    [MeasurementFact]
    public void Measurement_segmenting_100k_customers()
    {
        var rnd = new Random(4);
        var features = BehaviourFeatures.Describe(["web", "store"]);
        var customers = new List<SegmentCustomer>();
        for (int i = 0; i < 100_000; i++)
        {
            int type = rnd.Next(4);
            double recency = type switch { 0 => rnd.Next(30), 1 => 200 + rnd.Next(300), 2 => rnd.Next(90), _ => 60 + rnd.Next(200) };
            int orders = type switch { 0 => 8 + rnd.Next(10), 1 => 1, 2 => 1 + rnd.Next(3), _ => 3 + rnd.Next(4) };
            double aov = type == 0 ? 80 + rnd.Next(40) : 20 + rnd.Next(60);
            float web = type == 2 ? 0.9f : (float)rnd.NextDouble();
            float[] f = [(float)recency, (float)Math.Log(1 + orders), (float)Math.Log(1 + aov), (float)(recency + rnd.Next(700)), type == 3 ? 0.3f : 0.02f, web, 1 - web];
            customers.Add(new SegmentCustomer(new RfmInput($"c{i}", recency, orders, orders * aov), f, orders * aov, type == 1 ? 1 : 0));
        }
        var sw = Stopwatch.StartNew();
        var model = SegmentsTrainer.Train(customers, features);
        output.WriteLine($"customers=100000 segments_seconds={sw.Elapsed.TotalSeconds:F2} k={model.Clusters!.K} silhouette_by_k={string.Join(", ", model.Clusters.SilhouetteByK.Select(kv => $"{kv.Key}:{kv.Value:F3}"))}");
        for (int k = 0; k < model.Clusters.K; k++) output.WriteLine($"  cluster {k} size={model.Clusters.Sizes[k]} {model.Clusters.Describe(k)}");
        foreach (var s in model.RfmSummaries) output.WriteLine($"  {s.Segment,-20} n={s.Customers,6} avg={s.AverageValue,8:F1} churn={s.ChurnRate:F3}");
        sw.Restart();
        int sum = 0;
        foreach (var c in customers) sum += model.Clusters.Assign(c.Behaviour);
        output.WriteLine($"assign_microseconds={sw.Elapsed.TotalMilliseconds * 1000 / customers.Count:F3} checksum={sum}");
        Assert.Equal(100_000, model.RfmSummaries.Sum(s => s.Customers));
    }
}
