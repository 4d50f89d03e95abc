using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using iCrm.Ml;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Training;
using iCrm.Testing;

namespace iCrm.Benchmarks;

/// <summary>
/// Suite <c>train-scale</c>: the whole training (stream the store into the bounded sample, fit every kind, promote,
/// fan-out scoring and write-back, reduce) on generated customers (<see cref="GeneratedCustomerStore"/>: profiles are
/// computed from their index, so the store holds one byte per kind and customer, and the process's memory is the
/// training's and the scorers'). Each size runs in its own process, because the peak RSS (<c>/proc/self/status</c>
/// VmHWM) cannot be reset: the parent starts <c>train-scale --child --customers N</c> per size and collects the JSON.
/// A child fits once, then scores every slice with 1 worker, forgets the predictions and scores again with 2 workers
/// (a worker = one slice at a time, one profile at a time, as one ScoreSlice invocation on one instance core).
/// Options: <c>--sizes 100000,1000000</c>, <c>--workers 1,2</c>, <c>--max-training</c> (default 50,000, so both sizes
/// are sampled), <c>--slices</c> (64), <c>--products</c> (2,000), <c>--tuning-seconds</c> (recommenders, 30).
/// Metrics per size N: <c>N_fit_seconds</c> (read + sample + fit all kinds + promote), <c>N_peak_rss_mb_fit</c>,
/// <c>N_wW_score_customers_per_sec</c>, <c>N_wW_total_seconds</c> (fit + scoring with W workers),
/// <c>N_wW_peak_rss_mb</c> (VmHWM after scoring with W workers: it includes the fit's peak, VmHWM only grows).
/// </summary>
public static class TrainScaleBenchmark
{
    public static async Task<IReadOnlyDictionary<string, double>> RunAsync(BenchmarkOptions o)
    {
        if (o.Values.ContainsKey("child"))
        {
            return await ChildAsync(o);
        }
        var metrics = new Dictionary<string, double>();
        foreach (var size in o.String("sizes", "100000,1000000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
        {
            var args = new List<string> { Environment.ProcessPath!, typeof(TrainScaleBenchmark).Assembly.Location, "train-scale", "--child", "--customers", size.ToString(CultureInfo.InvariantCulture) };
            foreach (var name in new[] { "workers", "max-training", "slices", "products", "tuning-seconds" })
            {
                if (o.Values.TryGetValue(name, out var value))
                {
                    args.AddRange([$"--{name}", value]);
                }
            }
            var start = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in args.Skip(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? 1 : 2))
            {
                start.ArgumentList.Add(a);
            }
            using var child = Process.Start(start)!;
            var output = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            if (child.ExitCode != 0)
            {
                throw new InvalidOperationException($"train-scale child for {size} customers exited with {child.ExitCode}.");
            }
            var last = output.Trim().Split('\n')[^1];
            await Console.Error.WriteLineAsync(last); // each size as soon as it is measured: a later size may not finish
            using var json = JsonDocument.Parse(last);
            foreach (var m in json.RootElement.GetProperty("metrics").EnumerateObject())
            {
                metrics[$"{size}_{m.Name}"] = m.Value.GetDouble();
            }
        }
        return metrics;
    }

    private static async Task<IReadOnlyDictionary<string, double>> ChildAsync(BenchmarkOptions o)
    {
        var customers = o.Int("customers", 100_000);
        var workers = o.String("workers", "1,2").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToList();
        var asOf = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var store = new GeneratedCustomerStore(customers, o.Int("products", 2_000), asOf, seed: 42);
        var options = new ModelOptions
        {
            MaxTrainingCustomers = o.Int("max-training", 50_000),
            ScoreSlices = o.Int("slices", 64),
            RecommendationsTuningSeconds = o.Int("tuning-seconds", 30),
        };
        var registry = new InMemoryModelRegistry();
        var kinds = ModelRegistration.DefaultKinds(options);
        var champions = new ChampionModels(registry, kinds.Select(k => k.Loader), TimeProvider.System);
        var queue = new CollectingQueue();
        var runner = new TrainingRunner(store, registry, registry, registry, kinds.Select(k => k.Trainer), kinds.Select(k => k.Loader), champions,
            TimeProvider.System, options, queue);

        var clock = Stopwatch.StartNew();
        var run = await runner.RunAsync(new TrainingRunRecord { RunId = "fit" + customers, Trigger = "benchmark", AsOf = asOf, RequestedAt = asOf });
        var fitSeconds = clock.Elapsed.TotalSeconds;
        // The slices went to the collecting queue: the run is still running (stage write-back) until they are scored below.
        if (run.Status != TrainingRunStatus.Running || run.Scoring is null)
        {
            throw new InvalidOperationException($"Training failed: {run.Error}");
        }
        var metrics = new Dictionary<string, double>
        {
            ["customers"] = customers,
            ["sampled"] = run.Sample!.Sampled,
            ["fit_seconds"] = Math.Round(fitSeconds, 2),
            ["snapshot_seconds"] = run.StageSeconds["snapshot"],
            ["peak_rss_mb_fit"] = PeakRssMb(),
            ["slices"] = options.ScoreSlices,
        };
        foreach (var kind in ModelKinds.All)
        {
            metrics[$"{kind}_seconds"] = run.StageSeconds.GetValueOrDefault(kind);
            metrics[$"{kind}_promoted"] = run.Models.TryGetValue(kind, out var m) && m.Promoted ? 1 : 0;
        }

        foreach (var w in workers)
        {
            store.ResetPredictions();
            var results = new InProcessScoringResults();
            // One profile at a time per worker: a worker stands for one ScoreSlice invocation on one core.
            var scorer = new SliceScorer(store, champions, kinds.Select(k => k.Loader), results, registry, TimeProvider.System, concurrency: 1);
            var slices = queue.Messages.Select(m => m with { RunId = $"w{w}" }).ToList();
            await registry.SaveAsync(new TrainingRunRecord { RunId = $"w{w}", Trigger = "benchmark", AsOf = asOf, RequestedAt = asOf, Scoring = new ScoringProgress { Slices = slices.Count } });
            var fanOut = new InProcessScoreSliceQueue(scorer, workers: w);
            clock.Restart();
            await fanOut.EnqueueAsync(slices);
            var scoreSeconds = clock.Elapsed.TotalSeconds;
            var summary = await results.GetSummaryAsync($"w{w}") ?? throw new InvalidOperationException($"The reduce did not run with {w} workers ({fanOut.Poisoned.Count} slices failed).");
            if (summary.Totals.Customers != customers)
            {
                throw new InvalidOperationException($"Scored {summary.Totals.Customers} of {customers} customers.");
            }
            metrics[$"w{w}_score_seconds"] = Math.Round(scoreSeconds, 2);
            metrics[$"w{w}_score_customers_per_sec"] = Math.Round(customers / scoreSeconds, 0);
            metrics[$"w{w}_total_seconds"] = Math.Round(fitSeconds + scoreSeconds, 2);
            metrics[$"w{w}_predictions_written"] = store.PredictionWrites;
            metrics[$"w{w}_peak_rss_mb"] = PeakRssMb();
        }
        return metrics;
    }

    /// <summary>The process's peak resident set (VmHWM), in MB; NaN where /proc is missing.</summary>
    private static double PeakRssMb()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return double.NaN;
        }
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN
            : Math.Round(double.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024, 1);
    }

    /// <summary>Keeps the run's slices instead of sending them, so scoring can be timed apart from the fit.</summary>
    private sealed class CollectingQueue : IScoreSliceQueue
    {
        public List<ScoreSliceMessage> Messages { get; } = [];

        public bool CompletesInline => false;

        public Task EnqueueAsync(IReadOnlyList<ScoreSliceMessage> messages, CancellationToken cancellationToken = default)
        {
            Messages.AddRange(messages);
            return Task.CompletedTask;
        }
    }
}
