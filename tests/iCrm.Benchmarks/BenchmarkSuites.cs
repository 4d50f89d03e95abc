using System.Globalization;

namespace iCrm.Benchmarks;

/// <summary>Options every suite understands, plus free-form <c>--name value</c> pairs a suite may read.</summary>
public sealed record BenchmarkOptions(string? Out, IReadOnlyDictionary<string, string> Values)
{
    public static BenchmarkOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            }
            values[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        }
        return new BenchmarkOptions(values.GetValueOrDefault("out"), values);
    }

    public int Int(string name, int fallback) =>
        Values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public string String(string name, string fallback) => Values.GetValueOrDefault(name) ?? fallback;

    public static object Machine() => new
    {
        cores = Environment.ProcessorCount,
        os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
    };
}

/// <summary>The benchmark suites by name. Each returns its metrics (name → value); medians where it repeats.</summary>
public static class BenchmarkSuites
{
    public static readonly IReadOnlyDictionary<string, Func<BenchmarkOptions, Task<IReadOnlyDictionary<string, double>>>> All =
        new Dictionary<string, Func<BenchmarkOptions, Task<IReadOnlyDictionary<string, double>>>>
        {
            ["ingest"] = IngestBenchmark.RunAsync,
            ["ingest-e2e"] = IngestEndToEndBenchmark.RunAsync,
            ["score"] = ScoreBenchmark.RunAsync,
            ["train"] = TrainBenchmark.RunAsync,
            ["train-scale"] = TrainScaleBenchmark.RunAsync,
            ["quality"] = QualityBenchmark.RunAsync,
            ["lists"] = ListBenchmark.RunAsync,
        };

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
