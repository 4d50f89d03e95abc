using System.Diagnostics;
using System.Globalization;
using System.Text;
using iCrm.Core.Drops;

namespace iCrm.Benchmarks;

/// <summary>
/// The read + validate + clean half of ingestion, in process and on one thread: how many rows a second a drop moves
/// through <see cref="DropReader"/> and <see cref="RowValidator"/>, and how much memory a 1 GB drop needs.
/// </summary>
/// <remarks>
/// <c>peak_memory_mb</c> is <see cref="Process.PeakWorkingSet64"/> after streaming a synthetic 1 GB orders CSV that
/// is generated on the fly (nothing stored), consumed in chunks of 5,000 rows as the ingestion pipeline does. It is
/// measured first, before the in-memory files of the throughput runs exist, so it is the whole process (runtime,
/// JIT, libphonenumber metadata, the reader) with a 1 GB drop passing through. <c>peak_managed_heap_mb</c> is the
/// largest <see cref="GC.GetTotalMemory(bool)"/> sampled during that run.
/// </remarks>
public static class IngestParseBenchmark
{
    private const int ChunkRows = 5_000;

    public static IReadOnlyDictionary<string, double> Run(int orderRows = 2_000_000, int customerRows = 500_000, int runs = 5,
        long largeDropBytes = 1L << 30, TextWriter? log = null)
    {
        var metrics = new Dictionary<string, double>();

        var (largeRows, largeCpuSeconds, largeWallSeconds, peakHeap) = StreamLargeDrop(largeDropBytes);
        using (var process = Process.GetCurrentProcess())
        {
            process.Refresh();
            metrics["peak_memory_mb"] = Math.Round(process.PeakWorkingSet64 / (1024.0 * 1024.0), 1);
        }

        metrics["peak_managed_heap_mb"] = Math.Round(peakHeap / (1024.0 * 1024.0), 1);
        metrics["large_drop_mb"] = largeDropBytes / (1024.0 * 1024.0);
        metrics["large_drop_rows"] = largeRows;
        metrics["large_drop_rows_per_sec"] = Math.Round(largeRows / largeCpuSeconds); // includes generating the synthetic CSV
        log?.WriteLine($"{largeDropBytes / 1048576.0:F0} MB drop: {largeRows:N0} rows in {largeCpuSeconds:F1} CPU s ({largeWallSeconds:F1} s wall), peak heap {peakHeap / 1048576.0:F0} MB");

        var orders = OrdersCsv(orderRows);
        Measure(metrics, "orders", runs, () => Throughput(orders, "pos/orders/bench.csv", orderRows), log);
        orders = null;
        GC.Collect();

        var customers = CustomersCsv(customerRows);
        Measure(metrics, "customers", runs, () => Throughput(customers, "web/customers/bench.csv", customerRows), log);
        return metrics;
    }

    /// <summary>
    /// <c>{name}_rows_per_sec</c> is rows per CPU second of this process (median of <paramref name="runs"/>): the work is
    /// single-threaded (workstation, non-concurrent GC), so that is rows per second on one core, and it stays
    /// meaningful on a shared machine where wall-clock time depends on the neighbours. The wall-clock figure is kept
    /// as <c>{name}_rows_per_sec_wall</c>.
    /// </summary>
    private static void Measure(Dictionary<string, double> metrics, string name, int runs, Func<(double Cpu, double Wall)> measure, TextWriter? log)
    {
        measure(); // warm-up: JIT, tiering, libphonenumber metadata
        var cpu = new double[runs];
        var wall = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            (cpu[i], wall[i]) = measure();
        }

