using System.Diagnostics;
using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Testing;

namespace iCrm.Benchmarks;

/// <summary>
/// <c>ingest --file PATH --entity orders [--source pos] [--runs 1]</c>: the whole ingestion pipeline (read, validate,
/// resolve, group, apply to profiles) on one external file, streamed from disk, with the in-memory stores of the
/// <c>ingest</c> suite and a profile store that keeps nothing (as in a real run). So its throughput and peak memory
/// can be compared with another tool doing the same work on the very same file.
/// Metrics: <c>file_rows</c>, <c>file_rows_per_sec</c> (rows per wall second, median of runs), <c>file_rows_per_cpu_sec</c>,
/// <c>file_seconds</c>, <c>file_peak_rss_mb</c> (the process's peak working set: run with <c>--runs 1</c> for the first
/// pass alone), <c>file_rows_rejected</c>, <c>file_profile_writes</c>.
/// </summary>
public static class IngestFileBenchmark
{
    public static async Task<IReadOnlyDictionary<string, double>> RunAsync(BenchmarkOptions o)
    {
        var file = Path.GetFullPath(o.String("file", ""));
        if (!File.Exists(file))
        {
            throw new ArgumentException($"--file '{file}' does not exist.");
        }
        var entity = o.String("entity", "orders");
        var source = o.String("source", "pos");
        var runs = o.Int("runs", 1);
        // The drop path carries the source, the entity (its folder) and the format (the file's extension, .gz included).
        var blobPath = $"{source}/{entity}/{Path.GetFileName(file)}";
        if (!DropPath.TryParse(blobPath, out _, out var error))
        {
            throw new ArgumentException($"--entity '{entity}' / --file: {error}");
        }

        var seconds = new List<double>();
        var cpuSeconds = new List<double>();
        IngestionReport? report = null;
        for (var i = 0; i < runs; i++)
        {
            GC.Collect();
            using var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var stopwatch = Stopwatch.StartNew();
            report = await IngestAsync(file, blobPath);
            stopwatch.Stop();
            process.Refresh();
            if (report.Status != IngestionStatus.Completed)
            {
                throw new InvalidOperationException($"The file did not ingest: {report.Status} {report.FailureReason} {report.Error}");
            }
            seconds.Add(stopwatch.Elapsed.TotalSeconds);
            cpuSeconds.Add((process.TotalProcessorTime - cpu).TotalSeconds);
        }
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var wall = BenchmarkSuites.Median(seconds);
        return new Dictionary<string, double>
        {
            ["file_bytes"] = new FileInfo(file).Length,
            ["file_rows"] = report!.RowsRead,
            ["file_rows_accepted"] = report.RowsAccepted,
            ["file_rows_rejected"] = report.RowsRejected,
            ["file_profile_writes"] = report.StoreWrites,
            ["file_seconds"] = Math.Round(wall, 3),
            ["file_rows_per_sec"] = Math.Round(report.RowsRead / wall),
            ["file_rows_per_cpu_sec"] = Math.Round(report.RowsRead / BenchmarkSuites.Median(cpuSeconds)),
            ["file_peak_rss_mb"] = Math.Round(self.PeakWorkingSet64 / (1024.0 * 1024.0), 1),
            ["file_runs"] = runs,
        };
    }

    private static Task<IngestionReport> IngestAsync(string file, string blobPath)
    {
        var identities = new InMemoryIdentityStore();
        var time = TimeProvider.System;
        var pipeline = new IngestionPipeline(new FileDropSource(file, blobPath),
            new CustomerResolver(identities, new MatchKeyHasher("benchmark-pii-key-0123456789"), new IdentityResolver(), time),
            new WriteOnlyCustomerStore(), identities, new InMemoryIngestionLedger(), new InMemoryQuarantine(), new InMemoryAuditLog(),
            new ProfileHistory(new ProfileHistoryOptions()), new IngestionOptions { WriteConcurrency = 1 }, time);
        return pipeline.IngestAsync(blobPath);
    }

    /// <summary>Serves one file from disk as the drop at <paramref name="blobPath"/>, streamed (never held in memory).</summary>
    private sealed class FileDropSource(string file, string blobPath) : IDropSource
    {
        // A fresh ETag per run: each run is a new drop, not a re-delivery of the last one.
        private readonly string _etag = $"\"{Guid.NewGuid():N}\"";

        public Task<DropBlob?> GetAsync(string path, CancellationToken cancellationToken = default) =>
            Task.FromResult(path == blobPath ? new DropBlob("drops", path, _etag, new FileInfo(file).Length) : null);

        public Task<Stream> OpenReadAsync(DropBlob blob, CancellationToken cancellationToken = default) =>
            Task.FromResult<Stream>(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan));
    }
}
