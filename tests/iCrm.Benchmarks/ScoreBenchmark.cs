using System.Diagnostics;
using System.Runtime;
using iCrm.Azure;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Training;
using iCrm.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace iCrm.Benchmarks;

/// <summary>
/// In-process scoring latency for one customer whose profile is already in memory (no store read): the app's own
/// registrations (so every model kind the app trains is trained and scored here too), in-memory stores, one training run,
/// then single-threaded calls of <see cref="ICustomerScoring.ScoreAsync"/> after a warm-up.
/// <code>dotnet run -c Release --project tests/iCrm.Benchmarks -- score [--customers 5000] [--calls 20000] [--seed 7]</code>
/// </summary>
public static class ScoreBenchmark
{
    public static async Task<IReadOnlyDictionary<string, double>> RunAsync(BenchmarkOptions o)
    {
        var customers = o.Int("customers", 5_000);
        var calls = o.Int("calls", 20_000);
        var seed = o.Int("seed", 7);
        var asOf = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Security:PiiKey"] = "benchmark-pii-key-0123456789",
            ["IcrmStorage"] = "UseDevelopmentStorage=true",
            ["IcrmCosmos"] = "AccountEndpoint=https://127.0.0.1:1/;AccountKey=bG9jYWw=;",
        });
        builder.AddIcrmServices();
        var store = new InMemoryCustomerStore();
        var registry = new InMemoryModelRegistry();
        builder.Services.RemoveAll<ICustomerStore>().AddSingleton<ICustomerStore>(store);
        builder.Services.RemoveAll<IModelRegistry>().AddSingleton<IModelRegistry>(registry);
        builder.Services.RemoveAll<ITrainingLease>().AddSingleton<ITrainingLease>(registry);
        builder.Services.RemoveAll<ITrainingRunLog>().AddSingleton<ITrainingRunLog>(registry);
        // The write-back scores its slices in this process, with results kept in memory: the storage queue and blobs the
        // app registers for IcrmStorage are not running here (enqueueing retried for about 20 s, then failed the run, and
        // no profile got its write-back).
        builder.Services.RemoveAll<IScoringResults>().AddSingleton<IScoringResults, InProcessScoringResults>();
        builder.Services.RemoveAll<IScoreSliceQueue>().AddSingleton<IScoreSliceQueue>(sp => new InProcessScoreSliceQueue(sp.GetRequiredService<SliceScorer>()));
        using var host = builder.Build();

        var profiles = Profiles(customers, seed, asOf);
        foreach (var profile in profiles)
        {
            await store.TryCreateAsync(profile);
        }
        var trainStarted = Stopwatch.StartNew();
        var run = await host.Services.GetRequiredService<TrainingRunner>().RunAsync(new TrainingRunRecord
        {
            RunId = Guid.NewGuid().ToString("N"),
            Trigger = "benchmark",
            RequestedAt = DateTimeOffset.UtcNow,
            AsOf = asOf,
        });
        var trainSeconds = trainStarted.Elapsed.TotalSeconds;
        if (!run.Models.TryGetValue(ModelKinds.Churn, out var churn) || !churn.Promoted)
        {
            throw new InvalidOperationException($"Churn was not trained: {run.Error ?? churn?.Reason}");
        }
        if (run.Error is not null)
        {
            throw new InvalidOperationException($"The training run failed: {run.Error}");
        }

        // Score the profiles as the API reads them after a training run: with the write-back (feedback sentiment) in place.
        profiles = [.. store.All().Where(p => p.MergedInto is null)];
        var scoring = host.Services.GetRequiredService<ICustomerScoring>();
        var plain = new ScoreRequest();
        var withRecs = new ScoreRequest(Recommendations: true, Top: 10);
        var sample = await scoring.ScoreAsync(profiles[0], asOf, withRecs);
        var score = await MeasureAsync(scoring, profiles, asOf, plain, calls);
        var recs = await MeasureAsync(scoring, profiles, asOf, withRecs, calls);

        return new Dictionary<string, double>
        {
            ["score_p50_us"] = Math.Round(score.P50, 2),
            ["score_p99_us"] = Math.Round(score.P99, 2),
            ["score_p999_us"] = Math.Round(score.P999, 2),
            ["score_alloc_bytes_per_call"] = Math.Round(score.BytesPerCall, 1),
            ["score_gen0_collections"] = score.Gen0,
            ["score_gen2_collections"] = score.Gen2,
            ["score_jit_compilations"] = score.JitCompilations,
            ["score_warmup_seconds"] = score.WarmupSeconds,
            ["score_with_recs_p50_us"] = Math.Round(recs.P50, 2),
            ["score_with_recs_p99_us"] = Math.Round(recs.P99, 2),
            ["score_with_recs_alloc_bytes_per_call"] = Math.Round(recs.BytesPerCall, 1),
            ["score_with_recs_gen0_collections"] = recs.Gen0,
            ["score_with_recs_jit_compilations"] = recs.JitCompilations,
            ["kinds_scored"] = sample.ModelVersions.Count,
            // CLV is part of every score once it has a champion. On these synthetic customers the BG/NBD fit lies far out
            // on its no-heterogeneity ridge (a ≈ 5e5, b ≈ 3e7); the latencies above include CLV only while this is 1.
            ["clv_available"] = sample.ModelVersions.ContainsKey(ModelKinds.Clv) ? 1 : 0,
            ["recommendations_available"] = sample.Recommendations is null ? 0 : 1,
            ["customers"] = customers,
            ["calls"] = calls,
            ["train_seconds"] = Math.Round(trainSeconds, 2),
        };
    }

    /// <summary>Latency percentiles of the measured calls, plus what they allocated on the calling thread and how many
    /// collections ran while they did (a gen0 collection during a call is the usual cause of a long tail).</summary>
    private sealed record Measurement(double P50, double P99, double P999, double BytesPerCall, int Gen0, int Gen2, long JitCompilations, double WarmupSeconds);

    private static async Task<Measurement> MeasureAsync(ICustomerScoring scoring, IReadOnlyList<CustomerProfile> profiles, DateTimeOffset asOf, ScoreRequest request, int calls)
    {
        // Steady state, not JIT warm-up: tiered compilation starts recompiling hot methods with full optimisation only
        // after 100 ms without new unoptimised code, so a fixed 2,000-call warm-up (~40 ms) ended before it began, and the
        // measured calls ran partly on tier-0 code while the JIT recompiled hundreds of methods on the other core. Keep
        // warming up until nothing has been compiled for a while (bounded), as a long-running API instance would be.
        var minimum = Math.Max(2_000, calls / 10);
        var warmup = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        var compiled = JitInfo.GetCompiledMethodCount();
        for (var i = 0; i < minimum || (quiet.ElapsedMilliseconds < 500 && warmup.Elapsed.TotalSeconds < 30); i++)
        {
            await scoring.ScoreAsync(profiles[i % profiles.Count], asOf, request);
            if (i % 256 == 0 && JitInfo.GetCompiledMethodCount() is var now && now != compiled)
            {
                compiled = now;
                quiet.Restart();
            }
        }
        var micros = new double[calls];
        var jit = JitInfo.GetCompiledMethodCount();
        var gen0 = GC.CollectionCount(0);
        var gen2 = GC.CollectionCount(2);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < calls; i++)
        {
            var profile = profiles[(int)((long)i * 7919 % profiles.Count)];
            var started = Stopwatch.GetTimestamp();
            await scoring.ScoreAsync(profile, asOf, request);
            micros[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        }
        // Every call completes synchronously (loaded champions), so the calling thread did all the allocating.
        var bytesPerCall = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / calls;
        gen0 = GC.CollectionCount(0) - gen0;
        gen2 = GC.CollectionCount(2) - gen2;
        jit = JitInfo.GetCompiledMethodCount() - jit;
        Array.Sort(micros);
        return new Measurement(BenchmarkSuites.Percentile(micros, 0.50), BenchmarkSuites.Percentile(micros, 0.99),
            BenchmarkSuites.Percentile(micros, 0.999), bytesPerCall, gen0, gen2, jit, Math.Round(warmup.Elapsed.TotalSeconds, 2));
    }

    /// <summary>Customers with three years of orders (some stop buying), events and rated feedback.</summary>
    public static List<CustomerProfile> Profiles(int count, int seed, DateTimeOffset asOf)
    {
        var random = new Random(seed);
        string[] eventTypes = ["view", "click", "email_open", "app_open"];
        var profiles = new List<CustomerProfile>(count);
        for (var c = 0; c < count; c++)
        {
            var start = asOf.AddDays(-1_095 + random.Next(0, 700));
            var stop = random.NextDouble() < 0.35 ? asOf.AddDays(-random.Next(120, 500)) : asOf;
            var gap = random.Next(10, 90);
            var taste = random.Next(0, 20) * 10;
            var profile = new CustomerProfile
            {
                Id = $"bench-{c:D6}",
                Identities = [new SourceIdentity("web", c.ToString(System.Globalization.CultureInfo.InvariantCulture))],
                SignupDate = DateOnly.FromDateTime(start.UtcDateTime),
                CreatedAt = start,
                UpdatedAt = asOf,
            };
            var n = 0;
            for (var day = start; day < stop && day < asOf; day = day.AddDays(gap + random.Next(0, gap)))
            {
                var product = $"P{taste + random.Next(0, 15):D3}";
                profile.Orders.Add(new OrderLine($"O{c}-{n++}", 1, day, product, 1 + random.Next(0, 3), Math.Round(10m + random.Next(0, 9000) / 100m, 2), "web", random.NextDouble() < 0.03));
            }
            foreach (var month in profile.Orders.Select(o => o.Date.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture)).Distinct())
            {
                profile.EventMonths.Add(new MonthlyEvents { Month = month, Type = eventTypes[random.Next(eventTypes.Length)], Count = random.Next(1, 30) });
            }
            if (random.NextDouble() < 0.3 && profile.Orders.Count > 0)
            {
                var rating = random.Next(1, 6);
                profile.Feedback.Add(new FeedbackItem
                {
                    Timestamp = profile.Orders[^1].Date.AddDays(2),
                    Channel = "email",
                    Rating = rating,
                    Text = rating >= 4 ? "great service, fast delivery" : "late delivery and poor support",
                });
            }
            profiles.Add(profile);
        }
        return profiles;
    }
}
