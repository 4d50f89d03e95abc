using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;
using iCrm.Testing;

namespace iCrm.Benchmarks;

/// <summary>
/// Suite <c>train</c>: one full training run (every model kind, registry, promotion and write-back) on a generated shop,
/// by default 100k customers, about 2M order lines, 2,000 products and 50k feedback texts, held in memory (the store
/// read is not measured: the snapshot stage is excluded). Options: <c>--customers</c>, <c>--products</c>, <c>--feedback</c>.
/// Metrics: <c>total_seconds</c> (all kinds + write-back), <c>train_seconds</c> (all kinds), <c>&lt;kind&gt;_seconds</c>,
/// <c>writeback_seconds</c>, data sizes, and each kind's promotion metric.
/// </summary>
public static class TrainBenchmark
{
    public static async Task<IReadOnlyDictionary<string, double>> RunAsync(BenchmarkOptions o)
    {
        var customers = o.Int("customers", 100_000);
        var products = o.Int("products", 2_000);
        var feedback = o.Int("feedback", 50_000);
        var asOf = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = Stopwatch.StartNew();
        var profiles = Shop.Generate(customers, products, feedback, asOf, seed: 42);
        var generateSeconds = clock.Elapsed.TotalSeconds;

        var store = new ReferenceCustomerStore(profiles);
        var registry = new InMemoryModelRegistry();
        var kinds = ModelRegistration.DefaultKinds();
        var champions = new ChampionModels(registry, kinds.Select(k => k.Loader), TimeProvider.System);
        var runner = new TrainingRunner(store, registry, registry, registry, kinds.Select(k => k.Trainer), kinds.Select(k => k.Loader), champions, TimeProvider.System);
        var run = await runner.RunAsync(new TrainingRunRecord { RunId = Guid.NewGuid().ToString("N"), Trigger = "benchmark", AsOf = asOf, RequestedAt = asOf });
        if (run.Status != TrainingRunStatus.Succeeded)
        {
            throw new InvalidOperationException($"Training failed: {run.Error}");
        }

        var metrics = new Dictionary<string, double>
        {
            ["customers"] = customers,
            ["order_lines"] = profiles.Sum(p => p.Orders.Count),
            ["products"] = products,
            ["feedback_texts"] = profiles.Sum(p => p.Feedback.Count),
            ["generate_seconds"] = Math.Round(generateSeconds, 2),
            ["snapshot_seconds"] = run.StageSeconds["snapshot"],
            ["writeback_seconds"] = run.StageSeconds["write-back"],
            ["predictions_written"] = run.PredictionsWritten,
        };
        double train = 0;
        foreach (var kind in ModelKinds.All)
        {
            metrics[$"{kind}_seconds"] = run.StageSeconds[kind];
            metrics[$"{kind}_{run.Models[kind].Metric}"] = Math.Round(run.Models[kind].Value, 4);
            train += run.StageSeconds[kind];
        }
        metrics["train_seconds"] = Math.Round(train, 2);
        metrics["total_seconds"] = Math.Round(train + run.StageSeconds["write-back"], 2);

        // Live scoring latency from the loaded champions (churn + CLV + segment + sentiment trend, no recommendations),
        // one profile at a time as the API does.
        var scoring = new iCrm.Ml.Scoring.ChampionScoring(champions);
        var request = new iCrm.Ml.Scoring.ScoreRequest();
        var sample = profiles.Where((_, i) => i % 10 == 0).Take(10_000).ToList();
        foreach (var p in sample.Take(1_000))
        {
            await scoring.ScoreAsync(p, asOf, request);
        }
        var latencies = new List<double>(sample.Count);
        foreach (var p in sample)
        {
            var started = Stopwatch.GetTimestamp();
            await scoring.ScoreAsync(p, asOf, request);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        latencies.Sort();
        metrics["score_p50_us"] = Math.Round(BenchmarkSuites.Percentile(latencies, 0.5), 1);
        metrics["score_p99_us"] = Math.Round(BenchmarkSuites.Percentile(latencies, 0.99), 1);
        if (await StoreReadRateAsync(profiles.Take(o.Int("store-profiles", 5_000)).ToList()) is { } rate)
        {
            metrics["store_read_profiles_per_sec"] = rate;
        }
        return metrics;
    }

    /// <summary>
    /// How fast a training run reads its snapshot from the customer store: the profiles are written to the local Cosmos
    /// server (when it is running; settings as for the integration tests) and read back with the snapshot query.
    /// </summary>
    private static async Task<double?> StoreReadRateAsync(List<CustomerProfile> profiles)
    {
        var cosmos = LocalStackSettings.Cosmos;
        var endpoint = new Uri(cosmos.Split(';').First(p => p.StartsWith("AccountEndpoint=", StringComparison.OrdinalIgnoreCase))["AccountEndpoint=".Length..]);
        try
        {
            using var probe = new System.Net.Sockets.TcpClient();
            await probe.ConnectAsync(endpoint.Host, endpoint.Port).WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or TimeoutException)
        {
            return null; // no local stack: the metric is left out
        }
        using var client = iCrm.Azure.Store.CosmosClients.Create(new iCrm.Azure.Store.CosmosStoreOptions { ConnectionString = cosmos },
            () => throw new InvalidOperationException("a connection string needs no credential"), []);
        var database = (await client.CreateDatabaseIfNotExistsAsync("icrm-benchmark")).Database;
        var container = (await database.CreateContainerIfNotExistsAsync(new Microsoft.Azure.Cosmos.ContainerProperties("customers-" + Guid.NewGuid().ToString("N")[..8], "/id"))).Container;
        try
        {
            await Parallel.ForEachAsync(profiles, new ParallelOptions { MaxDegreeOfParallelism = 16 },
                async (p, ct) => await container.UpsertItemAsync(p, new Microsoft.Azure.Cosmos.PartitionKey(p.Id), cancellationToken: ct));
            var clock = Stopwatch.StartNew();
            var read = 0;
            using var iterator = container.GetItemQueryIterator<CustomerProfile>(
                "SELECT * FROM c WHERE NOT IS_DEFINED(c.mergedInto)", requestOptions: new Microsoft.Azure.Cosmos.QueryRequestOptions { MaxItemCount = 500 });
            while (iterator.HasMoreResults)
            {
                read += (await iterator.ReadNextAsync()).Count;
            }
            return read == profiles.Count ? Math.Round(read / clock.Elapsed.TotalSeconds) : null;
        }
        finally
        {
            await container.DeleteContainerAsync();
        }
    }

    /// <summary>
    /// A shop in memory: each customer buys as a Poisson process (rate ~ Gamma) until dropping out (BG/NBD-like) over two
    /// years, from 1-3 favourite categories of a catalogue in 20 categories; satisfaction drives both dropout and ratings;
    /// feedback texts follow the rating. About 20 order lines per customer.
    /// </summary>
    private static class Shop
    {
        private static readonly string[] Good = ["great", "excellent", "love", "perfect", "fast delivery", "friendly staff", "recommended", "good value", "happy", "works well"];
        private static readonly string[] Bad = ["terrible", "broken", "late", "rude", "refund", "poor quality", "disappointed", "never again", "wrong item", "awful"];
        private static readonly string[] Neutral = ["the order", "my parcel", "this product", "the shop", "customer service", "the size", "the colour", "delivery"];

        public static List<CustomerProfile> Generate(int customers, int products, int feedbackTexts, DateTimeOffset end, int seed)
        {
            var rng = new Random(seed);
            var start = end.AddDays(-730);
            const int categories = 20;
            var perCategory = products / categories;
            var list = new List<CustomerProfile>(customers);
            var feedbackChance = 0.0;
            for (var c = 0; c < customers; c++)
            {
                var p = new CustomerProfile { Id = $"cust-{c:D7}" };
                var joined = start.AddDays(rng.NextDouble() * 600);
                p.SignupDate = DateOnly.FromDateTime(joined.UtcDateTime);
                var satisfaction = rng.NextDouble();
                p.Attributes["tier"] = rng.NextDouble() < 0.2 ? "gold" : "standard";
                var rate = Gamma(rng, 2.0) / 2.0 * 0.032; // orders per day, mean ~0.032 (12 a year)
                var dropout = 0.02 + 0.12 * (1 - satisfaction);
                var favourites = Enumerable.Range(0, rng.Next(1, 4)).Select(_ => rng.Next(categories)).ToArray();
                var t = joined;
                var orderNo = 0;
                var channel = rng.Next(3) switch { 0 => "web", 1 => "app", _ => "store" };
                while (t < end)
                {
                    var id = $"{p.Id}-{orderNo++}";
                    var lines = rng.Next(1, 5);
                    for (var l = 1; l <= lines; l++)
                    {
                        var category = favourites[rng.Next(favourites.Length)];
                        var item = category * perCategory + (int)(perCategory * Math.Pow(rng.NextDouble(), 2));
                        p.Orders.Add(new OrderLine(id, l, t, $"SKU-{item:D5}", 1, (decimal)Math.Round(5 + 60 * rng.NextDouble(), 2), channel, rng.NextDouble() < 0.03));
                    }
                    p.RecentEvents.Add(new CustomerEvent(t.AddHours(-1), "view", null, null, channel)); // browsing before the order
                    if (rng.NextDouble() < dropout)
                    {
                        break;
                    }
                    t = t.AddDays(-Math.Log(1 - rng.NextDouble()) / rate);
                }
                p.Orders.RemoveAll(l => l.Date >= end);
                p.RecentEvents.RemoveAll(e => e.Timestamp >= end);
                list.Add(p);
            }
            var orders = list.Sum(p => p.Orders.Count(l => l.Line == 1));
            feedbackChance = Math.Min(1, feedbackTexts / (double)Math.Max(1, orders));
            var rngText = new Random(seed + 1);
            foreach (var p in list)
            {
                foreach (var line in p.Orders)
                {
                    if (line.Line != 1 || rngText.NextDouble() >= feedbackChance)
                    {
                        continue;
                    }
                    var rating = Math.Clamp((int)Math.Round(1 + 4 * rngText.NextDouble() * 0.5 + 2 * rngText.NextDouble()), 1, 5);
                    var words = rating >= 4 ? Good : rating <= 2 ? Bad : (rngText.NextDouble() < 0.5 ? Good : Bad);
                    var text = $"{Neutral[rngText.Next(Neutral.Length)]} was {words[rngText.Next(words.Length)]}, {words[rngText.Next(words.Length)]}";
                    p.Feedback.Add(new FeedbackItem { Timestamp = line.Date.AddDays(3), Rating = rngText.NextDouble() < 0.9 ? rating : null, Channel = "web", Text = text });
                }
                p.Feedback.RemoveAll(f => f.Timestamp >= end);
            }
            return list;
        }

        private static double Gamma(Random rng, double shape)
        {
            // Marsaglia–Tsang (shape ≥ 1).
            var d = shape - 1.0 / 3;
            var c = 1 / Math.Sqrt(9 * d);
            while (true)
            {
                double x, v;
                do
                {
                    x = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                    v = 1 + c * x;
                }
                while (v <= 0);
                v = v * v * v;
                var u = rng.NextDouble();
                if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v))
                {
                    return d * v;
                }
            }
        }
    }
}
