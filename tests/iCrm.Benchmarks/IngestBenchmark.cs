using System.Diagnostics;
using iCrm.Core.Identity;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Testing;

namespace iCrm.Benchmarks;

/// <summary>
/// Suite <c>ingest</c>: the whole ingestion pipeline in process, on one thread, with the stores replaced by in-memory
/// dictionaries that keep references (no network, no serialisation): parse, validation, normalisation, identity key
/// hashing, resolution and aggregation into profiles. Rates are rows per CPU second of this process (median of runs),
/// which on a single-threaded run is rows per second on one core.
/// </summary>
public static class IngestBenchmark
{
    /// <summary>Rows per chunk (the app's default unless <c>--chunk-size</c> says otherwise).</summary>
    private static int ChunkSize { get; set; } = new IngestionOptions().ChunkSize;

    /// <summary>Rows of an activity drop grouped in memory before it spills (the app's default unless <c>--in-memory-rows</c> says otherwise).</summary>
    private static int InMemoryRows { get; set; } = new IngestionOptions().GroupInMemoryRows;

    /// <summary>By default (<c>--audit write-only</c>) the audit log keeps nothing and counts the entries, as the profile
    /// store keeps nothing: in a real run both leave the process when written. <c>--audit in-memory</c> uses
    /// <see cref="InMemoryAuditLog"/>, which keeps every entry (one per profile) in the benchmark's heap.</summary>
    private static bool WriteOnlyAudit { get; set; }

    public static async Task<IReadOnlyDictionary<string, double>> RunAsync(BenchmarkOptions o)
    {
        if (o.Values.ContainsKey("file"))
        {
            return await IngestFileBenchmark.RunAsync(o); // --file PATH --entity orders: an external file instead of the generated drops
        }
        var orderRows = o.Int("orders", 1_000_000);
        var orderCustomers = o.Int("order-customers", 50_000);
        var customerRows = o.Int("customers", 200_000);
        var runs = o.Int("runs", 3);
        var largeMb = o.Int("large-mb", 1024);
        ChunkSize = o.Int("chunk-size", new IngestionOptions().ChunkSize);
        WriteOnlyAudit = o.String("audit", "write-only") switch
        {
            "in-memory" => false,
            "write-only" => true,
            var other => throw new ArgumentException($"--audit must be in-memory or write-only, not '{other}'."),
        };
        InMemoryRows = o.Int("in-memory-rows", new IngestionOptions().GroupInMemoryRows);
        // --part runs one measurement (memory, orders, orders-by-customer, orders-one-per-customer, customers, parse), e.g. to profile it.
        var part = o.String("part", "all");
        bool Runs(string name) => part is "all" || part == name;

        var metrics = new Dictionary<string, double>();
        if (Runs("memory"))
        {
            // Peak memory first, in a fresh process state: the 1 GB orders drop streamed through reader and validator.
            foreach (var (name, value) in IngestParseBenchmark.Run(orderRows: 10_000, customerRows: 1_000, runs: 1, largeDropBytes: (long)largeMb << 20))
            {
                if (name.StartsWith("peak_", StringComparison.Ordinal) || name.StartsWith("large_", StringComparison.Ordinal))
                {
                    metrics[name] = value;
                }
            }
        }
        if (Runs("memory-pipeline"))
        {
            foreach (var (name, value) in await PipelineMemoryAsync((long)largeMb << 20, orderCustomers))
            {
                metrics[name] = value;
            }
        }
        if (Runs("orders"))
        {
            // A typical orders export: in date order, each customer's orders spread over the file (so over many chunks).
            // Grouped by customer across the whole drop, each profile is written once and never read back: measured with a
            // store that keeps nothing in this process (as in a real run), checked to write each customer exactly once.
            var orders = IngestParseBenchmark.OrdersCsv(orderRows, orderCustomers);
            await MeasureAsync(metrics, "orders", runs, "pos/orders/bench.csv", orders, orderRows,
                () => new WriteOnlyCustomerStore(), expectedWrites: DistinctCustomers(orders));
            metrics["order_customers"] = orderCustomers;
        }
        if (Runs("orders-by-customer"))
        {
            // Exports sorted by customer (20 lines each), as many systems write them. Each customer's rows fall in one chunk,
            // so every profile is written once and never read back: measured with a store that keeps nothing in this
            // process (as in a real run), and with the reference store holding every profile in the benchmark's heap.
            var sorted = OrdersByCustomerCsv(orderRows, linesPerCustomer: 20);
            await MeasureAsync(metrics, "orders_by_customer", runs, "pos/orders/sorted.csv", sorted, orderRows,
                () => new WriteOnlyCustomerStore(), expectedWrites: (orderRows + 19) / 20);
            await MeasureAsync(metrics, "orders_by_customer_retained", runs, "pos/orders/sorted.csv", sorted, orderRows);
        }
        if (Runs("orders-one-per-customer"))
        {
            // Worst case for aggregation: every order by a random one of 2M customers, so almost every order creates a profile.
            // Grouped by customer, each profile is written once (checked), so the store keeps nothing, as in a real run.
            var scattered = IngestParseBenchmark.OrdersCsv(orderRows);
            await MeasureAsync(metrics, "orders_one_per_customer", runs, "pos/orders/scattered.csv", scattered, orderRows,
                () => new WriteOnlyCustomerStore(), expectedWrites: DistinctCustomers(scattered));
        }
        GC.Collect();
        if (Runs("customers"))
        {
            await MeasureAsync(metrics, "customers", runs, "web/customers/bench.csv", VariedCustomersCsv(customerRows), customerRows);
        }
        if (Runs("parse"))
        {
            var orders = IngestParseBenchmark.OrdersCsv(orderRows, orderCustomers);
            IngestParseBenchmark.Throughput(orders, "pos/orders/bench.csv", orderRows); // warm-up
            metrics["parse_validate_orders_rows_per_sec"] = Math.Round(BenchmarkSuites.Median(
                Enumerable.Range(0, runs).Select(_ => IngestParseBenchmark.Throughput(orders, "pos/orders/bench.csv", orderRows).Cpu).ToList()));
        }
        return metrics;
    }

