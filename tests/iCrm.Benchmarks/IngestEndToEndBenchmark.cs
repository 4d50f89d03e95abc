using System.Diagnostics;
using iCrm.Azure;
using iCrm.Azure.Connections;
using iCrm.Core.Diagnostics;
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
        var seed = o.Int("seed", Environment.TickCount);
        if (o.String("store", "cosmos") == "memory")
        {
            return await CustomersInMemoryAsync(customers, seed);
        }
        var settings = new Dictionary<string, string?>
        {
            ["IcrmStorage"] = LocalStackSettings.Storage,
            ["IcrmCosmos"] = LocalStackSettings.Cosmos,
            ["IcrmCosmos:createIfMissing"] = "true",
            // A key per run (per --seed) on a stack that is not restarted between runs: every match key (an HMAC under
            // this key) and so every identity document is new, so each run ingests new customers rather than updating and
            // merging the profiles of earlier runs (the generator reuses source ids).
            ["Security:PiiKey"] = $"benchmark-pii-key-0123456789-{seed}",
        };
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddIcrmServices();
        var counter = new WriteCounter();
        builder.Services.AddSingleton(new CosmosHandlerFactory(() => counter));
        using var host = builder.Build();
        var pipeline = host.Services.GetRequiredService<IngestionPipeline>();
        using var profile = new StageProfile();

        var part = o.String("part", "all");
        if (part == "sdk")
        {
            return await SdkCostAsync(host.Services.GetRequiredService<iCrm.Azure.Store.CosmosContainers>(), counter, o.Int("requests", 2000));
        }
        var dir = Directory.CreateTempSubdirectory("icrm-e2e-").FullName;
        try
        {
            var paths = await GenerateAndUploadAsync(Path.Combine(dir, "main"), customers, seed, settings["IcrmStorage"]!);
            if (part == "customers")
            {
                return await CustomersOnlyAsync(pipeline, counter, profile, paths, Path.Combine(dir, "warm-up"), settings["IcrmStorage"]!, customers, seed);
            }

            await pipeline.IngestAsync(paths[0]); // warm-up: connections, database and containers
            counter.Reset();
            profile.Start();
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
            profile.AddTo(metrics, "", rows, counter);
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
    private static async Task<IReadOnlyDictionary<string, double>> CustomersOnlyAsync(IngestionPipeline pipeline, WriteCounter counter, StageProfile profile,
        List<string> paths, string warmUpDir, string storage, int customers, int seed)
    {
        foreach (var path in (await GenerateAndUploadAsync(warmUpDir, Math.Max(100, customers / 20), seed ^ 0x5bd1e995, storage))
            .Where(IsCustomers))
        {
            await pipeline.IngestAsync(path);
        }
        // The warm-up overwrote blobs of the same names: upload the measured data set again (new ETags).
        await DropUploader.UploadAsync(Path.Combine(Path.GetDirectoryName(warmUpDir)!, "main", "drops"), storage);
        counter.Reset();
        profile.Start();
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
        var metrics = new Dictionary<string, double>
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
        profile.AddTo(metrics, "customers_", rows, counter);
        return metrics;
    }

    /// <summary>
    /// <c>--part customers --store memory</c>: the same customers drops (same generator, <c>--seed</c> and warm-up as the
    /// Cosmos run) through the same pipeline with the in-memory stores of the tests (no network, no serialisation), so
    /// the difference in CPU per row between the two runs is what the store path costs (SDK, HTTP, JSON).
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, double>> CustomersInMemoryAsync(int customers, int seed)
    {
        var dir = Directory.CreateTempSubdirectory("icrm-e2e-memory-").FullName;
        try
        {
            var drops = new InMemoryDropSource();
            List<string> Load(string into, int size, int dataSeed)
            {
                var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = size, Seed = dataSeed }).Generate(into);
                var paths = summary.Files.Select(f => f.Path["drops/".Length..]).Where(IsCustomers).OrderBy(p => p, StringComparer.Ordinal).ToList();
                foreach (var path in paths)
                {
                    drops.Put(path, File.ReadAllBytes(Path.Combine(into, "drops", path)));
                }
                return paths;
            }
            var identities = new InMemoryIdentityStore();
            var time = TimeProvider.System;
            var pipeline = new IngestionPipeline(drops,
                new iCrm.Core.Ingestion.CustomerResolver(identities, new iCrm.Core.Identity.MatchKeyHasher("benchmark-pii-key-0123456789"),
                    new iCrm.Core.Identity.IdentityResolver(), time, new InMemoryMergeReviewStore()),
                new InMemoryCustomerStore(), identities, new InMemoryIngestionLedger(), new InMemoryQuarantine(), new InMemoryAuditLog(),
                new iCrm.Core.Profiles.ProfileHistory(new iCrm.Core.Profiles.ProfileHistoryOptions()), new IngestionOptions(), time);
            foreach (var path in Load(Path.Combine(dir, "warm-up"), Math.Max(100, customers / 20), seed ^ 0x5bd1e995))
            {
                await pipeline.IngestAsync(path);
            }
            var measured = Load(Path.Combine(dir, "main"), customers, seed);
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            long rows = 0, created = 0, merged = 0;
            var stopwatch = Stopwatch.StartNew();
            foreach (var path in measured)
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
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
            return new Dictionary<string, double>
            {
                ["customers"] = customers,
                ["customers_rows"] = rows,
                ["customers_seconds"] = Math.Round(stopwatch.Elapsed.TotalSeconds, 2),
                ["customers_rows_per_sec"] = Math.Round(rows / stopwatch.Elapsed.TotalSeconds),
                ["customers_profiles_created"] = created,
                ["customers_merged"] = merged,
                ["customers_app_cpu_ms_per_row"] = Math.Round(cpu / rows, 2),
            };
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// <c>--part sdk</c>: the app's CPU per Cosmos request in isolation, through the app's own client (handlers,
    /// serializer, connection settings), against the local server: identity documents created, read (found), read when
    /// absent (as an exception and as a stream status), upserted and replaced, one at a time and 32 in flight.
    /// Says what the customers path's requests cost before any matching runs.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, double>> SdkCostAsync(iCrm.Azure.Store.CosmosContainers containers, WriteCounter counter, int n)
    {
        var container = await containers.GetAsync(iCrm.Azure.ResourceNames.IdentitiesContainer);
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, n).Select(i => $"sdk-{run}-{i}").ToArray();
        var absent = Enumerable.Range(0, n).Select(i => $"sdk-{run}-absent-{i}").ToArray();
        var options = new ItemRequestOptions { EnableContentResponseOnWrite = false };
        var metrics = new Dictionary<string, double> { ["requests"] = n };
        async Task Measure(string name, int parallel, Func<int, Task> op)
        {
            await op(0); // warm-up of this path (JIT)
            counter.Reset();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(Enumerable.Range(1, n - 1), new ParallelOptions { MaxDegreeOfParallelism = parallel },
                async (i, _) => await op(i));
            var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
            metrics[$"{name}_p{parallel}_cpu_ms_per_request"] = Math.Round(cpu / (n - 1), 3);
            metrics[$"{name}_p{parallel}_requests_per_sec"] = Math.Round((n - 1) / wall);
            metrics[$"{name}_p{parallel}_sent_per_request"] = Math.Round(counter.Total / (double)(n - 1), 2);
        }
        var claim = (int i) => new iCrm.Core.Storage.IdentityClaim(ids[i], "customer-0123456789abcdef", "email");
        await Measure("create", 1, i => container.CreateItemAsync(claim(i), new PartitionKey(ids[i]), options));
        Func<int, Task> readFound = i => container.ReadItemAsync<iCrm.Core.Storage.IdentityClaim>(ids[i], new PartitionKey(ids[i]));
        Func<int, Task> readAbsentException = async i =>
        {
            try
            {
                await container.ReadItemAsync<iCrm.Core.Storage.IdentityClaim>(absent[i], new PartitionKey(absent[i]));
            }
            catch (CosmosException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }
        };
        Func<int, Task> readAbsentStream = async i =>
        {
            using var response = await container.ReadItemStreamAsync(absent[i], new PartitionKey(absent[i]));
        };
        await Measure("read_found", 1, readFound);
        await Measure("read_found", 32, readFound);
        foreach (var parallel in new[] { 1, 32 })
        {
            await Measure("read_absent_exception", parallel, readAbsentException);
            await Measure("read_absent_stream", parallel, readAbsentStream);
        }
        await Measure("create_conflict_exception", 32, async i =>
        {
            try
            {
                await container.CreateItemAsync(claim(i), new PartitionKey(ids[i]), options);
            }
            catch (CosmosException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
            }
        });
        await Measure("upsert", 1, i => container.UpsertItemAsync(claim(i), new PartitionKey(ids[i]), options));
        await Measure("upsert", 32, i => container.UpsertItemAsync(claim(i), new PartitionKey(ids[i]), options));
        return metrics;
    }

    /// <summary>
    /// Counts Cosmos requests as they leave the SDK: reads and writes (the suite's headline figures), each request by kind
    /// (read, query, create, upsert, replace, patch, delete) and container, and how many were in flight at once (the
    /// maximum, and the mean over the measured time: summed request time / wall time).
    /// </summary>
    private sealed class WriteCounter : RequestHandler
    {
        private long _writes;
        private long _reads;
        private long _inFlight;
        private long _maxInFlight;
        private long _busyTicks;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _writesByContainer = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _byKind = new();

        public long Writes => Interlocked.Read(ref _writes);

        public long Reads => Interlocked.Read(ref _reads);

        public long MaxInFlight => Interlocked.Read(ref _maxInFlight);

        /// <summary>Summed time of all requests (from leaving the SDK's handler chain to the answer).</summary>
        public TimeSpan Busy => TimeSpan.FromSeconds(Interlocked.Read(ref _busyTicks) / (double)Stopwatch.Frequency);

        public IReadOnlyDictionary<string, long> WritesByContainer => _writesByContainer;

        /// <summary>Requests by <c>{kind}_{container}</c>.</summary>
        public IReadOnlyDictionary<string, long> ByKind => _byKind;

        public long Total => _byKind.Values.Sum();

        public void Reset()
        {
            Interlocked.Exchange(ref _writes, 0);
            Interlocked.Exchange(ref _reads, 0);
            Interlocked.Exchange(ref _maxInFlight, 0);
            Interlocked.Exchange(ref _busyTicks, 0);
            _writesByContainer.Clear();
            _byKind.Clear();
        }

        public override async Task<ResponseMessage> SendAsync(RequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri?.OriginalString ?? "";
            var at = path.IndexOf("colls/", StringComparison.Ordinal);
            var container = at < 0 ? "other" : path[(at + 6)..].Split('/')[0];
            var isQuery = request.Headers["x-ms-documentdb-isquery"] is not null || request.Headers["x-ms-cosmos-is-query-plan-request"] is not null;
            var kind = isQuery ? "query"
                : request.Method == HttpMethod.Get ? "read"
                : request.Method == HttpMethod.Put ? "replace"
                : request.Method == HttpMethod.Delete ? "delete"
                : request.Method == HttpMethod.Patch ? "patch"
                : string.Equals(request.Headers["x-ms-documentdb-is-upsert"], "true", StringComparison.OrdinalIgnoreCase) ? "upsert"
                : "create";
            _byKind.AddOrUpdate($"{kind}_{container}", 1, (_, n) => n + 1);
            if (request.Method == HttpMethod.Get || isQuery)
            {
                Interlocked.Increment(ref _reads);
            }
            else
            {
                Interlocked.Increment(ref _writes);
                _writesByContainer.AddOrUpdate(container, 1, (_, n) => n + 1);
            }
            var now = Interlocked.Increment(ref _inFlight);
            long max;
            while (now > (max = Interlocked.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }
            var started = Stopwatch.GetTimestamp();
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                Interlocked.Add(ref _busyTicks, Stopwatch.GetTimestamp() - started);
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    /// <summary>
    /// Where the measured time goes: summed wall time of the pipeline's phase spans (<see cref="IngestionTelemetry"/>: read,
    /// validate, resolve, write), CPU time of this process and, when <c>COSMOS_PID</c> names it, of the local Cosmos server
    /// (from /proc/{pid}/stat, Linux only), against the wall time.
    /// </summary>
    private sealed class StageProfile : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _phaseTicks = new();
        private readonly int? _serverPid = int.TryParse(Environment.GetEnvironmentVariable("COSMOS_PID"), out var pid) ? pid : null;
        private double _appCpu0;
        private double _serverCpu0;
        private long _started;

        public StageProfile()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == IngestionTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = activity => _phaseTicks.AddOrUpdate(activity.OperationName, activity.Duration.Ticks, (_, t) => t + activity.Duration.Ticks),
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public void Start()
        {
            _phaseTicks.Clear();
            _appCpu0 = CpuSeconds(Environment.ProcessId);
            _serverCpu0 = _serverPid is { } pid ? CpuSeconds(pid) : double.NaN;
            _started = Stopwatch.GetTimestamp();
        }

        public void AddTo(Dictionary<string, double> metrics, string prefix, long rows, WriteCounter counter)
        {
            var wall = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            foreach (var (phase, ticks) in _phaseTicks)
            {
                metrics[$"{prefix}phase_{phase.Replace("ingest ", "").Replace(' ', '_')}_ms_per_1000_rows"] =
                    Math.Round(TimeSpan.FromTicks(ticks).TotalMilliseconds * 1000 / rows, 1);
            }
            metrics[$"{prefix}app_cpu_share_of_wall"] = Math.Round((CpuSeconds(Environment.ProcessId) - _appCpu0) / wall, 2);
            metrics[$"{prefix}app_cpu_ms_per_row"] = Math.Round((CpuSeconds(Environment.ProcessId) - _appCpu0) * 1000 / rows, 2);
            if (_serverPid is { } pid)
            {
                metrics[$"{prefix}cosmos_server_cpu_share_of_wall"] = Math.Round((CpuSeconds(pid) - _serverCpu0) / wall, 2);
                metrics[$"{prefix}cosmos_server_cpu_ms_per_request"] = Math.Round((CpuSeconds(pid) - _serverCpu0) * 1000 / Math.Max(1, counter.Total), 3);
            }
            metrics[$"{prefix}cosmos_requests_per_row"] = Math.Round(counter.Total / (double)rows, 2);
            metrics[$"{prefix}cosmos_requests_per_sec"] = Math.Round(counter.Total / wall);
            metrics[$"{prefix}cosmos_max_in_flight"] = counter.MaxInFlight;
            metrics[$"{prefix}cosmos_mean_in_flight"] = Math.Round(counter.Busy.TotalSeconds / wall, 2);
            metrics[$"{prefix}cosmos_mean_request_ms"] = Math.Round(counter.Busy.TotalMilliseconds / Math.Max(1, counter.Total), 2);
            foreach (var (kind, n) in counter.ByKind.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                metrics[$"{prefix}requests_per_1000_rows_{kind}"] = Math.Round(n * 1000.0 / rows, 1);
            }
        }

        /// <summary>utime + stime of a process, in seconds (fields 14 and 15 of /proc/{pid}/stat, in clock ticks of 1/100 s).</summary>
        private static double CpuSeconds(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture)
                    + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
            }
            catch (IOException)
            {
                return double.NaN;
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