        Array.Sort(cpu);
        Array.Sort(wall);
        metrics[$"{name}_rows_per_sec"] = Math.Round(cpu[runs / 2]);
        metrics[$"{name}_rows_per_sec_wall"] = Math.Round(wall[runs / 2]);
        log?.WriteLine($"{name}: {cpu[runs / 2]:N0} rows per CPU second, {wall[runs / 2]:N0} rows per wall second");
    }

    /// <summary>Rows per CPU second and per wall second through reader and validator for one in-memory file.</summary>
    public static (double Cpu, double Wall) Throughput(byte[] file, string blobPath, int expectedRows)
    {
        var path = DropPath.Parse(blobPath);
        var validator = new RowValidator(path);
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var (rows, accepted) = Consume(new MemoryStream(file, writable: false), path, validator, null);
        stopwatch.Stop();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        if (rows != expectedRows || accepted < rows * 0.95)
        {
            throw new InvalidOperationException($"Benchmark drop read {rows} rows ({accepted} accepted), expected {expectedRows}.");
        }

        return (rows / cpu.TotalSeconds, rows / stopwatch.Elapsed.TotalSeconds);
    }

    private static (long Rows, double CpuSeconds, double WallSeconds, long PeakHeap) StreamLargeDrop(long bytes)
    {
        GC.Collect();
        var path = DropPath.Parse("pos/orders/large.csv");
        var validator = new RowValidator(path);
        long peakHeap = 0;
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var (rows, _) = Consume(new SyntheticOrdersStream(bytes), path, validator, () => peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false)));
        stopwatch.Stop();
        process.Refresh();
        return (rows, (process.TotalProcessorTime - cpuBefore).TotalSeconds, stopwatch.Elapsed.TotalSeconds, peakHeap);
    }

    /// <summary>Reads in chunks and validates each chunk, the way the ingestion pipeline does.</summary>
    private static (long Rows, long Accepted) Consume(Stream stream, DropPath path, RowValidator validator, Action? afterChunk)
    {
        long rows = 0, accepted = 0;
        var chunk = new List<RawRow>(ChunkRows);
        var records = new List<DropRecord>(ChunkRows);
        using var reader = new DropReader(stream, path);
        while (reader.ReadBatch(chunk, ChunkRows) > 0)
        {
            foreach (var row in chunk)
            {
                var outcome = validator.Validate(row);
                if (outcome.Record is { } record)
                {
                    records.Add(record);
                }
            }

            rows += chunk.Count;
            accepted += records.Count;
            afterChunk?.Invoke();
            chunk.Clear();
            records.Clear();
        }

        return (rows, accepted);
    }

    /// <summary>Order lines in date order, each order (1–4 lines) by a random customer numbered below <paramref name="customers"/>.</summary>
    public static byte[] OrdersCsv(int rows, int customers = 2_000_000)
    {
        var generator = new OrderLines(seed: 42, customers);
        var output = new MemoryStream(rows * 96);
        var line = new byte[512];
        var header = Encoding.UTF8.GetBytes(OrderLines.Header);
        output.Write(header);
        for (var i = 0; i < rows; i++)
        {
            output.Write(line, 0, generator.Next(line));
        }

        return output.ToArray();
    }

    public static byte[] CustomersCsv(int rows)
    {
        var random = new Random(7);
        string[] first = ["Ann", "BOB", "carla", "Dmitri", "Eve", "Fatima", "george", "Hiro", "Ines", "José"];
        string[] last = ["Lee", "SMITH", "o'neil", "García", "Nguyen", "Müller", "van der Berg", "Okafor", "Kowalski", "Brown"];
        string[] cities = ["Boston", "NEW YORK", "chicago", "Seattle", "San Francisco"];
        string[] countries = ["US", "USA", "United States", "us", "U.S.A."];
        int[] areas = [212, 415, 312, 617, 206, 303, 512];
        var sb = new StringBuilder(rows * 180);
        sb.Append("customer_id,email,phone,first_name,last_name,birth_date,street,city,postcode,country,signup_date,consent_email,loyalty_tier\n");
        for (var i = 0; i < rows; i++)
        {
            var f = first[random.Next(first.Length)];
            var l = last[random.Next(last.Length)];
            var phone = random.Next(10) switch
            {
                0 => "",
                1 => $"+1 {areas[random.Next(areas.Length)]} {random.Next(200, 999)} {random.Next(1000, 9999)}",
                _ => $"({areas[random.Next(areas.Length)]}) {random.Next(200, 999)}-{random.Next(1000, 9999)}",
            };
            if (phone.Contains(" 555") || phone.Contains(") 555"))
            {
                phone = "";
            }

            sb.Append("C").Append(i).Append(',')
              .Append(i % 3 == 0 ? f.ToUpperInvariant() : f).Append('.').Append(l.Replace(" ", "").Replace("'", "")).Append(i).Append("@Example.com,")
              .Append(phone).Append(',')
              .Append(f).Append(',')
              .Append(l.Contains(' ') ? $"\"{l}\"" : l).Append(',')
              .Append(CultureInfo.InvariantCulture, $"{1950 + random.Next(55)}-{1 + random.Next(12):00}-{1 + random.Next(28):00}").Append(',')
              .Append(random.Next(1, 999)).Append(" Main St,")
              .Append(cities[random.Next(cities.Length)]).Append(',')
              .Append(CultureInfo.InvariantCulture, $"{random.Next(10000, 99999)}").Append(',')
              .Append(countries[random.Next(countries.Length)]).Append(',')
              .Append(CultureInfo.InvariantCulture, $"{2015 + random.Next(9)}-{1 + random.Next(12):00}-{1 + random.Next(28):00}T10:00:00Z").Append(',')
              .Append(random.Next(2) == 0 ? "yes" : "no").Append(',')
              .Append(random.Next(3) switch { 0 => "gold", 1 => "silver", _ => "" })
              .Append('\n');
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Writes realistic order lines as UTF-8 bytes without allocating per row.</summary>
    private sealed class OrderLines(int seed, int customers)
    {
        public const string Header = "order_id,customer_id,order_date,line,product_id,quantity,unit_price,amount,currency,channel,returned\n";

        private static readonly byte[][] Channels = [.. new[] { "web", "app", "store" }.Select(Encoding.ASCII.GetBytes)];
        private readonly Random _random = new(seed);
        private long _order = 1_000_000;
        private int _lineInOrder;
        private int _linesInOrder = 1;
        private long _customer;
        private DateTime _date = new(2021, 1, 1, 8, 0, 0);

        public int Next(Span<byte> buffer)
        {
            if (_lineInOrder == _linesInOrder)
            {
                _order++;
                _lineInOrder = 0;
                _linesInOrder = 1 + _random.Next(4);
                _customer = _random.Next(1, customers);
                _date = _date.AddSeconds(_random.Next(1, 60));
                if (_date.Year > 2023)
                {
                    _date = new DateTime(2021, 1, 1, 8, 0, 0);
                }
            }

            _lineInOrder++;
            var quantity = 1 + _random.Next(5);
            var cents = 199 + _random.Next(20_000);
            var returned = _random.Next(50) == 0;
            var n = 0;
            Append(buffer, ref n, "O"u8);
            n += Format(buffer[n..], _order);
            buffer[n++] = (byte)',';
            Append(buffer, ref n, "C"u8);
            n += Format(buffer[n..], _customer);
            buffer[n++] = (byte)',';
            _date.TryFormat(buffer[n..], out var written, "yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            n += written;
            buffer[n++] = (byte)',';
            n += Format(buffer[n..], _lineInOrder);
            buffer[n++] = (byte)',';
            Append(buffer, ref n, "P-"u8);
            n += Format(buffer[n..], _random.Next(1, 5000));
            buffer[n++] = (byte)',';
            n += Format(buffer[n..], quantity);
            buffer[n++] = (byte)',';
            n += Format(buffer[n..], cents / 100);
            buffer[n++] = (byte)'.';
            buffer[n++] = (byte)('0' + (cents / 10 % 10));
            buffer[n++] = (byte)('0' + (cents % 10));
            buffer[n++] = (byte)',';
            var total = quantity * cents;
            n += Format(buffer[n..], total / 100);
            buffer[n++] = (byte)'.';
            buffer[n++] = (byte)('0' + (total / 10 % 10));
            buffer[n++] = (byte)('0' + (total % 10));
            Append(buffer, ref n, ",USD,"u8);
            Append(buffer, ref n, Channels[(int)(_order % 3)]);
            Append(buffer, ref n, returned ? ",true\n"u8 : ",false\n"u8);
            return n;
        }

        private static void Append(Span<byte> buffer, ref int n, ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(buffer[n..]);
            n += bytes.Length;
        }

        private static int Format(Span<byte> buffer, long value)
        {
            value.TryFormat(buffer, out var written, default, CultureInfo.InvariantCulture);
            return written;
        }
    }

    /// <summary>A read-only stream that synthesises an orders CSV of a given size on the fly, so a 1 GB drop needs no storage.</summary>
    public sealed class SyntheticOrdersStream : Stream
    {
        private readonly long _length;
        private readonly OrderLines _lines;
        private readonly byte[] _pending = new byte[512];
        private int _pendingStart;
        private int _pendingEnd;
        private long _position;
        private bool _headerWritten;

        public SyntheticOrdersStream(long length, int customers = 2_000_000)
        {
            _length = length;
            _lines = new OrderLines(seed: 1, customers);
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var written = 0;
            while (written < buffer.Length)
            {
                if (_pendingStart == _pendingEnd)
                {
                    if (_position >= _length)
                    {
                        break; // stop only at a row boundary, so the file ends with a whole line
                    }

                    _pendingStart = 0;
                    if (!_headerWritten)
                    {
                        _headerWritten = true;
                        _pendingEnd = Encoding.ASCII.GetBytes(OrderLines.Header, _pending);
                    }
                    else
                    {
                        _pendingEnd = _lines.Next(_pending);
                    }
                }

                var n = Math.Min(buffer.Length - written, _pendingEnd - _pendingStart);
                _pending.AsSpan(_pendingStart, n).CopyTo(buffer[written..]);
                _pendingStart += n;
                written += n;
                _position += n;
            }

            return written;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
