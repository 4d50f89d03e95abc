using System.Diagnostics;
using iCrm.Azure;
using iCrm.Azure.Connections;
using iCrm.Core.Ingestion;
using iCrm.DataGen;
using iCrm.Testing;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace iCrm.Benchmarks;

/// <summary>
/// Suite <c>ingest-e2e</c> (local stack running: infra/local/start.sh): generated multi-channel drops uploaded to
/// Azurite and ingested through the real adapters (blob streaming, Cosmos on the local server), in process.
/// Metrics: drop-to-profiles rows per second (wall) and Cosmos writes per 1,000 rows. <c>--part customers</c> measures the
/// customers drops alone (identity resolution against the store), <c>--customers N</c> sets the data set's size.
/// Connection settings as for the integration tests: environment variables IcrmStorage / IcrmCosmos, else the defaults.
/// </summary>
public static class IngestEndToEndBenchmark
{
    public static async Task<IReadOnlyDictionary<string, double>> RunAsync(BenchmarkOptions o)
    {
        var customers = o.Int("customers", 2000);
        var settings = new Dictionary<string, string?>
        {
            ["IcrmStorage"] = LocalStackSettings.Storage,
            ["IcrmCosmos"] = LocalStackSettings.Cosmos,
            ["IcrmCosmos:createIfMissing"] = "true",
            ["Security:PiiKey"] = "benchmark-pii-key-0123456789",
        };
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddIcrmServices();
        var counter = new WriteCounter();
        builder.Services.AddSingleton(new CosmosHandlerFactory(() => counter));
        using var host = builder.Build();
        var pipeline = host.Services.GetRequiredService<IngestionPipeline>();

        var part = o.String("part", "all");
        var dir = Directory.CreateTempSubdirectory("icrm-e2e-").FullName;
        try
        {
            var paths = await GenerateAndUploadAsync(Path.Combine(dir, "main"), customers, Environment.TickCount, settings["IcrmStorage"]!);
            if (part == "customers")
            {
                return await CustomersOnlyAsync(pipeline, counter, paths, Path.Combine(dir, "warm-up"), settings["IcrmStorage"]!, customers);
            }

            await pipeline.IngestAsync(paths[0]); // warm-up: connections, database and containers
            counter.Reset();
            long rows = 0, profileWrites = 0;
            var stopwatch = Stopwatch.StartNew();
            foreach (var path in paths.Skip(1))
            {
                var report = await pipeline.IngestAsync(path);
                rows += report.RowsRead;
                profileWrites += report.StoreWrites;
            }
            stopwatch.Stop();
            var metrics = new Dictionary<string, double>
            {
                ["customers"] = customers,
                ["rows"] = rows,
                ["seconds"] = Math.Round(stopwatch.Elapsed.TotalSeconds, 2),
                ["drop_to_profiles_rows_per_sec"] = Math.Round(rows / stopwatch.Elapsed.TotalSeconds),
                ["cosmos_writes_per_1000_rows"] = Math.Round(counter.Writes * 1000.0 / rows, 1),
                ["profile_writes_per_1000_rows"] = Math.Round(profileWrites * 1000.0 / rows, 1),
                ["cosmos_reads_per_1000_rows"] = Math.Round(counter.Reads * 1000.0 / rows, 1),
            };
            foreach (var (container, writes) in counter.WritesByContainer)
            {
                metrics[$"cosmos_writes_per_1000_rows_{container}"] = Math.Round(writes * 1000.0 / rows, 1);
            }
            return metrics;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Generates a data set, uploads its drops to Azurite, and returns their paths, the customers drops first.</summary>
    private static async Task<List<string>> GenerateAndUploadAsync(string dir, int customers, int seed, string storage)
    {
        var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = customers, Seed = seed }).Generate(dir);
        await DropUploader.UploadAsync(Path.Combine(dir, "drops"), storage);
        return summary.Files.Select(f => f.Path["drops/".Length..])
            .OrderBy(p => IsCustomers(p) ? 0 : 1).ThenBy(p => p, StringComparer.Ordinal).ToList();
    }

    private static bool IsCustomers(string path) => path.Split('/')[1] == "customers";

    /// <summary>
    /// <c>--part customers</c>: only the customers drops of every source (new people, the same person across sources and
    /// within one, typos and missing fields: identity resolution end to end). The warm-up ingests the customers drops of a
    /// small data set of another seed first; its blobs are then replaced by the measured ones (new ETags: new drops).
    /// Metrics <c>customers_rows_per_sec</c> (wall), Cosmos reads and writes per 1,000 rows, profiles created and merged.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, double>> CustomersOnlyAsync(IngestionPipeline pipeline, WriteCounter counter,
        List<string> paths, string warmUpDir, string storage, int customers)
    {
        foreach (var path in (await GenerateAndUploadAsync(warmUpDir, Math.Max(100, customers / 20), Environment.TickCount ^ 0x5bd1e995, storage))
            .Where(IsCustomers))
        {
            await pipeline.IngestAsync(path);
        }
        // The warm-up overwrote blobs of the same names: upload the measured data set again (new ETags).
        await DropUploader.UploadAsync(Path.Combine(Path.GetDirectoryName(warmUpDir)!, "main", "drops"), storage);
        counter.Reset();
        long rows = 0, created = 0, merged = 0;
        var stopwatch = Stopwatch.StartNew();
        foreach (var path in paths.Where(IsCustomers))
        {
            var report = await pipeline.IngestAsync(path);
            if (report.Status != IngestionStatus.Completed)
            {
                throw new InvalidOperationException($"{path}: {report.Status} {report.Error}");
            }
            rows += report.RowsRead;
            created += report.CustomersCreated;
            merged += report.CustomersMerged;
        }
        stopwatch.Stop();
        return new Dictionary<string, double>
        {
            ["customers"] = customers,
            ["customers_rows"] = rows,
            ["customers_seconds"] = Math.Round(stopwatch.Elapsed.TotalSeconds, 2),
            ["customers_rows_per_sec"] = Math.Round(rows / stopwatch.Elapsed.TotalSeconds),
            ["customers_profiles_created"] = created,
            ["customers_merged"] = merged,
            ["customers_cosmos_reads_per_1000_rows"] = Math.Round(counter.Reads * 1000.0 / rows, 1),
            ["customers_cosmos_writes_per_1000_rows"] = Math.Round(counter.Writes * 1000.0 / rows, 1),
        };
    }

    /// <summary>Counts Cosmos requests by kind as they leave the SDK.</summary>
    private sealed class WriteCounter : RequestHandler
    {
        private long _writes;
        private long _reads;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _writesByContainer = new();

        public long Writes => Interlocked.Read(ref _writes);

        public long Reads => Interlocked.Read(ref _reads);

        public IReadOnlyDictionary<string, long> WritesByContainer => _writesByContainer;

        public void Reset()
        {
            Interlocked.Exchange(ref _writes, 0);
            Interlocked.Exchange(ref _reads, 0);
            _writesByContainer.Clear();
        }

        public override Task<ResponseMessage> SendAsync(RequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get || request.Headers["x-ms-documentdb-isquery"] is not null)
            {
                Interlocked.Increment(ref _reads);
            }
            else
            {
                Interlocked.Increment(ref _writes);
                var path = request.RequestUri?.OriginalString ?? "";
                var at = path.IndexOf("colls/", StringComparison.Ordinal);
                var container = at < 0 ? "other" : path[(at + 6)..].Split('/')[0];
                _writesByContainer.AddOrUpdate(container, 1, (_, n) => n + 1);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