    /// <summary>
    /// The whole pipeline's memory on a large orders drop in date order (every customer's rows spread over the file, so
    /// grouping windows are full): the drop streams from a synthetic source, profiles leave the process when written.
    /// <c>pipeline_peak_managed_heap_mb</c> is sampled every 1,000 profile writes; <c>pipeline_peak_memory_mb</c> is the
    /// process's peak working set so far (run alone with <c>--part memory-pipeline</c> for this part's own figure).
    /// </summary>
    private static async Task<Dictionary<string, double>> PipelineMemoryAsync(long bytes, int customers)
    {
        const string path = "pos/orders/large.csv";
        var store = new WriteOnlyCustomerStore();
        var identities = new InMemoryIdentityStore();
        var time = TimeProvider.System;
        var pipeline = new IngestionPipeline(new SyntheticDropSource(path, bytes, customers),
            new CustomerResolver(identities, new MatchKeyHasher("benchmark-pii-key-0123456789"), new IdentityResolver(), time),
            store, identities, new InMemoryIngestionLedger(), new InMemoryQuarantine(), new InMemoryAuditLog(),
            new ProfileHistory(new ProfileHistoryOptions()), new IngestionOptions { ChunkSize = ChunkSize, GroupInMemoryRows = InMemoryRows, WriteConcurrency = 1 }, time);
        var report = await pipeline.IngestAsync(path);
        if (report.Status != IngestionStatus.Completed)
        {
            throw new InvalidOperationException($"The large drop did not complete: {report.Error}");
        }
        using var process = Process.GetCurrentProcess();
        return new Dictionary<string, double>
        {
            ["pipeline_peak_memory_mb"] = Math.Round(process.PeakWorkingSet64 / (1024.0 * 1024.0), 1),
            ["pipeline_peak_managed_heap_mb"] = Math.Round(store.PeakHeap / (1024.0 * 1024.0), 1),
            ["pipeline_large_drop_rows"] = report.RowsRead,
            ["pipeline_large_drop_customers"] = customers,
        };
    }

