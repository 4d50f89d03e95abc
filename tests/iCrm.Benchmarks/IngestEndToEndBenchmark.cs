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
/// Metrics: drop-to-profiles rows per second (wall) and Cosmos writes per 1,000 rows.
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

        var dir = Directory.CreateTempSubdirectory("icrm-e2e-").FullName;
        try
        {
            var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = customers, Seed = Environment.TickCount }).Generate(dir);
            await DropUploader.UploadAsync(Path.Combine(dir, "drops"), settings["IcrmStorage"]!);
            var paths = summary.Files.Select(f => f.Path["drops/".Length..])
                .OrderBy(p => p.Split('/')[1] == "customers" ? 0 : 1).ThenBy(p => p, StringComparer.Ordinal).ToList();

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
