using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Azure;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace iCrm.Benchmarks;

/// <summary>
/// The lists a dashboard is built on, through HTTP against a running app on the local stack: loads profiles with written-back
/// predictions straight into the local Cosmos server (through the app's store, concurrently), then times GET requests
/// (whole response read) one at a time, scenarios interleaved, after a warm-up, and reports p50/p95 in milliseconds.
/// <code>
/// export AZURITE_BLOB_PORT=.. COSMOS_PORT=.. ICRM_PORT=..; . scripts/local-env.sh
/// dotnet run -c Release --project tests/iCrm.Benchmarks -- lists --customers 100000 [--api http://127.0.0.1:$ICRM_PORT/api]
///     [--runs 30] [--load false] [--key API_KEY] [--out lists.json]
/// </code>
/// <c>--load false</c> measures data already loaded (e.g. an older build of the app against the same server).
/// </summary>
public static class ListBenchmark
{
    private static readonly (string Name, string Path)[] Scenarios =
    [
        ("top50_churn", "customers?sort=churn&pageSize=50"),
        ("top50_churn_page2", "customers?sort=churn&pageSize=50&continuationToken={token}"),
        ("segment_page", "customers?segment=At%20risk&pageSize=50"),
        ("segment_sorted_by_churn", "customers?segment=At%20risk&sort=churn&pageSize=50"),
        ("filtered_sorted", "customers?segment=Champions&minClv=200&sort=clv&pageSize=50"),
        ("marketing_email_by_churn", "customers?purpose=marketing&channel=email&sort=churn&pageSize=50"),
        ("ingestions_page", "ingestions?pageSize=50"),
        ("models_page", "models"),
    ];

    private static readonly string[] Segments = ["Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention",
        "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost"];

    public static async Task<IReadOnlyDictionary<string, double>> RunAsync(BenchmarkOptions o)
    {
        var customers = o.Int("customers", 100_000);
        var runs = o.Int("runs", 30);
        var api = o.String("api", $"http://127.0.0.1:{Environment.GetEnvironmentVariable("ICRM_PORT") ?? "7071"}/api").TrimEnd('/') + "/";
        var only = o.String("only", "");
        var metrics = new Dictionary<string, double> { ["customers"] = customers, ["runs"] = runs };
        if (o.String("load", "true") == "true")
        {
            var seconds = await LoadAsync(o, customers);
            metrics["load_seconds"] = Math.Round(seconds, 1);
        }

        using var http = new HttpClient { BaseAddress = new Uri(api), Timeout = TimeSpan.FromMinutes(10) };
        if (o.Values.TryGetValue("key", out var key))
        {
            http.DefaultRequestHeaders.Add("x-api-key", key);
        }
        var first = await http.GetFromJsonAsync<JsonObject>(Scenarios[0].Path);
        var token = Uri.EscapeDataString(first?["continuationToken"]?.GetValue<string>() ?? "");
        var chosen = Scenarios.Where(s => only.Length == 0 || only.Split(',').Contains(s.Name)).ToList();
        var times = chosen.ToDictionary(s => s.Name, _ => new List<double>());
        for (var run = -2; run < runs; run++)
        {
            foreach (var (name, path) in chosen)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path.Replace("{token}", token, StringComparison.Ordinal));
                await response.Content.ReadAsByteArrayAsync();
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{name}: GET {path} answered {(int)response.StatusCode}");
                }
                if (run >= 0)
                {
                    times[name].Add(ms);
                }
            }
        }
        foreach (var (name, list) in times)
        {
            var sorted = list.Order().ToList();
            metrics[$"{name}_p50_ms"] = Math.Round(BenchmarkSuites.Percentile(sorted, 0.50), 1);
            metrics[$"{name}_p95_ms"] = Math.Round(BenchmarkSuites.Percentile(sorted, 0.95), 1);
        }
        return metrics;
    }

    /// <summary>Writes the profiles (and 500 drop reports) through the app's own stores, 64 at a time.</summary>
    private static async Task<double> LoadAsync(BenchmarkOptions o, int customers)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Security:PiiKey"] = "benchmark-pii-key-0123456789",
            ["IcrmStorage"] = o.String("storage", Environment.GetEnvironmentVariable("ICRM_LOCAL_STORAGE") ?? "UseDevelopmentStorage=true"),
            ["IcrmCosmos"] = o.String("cosmos", Environment.GetEnvironmentVariable("ICRM_LOCAL_COSMOS") ?? throw new InvalidOperationException("--cosmos or ICRM_LOCAL_COSMOS")),
            ["IcrmCosmos:createIfMissing"] = "true",
        });
        builder.AddIcrmServices();
        using var host = builder.Build();
        var store = host.Services.GetRequiredService<ICustomerStore>();
        var ledger = host.Services.GetRequiredService<IIngestionLedger>();
        var started = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, customers), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            await store.TryCreateAsync(Profile(i), ct));
        await Parallel.ForEachAsync(Enumerable.Range(0, 500), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await ledger.UpsertAsync(new IngestionReport
            {
                Id = $"drop{i:x28}",
                BlobPath = $"drops/web/orders/export-{i:0000}.csv",
                ETag = "0x1",
                Source = "web",
                Entity = "orders",
                Status = IngestionStatus.Completed,
                RowsRead = 1000,
                RowsAccepted = 990,
                RowsRejected = 10,
                RejectedByReason = new() { ["amount_not_a_number"] = 10 },
            }, ct));
        return started.Elapsed.TotalSeconds;
    }

    /// <summary>A small profile with the three predictions training writes back; deterministic in <paramref name="i"/>.</summary>
    private static CustomerProfile Profile(int i)
    {
        var random = new Random(i);
        var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var churn = Math.Round(random.NextDouble(), 6);
        var clv = Math.Round(random.NextDouble() * random.NextDouble() * 2_000, 2);
        var profile = new CustomerProfile
        {
            Id = $"bench-{i:000000}",
            Identities = [new SourceIdentity(i % 3 == 0 ? "pos" : "web", i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            Contact = new ContactDetails { Email = $"customer{i}@example.test", FirstName = "Ada", City = "Leeds", Country = "GB" },
            Consent = new Consent { Email = random.Next(3) != 0, Sms = random.Next(4) == 0, Profiling = random.Next(50) == 0 ? false : null },
            CreatedAt = at.AddDays(-random.Next(1000)),
            UpdatedAt = at,
            Orders = [.. Enumerable.Range(0, 3).Select(k => new OrderLine($"o{i}-{k}", 1, at.AddDays(-random.Next(700)), "p" + random.Next(500), 1, 10 + random.Next(200), "web", false))],
        };
        profile.Predictions["churn"] = new Prediction("churn-v1", at, churn, churn >= 0.7 ? "high" : churn >= 0.4 ? "medium" : "low",
            [new Factor("recency_days", "days since last order", 0.4), new Factor("orders_365d", "orders in the last year", -0.2)]);
        profile.Predictions["clv"] = new Prediction("clv-v1", at, clv, null, []);
        profile.Predictions["segments"] = new Prediction("segments-v1", at, random.Next(6), Segments[random.Next(Segments.Length)], []);
        return profile;
    }
}