    /// <summary>Serves one synthetic orders drop of a given size without holding it.</summary>
    private sealed class SyntheticDropSource(string path, long bytes, int customers) : IDropSource
    {
        public Task<DropBlob?> GetAsync(string blobPath, CancellationToken cancellationToken = default) =>
            Task.FromResult(blobPath == path ? new DropBlob("drops", path, "\"1\"", bytes) : null);

        public Task<Stream> OpenReadAsync(DropBlob blob, CancellationToken cancellationToken = default) =>
            Task.FromResult<Stream>(new IngestParseBenchmark.SyntheticOrdersStream(bytes, customers));
    }

    /// <summary>Rows per CPU second (median of runs after a warm-up); the median bytes allocated per row as
    /// <c>{name}_alloc_bytes_per_row</c> (the store keeps references, so this is the pipeline's own garbage plus the
    /// profiles); the share of that CPU time the process spent paused for garbage collection, and the collections (all
    /// generations: each counts in gen 0); and the profile writes
    /// per 1,000 rows (what a real run would send to Cosmos DB).</summary>
    private static async Task MeasureAsync(Dictionary<string, double> metrics, string name, int runs, string path, byte[] content, int rows,
        Func<ICustomerStore>? store = null, long? expectedWrites = null)
    {
        store ??= () => new ReferenceCustomerStore();
        await RateAsync(path, content, rows, store(), expectedWrites); // warm-up
        var rates = new List<double>();
        var allocated = new List<double>();
        var gcShares = new List<double>();
        var collections = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var (rate, bytes, gcShare, gcCount, profileWrites) = await RateAsync(path, content, rows, store(), expectedWrites);
            collections.Add(gcCount);
            metrics[$"{name}_profile_writes_per_1000_rows"] = Math.Round(profileWrites * 1000.0 / rows, 1);
            rates.Add(rate);
            allocated.Add(bytes / rows);
            gcShares.Add(gcShare);
        }
        metrics[$"{name}_rows_per_sec"] = Math.Round(BenchmarkSuites.Median(rates));
        metrics[$"{name}_alloc_bytes_per_row"] = Math.Round(BenchmarkSuites.Median(allocated));
        metrics[$"{name}_gc_pause_share"] = Math.Round(BenchmarkSuites.Median(gcShares), 3);
        metrics[$"{name}_gc_collections"] = BenchmarkSuites.Median(collections);
    }

    private static async Task<(double RowsPerSecond, long AllocatedBytes, double GcPauseShare, int Collections, long ProfileWrites)> RateAsync(string path, byte[] content, int rows,
        ICustomerStore store, long? expectedWrites)
    {
        var drops = new InMemoryDropSource();
        drops.Put(path, content);
        var identities = new InMemoryIdentityStore();
        var time = TimeProvider.System;
        var countingAudit = WriteOnlyAudit ? new WriteOnlyAuditLog() : null;
        var pipeline = new IngestionPipeline(drops, new CustomerResolver(identities, new MatchKeyHasher("benchmark-pii-key-0123456789"), new IdentityResolver(), time),
            store, identities, new InMemoryIngestionLedger(), new InMemoryQuarantine(), (IAuditLog?)countingAudit ?? new InMemoryAuditLog(),
            new ProfileHistory(new ProfileHistoryOptions()), new IngestionOptions { ChunkSize = ChunkSize, GroupInMemoryRows = InMemoryRows, WriteConcurrency = 1 }, time);
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var paused = GC.GetTotalPauseDuration();
        var collections = GC.CollectionCount(0);
        var report = await pipeline.IngestAsync(path);
        process.Refresh();
        if (report.RowsRead != rows || report.Status != IngestionStatus.Completed)
        {
            throw new InvalidOperationException($"Benchmark drop read {report.RowsRead} of {rows} rows ({report.Status}: {report.Error}).");
        }
        if (expectedWrites is { } expected && report.StoreWrites != expected)
        {
            throw new InvalidOperationException($"Expected each of {expected} customers to be written once, but the drop made {report.StoreWrites} writes.");
        }
        if (countingAudit is not null && expectedWrites is { } profiles && countingAudit.Created != profiles)
        {
            throw new InvalidOperationException($"Expected one audit entry per created profile ({profiles}), got {countingAudit.Created}.");
        }
        var seconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        return (rows / seconds, GC.GetTotalAllocatedBytes(precise: true) - allocated, (GC.GetTotalPauseDuration() - paused).TotalSeconds / seconds,
            GC.CollectionCount(0) - collections, report.StoreWrites);
    }

    /// <summary>An audit log that keeps nothing and counts the entries written.</summary>
    private sealed class WriteOnlyAuditLog : IAuditLog
    {
        private int _created;

        public int Created => _created;

        public Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<bool> TryCreateAsync(AuditEntry entry, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _created);
            return Task.FromResult(true);
        }

        public Task<IReadOnlyList<AuditEntry>> ListAsync(string customerId, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The benchmark's audit log keeps nothing.");

        public Task<Page<AuditEntry>> QueryAsync(AuditQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The benchmark's audit log keeps nothing.");
    }

    /// <summary>The distinct values of the <c>customer_id</c> column of a CSV drop (no quoted fields).</summary>
    private static int DistinctCustomers(byte[] csv)
    {
        var text = System.Text.Encoding.UTF8.GetString(csv).AsSpan();
        var headerEnd = text.IndexOf('\n');
        var column = Array.IndexOf(text[..headerEnd].ToString().Split(','), "customer_id");
        var customers = new HashSet<string>().GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var range in text[(headerEnd + 1)..].Split('\n'))
        {
            var line = text[(headerEnd + 1)..][range];
            var field = 0;
            foreach (var cell in line.Split(','))
            {
                if (field++ == column)
                {
                    customers.Add(line[cell]);
                    break;
                }
            }
        }
        customers.Remove(ReadOnlySpan<char>.Empty);
        return customers.Set.Count;
    }

    public static byte[] OrdersByCustomerCsv(int rows, int linesPerCustomer)
    {
        var csv = new System.Text.StringBuilder(rows * 70);
        csv.Append("order_id,line,customer_id,order_date,product_id,quantity,unit_price,channel\n");
        var start = new DateTime(2024, 1, 1);
        for (var i = 0; i < rows; i++)
        {
            var customer = i / linesPerCustomer;
            var order = i / 2;
            csv.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"O{order},{1 + i % 2},C{customer},{start.AddDays(i % 600):yyyy-MM-dd},P{(i * 7919) % 2000},{1 + i % 3},{5 + i % 50}.99,web\n");
        }
        return System.Text.Encoding.UTF8.GetBytes(csv.ToString());
    }

    /// <summary>
    /// Customers with realistic variety (thousands of surnames, streets and postcodes, unique emails and phones), so
    /// blocking keys nominate a handful of candidates as with real exports, not hundreds.
    /// </summary>
    public static byte[] VariedCustomersCsv(int rows)
    {
        var random = new Random(17);
        string Syllables(int n)
        {
            ReadOnlySpan<string> parts = ["ka", "lo", "mi", "ra", "ten", "sun", "bel", "dor", "fi", "gan", "hol", "ist", "jor", "ven", "ash", "wil", "ber", "ton", "ley", "mar"];
            var sb = new System.Text.StringBuilder();
            for (var i = 0; i < n; i++)
            {
                sb.Append(parts[random.Next(parts.Length)]);
            }
            return sb.ToString();
        }
        var first = Enumerable.Range(0, 400).Select(_ => Syllables(2)).ToArray();
        var last = Enumerable.Range(0, 5000).Select(_ => Syllables(3)).ToArray();
        var streets = Enumerable.Range(0, 2000).Select(_ => Syllables(2) + " street").ToArray();
        var csv = new System.Text.StringBuilder("customer_id,email,phone,first_name,last_name,birth_date,street,city,postcode,state,country\n");
        for (var i = 0; i < rows; i++)
        {
            csv.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"C{i},user{i}@example.com,+1 {212 + i % 7 * 100} {200 + random.Next(800)} {random.Next(10000):0000},{first[random.Next(first.Length)]},{last[random.Next(last.Length)]},{1940 + random.Next(60)}-{1 + random.Next(12):00}-{1 + random.Next(28):00},{1 + random.Next(300)} {streets[random.Next(streets.Length)]},{Syllables(2)},{10000 + random.Next(89999)},NY,US\n");
        }
        return System.Text.Encoding.UTF8.GetBytes(csv.ToString());
    }
}
