using System.Diagnostics;
using iCrm.Ml.Recommendations;
using iCrm.Ml.Tests.Lifetime;
using Xunit.Abstractions;

namespace iCrm.Ml.Tests.Recommendations;

public class RecommenderMeasurement(ITestOutputHelper output)
{
    /// <summary>The hyperparameters shipped before the search (λ 100, Jaccard, 60-day half-life, 50 neighbours), measured
    /// by the same per-user protocol and split as the tuned trainer.</summary>
    public static readonly RecommenderOptions Before = new()
    {
        EaseLambdas = [100], Similarities = ["jaccard"], HalfLives = [60], Neighbours = 50, CoverageTolerance = 0, MaxEaseItems = 3_000,
    };

    [MeasurementFact]
    public void Measurement_ndcg_and_coverage_before_and_after_the_hyperparameter_search_on_generated_data()
    {
        foreach (var (shop, data) in new[]
        {
            ("dense: 20,000 customers, 6 orders", RecommendationSimulation.Generate(customers: 20_000, groups: 40, itemsPerGroup: 50, ordersPerCustomer: 6, seed: 1)),
            ("sparse: 5,000 customers, 3 orders", RecommendationSimulation.Generate(customers: 5_000, groups: 40, itemsPerGroup: 50, ordersPerCustomer: 3, seed: 2)),
        })
        foreach (var (name, options) in new[] { ("before", Before), ("after", new RecommenderOptions()) })
        {
            output.WriteLine(shop);
            var result = RecommenderTrainer.Train(data, options);
            var r = result.Report[0];
            output.WriteLine($"{name}: recs_ndcg10_generated={r.NdcgAt10:F4} precision@10={r.PrecisionAt10:F4} recall@10={r.RecallAt10:F4} coverage={r.Coverage:F3} popular_share={r.PopularShare:F3} " +
                $"chosen='{result.ChosenCandidate}' candidates={result.Metrics.Count} skipped={result.Skipped.Count} items={result.Items} report_customers={r.Customers} total_seconds={result.TotalSeconds:F1} ({Environment.ProcessorCount} cores)");
            foreach (var m in result.Metrics)
                output.WriteLine($"  {m.Candidate,-32} ndcg@10={m.NdcgAt10:F4} coverage={m.Coverage:F3} popular_share={m.PopularShare:F3} train_seconds={m.TrainSeconds:F2}");
        }
    }

    [MeasurementFact]
    public void Measurement_training_recommenders_on_2000_items_and_2m_order_lines()
    {
        var sw = Stopwatch.StartNew();
        var data = RecommendationSimulation.Generate(customers: 100_000, groups: 40, itemsPerGroup: 50, ordersPerCustomer: 10, seed: 1);
        output.WriteLine($"generated lines={data.Count} in {sw.Elapsed.TotalSeconds:F1}s");

        sw.Restart();
        var result = RecommenderTrainer.Train(data, new RecommenderOptions());
        output.WriteLine($"items={result.Items} customers={result.Customers} train_lines={result.TrainInteractions} holdout_lines={result.HoldoutInteractions} total_seconds={result.TotalSeconds:F2} chosen={result.ChosenCandidate}");
        foreach (var m in result.Metrics)
            output.WriteLine($"{m.Candidate,-32} train_seconds={m.TrainSeconds:F2} precision@10={m.PrecisionAt10:F4} recall@10={m.RecallAt10:F4} ndcg@10={m.NdcgAt10:F4} coverage={m.Coverage:F3} customers={m.Customers}");

        var indexed = InteractionData.Build(data);
        sw.Restart();
        var co = indexed.CoOccurrence();
        double coSeconds = sw.Elapsed.TotalSeconds;
        int n = indexed.Items.Length;
        var gram = new double[(long)n * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < co.Neighbours[i].Length; k++) gram[(long)i * n + co.Neighbours[i][k]] = co.Counts[i][k];
        for (int i = 0; i < n; i++) gram[(long)i * n + i] += 100;
        sw.Restart();
        SymmetricInverse.InvertInPlace(gram, n);
        output.WriteLine($"co_occurrence_seconds={coSeconds:F2} ease_inverse_seconds={sw.Elapsed.TotalSeconds:F2} (n={n}, {Environment.ProcessorCount} cores)");

        var model = result.Model;
        var histories = data.GroupBy(i => i.CustomerId).Take(2_000)
            .Select(g => g.Select(i => new Purchase(i.ItemId, i.Time)).ToList()).ToList();
        foreach (var h in histories.Take(200)) model.Recommend(h, 10); // warm-up
        sw.Restart();
        int count = 0;
        foreach (var h in histories) count += model.Recommend(h, 10).Count;
        double micros = sw.Elapsed.TotalMilliseconds * 1000 / histories.Count;
        output.WriteLine($"score_top10_microseconds_per_customer={micros:F1} (mean history {histories.Average(h => h.Count):F1} lines) recs={count}");
        Assert.True(result.Metrics.Single(m => m.Candidate == result.ChosenCandidate).NdcgAt10 >= result.Metrics.Max(m => m.NdcgAt10) * 0.99);
    }
}
