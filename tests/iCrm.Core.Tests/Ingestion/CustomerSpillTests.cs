using iCrm.Core.Drops;
using iCrm.Core.Ingestion;

namespace iCrm.Core.Tests.Ingestion;

public sealed class CustomerSpillTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("icrm-spill-unit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly DateTimeOffset When = new(2025, 3, 1, 14, 30, 15, TimeSpan.FromHours(-5));

    public static TheoryData<DropRecord[]> Records() => new()
    {
        new DropRecord[]
        {
            new OrderRecord("web", "42", 2, "O1", 1, When, "P1", 2m, 19.98m, "web", "EUR", false),
            new OrderRecord("web", "42", 3, "O1", 2, When, null, -1m, -5.5m, "web", null, true), // same order, return, no product
            new OrderRecord("web", "7", 1_000_000_000_000, "O2", 1, When.AddYears(-30), "P∑ü", 0.0001m, 79228162514264337593543950335m, "app", "EUR", false),
            new OrderRecord("web", "7", 5, "O3", 3, DateTimeOffset.MinValue, "P1", decimal.MinValue, 1.10m, "web", "USD", false), // lines can go backwards
        },
        new DropRecord[]
        {
            new EventRecord("app", "c-1", 2, "E1", When, "page_view", "P1", null, "app"),
            new EventRecord("app", "c-1", 3, null, When.AddSeconds(1), "purchase", null, 12.345m, "app"),
            new EventRecord("app", "c-2", 4, "E3", When.ToOffset(TimeSpan.FromMinutes(330)), "page_view", "P1", 0m, "web"),
        },
        new DropRecord[]
        {
            new FeedbackRecord("cc", "9", 2, "F1", When, "Great service, thanks!", 5, "call"),
            new FeedbackRecord("cc", "9", 3, null, When, "Great service, thanks!", null, "call"),
            new FeedbackRecord("cc", "10", 4, "F3", When, new string('ł', 40_000), 0, "email"), // larger than a block
            new FeedbackRecord("cc", "10", 5, "F4", When, "", 1, "email"),
        },
        new DropRecord[]
        {
            new SubscriptionRecord("billing", "1", 2, "gold", new DateOnly(2024, 1, 1), null, 9.99m, "month"),
            new SubscriptionRecord("billing", "1", 3, "gold", new DateOnly(2024, 1, 1), new DateOnly(2024, 12, 31), null, null),
            new SubscriptionRecord("billing", "2", 4, "silver", DateOnly.MinValue, DateOnly.MaxValue, 0m, "year"),
        },
    };

    [Theory]
    [MemberData(nameof(Records))]
    public void Every_record_comes_back_equal_in_file_order_within_its_bucket(DropRecord[] records)
    {
        using var spill = new CustomerSpill(_directory, buckets: 3);
        foreach (var record in records)
        {
            spill.Add(record);
        }
        spill.Complete();

        var read = Enumerable.Range(0, spill.BucketCount).SelectMany(b => spill.ReadBucket(b, 100).SelectMany(w => w.ToList())).ToList();

        Assert.Equal(records.Length, spill.Records);
        Assert.Equal(records.Length, read.Count);
        foreach (var group in records.GroupBy(r => CustomerSpill.BucketOf(r.Source, r.SourceCustomerId, 3)))
        {
            var bucket = spill.ReadBucket(group.Key, 100).SelectMany(w => w.ToList()).ToList();
            Assert.Equal(group.ToList(), bucket); // records compare by value, decimals by value and scale below
            Assert.Equal(group.OfType<OrderRecord>().Select(o => o.Amount.Scale), bucket.OfType<OrderRecord>().Select(o => o.Amount.Scale));
            Assert.Equal(group.OfType<OrderRecord>().Select(o => o.OrderDate.Offset), bucket.OfType<OrderRecord>().Select(o => o.OrderDate.Offset));
        }
    }

    [Fact]
    public void Each_customer_lands_in_one_bucket_and_large_buckets_are_read_in_windows()
    {
        using var spill = new CustomerSpill(_directory, buckets: 4);
        var records = Enumerable.Range(0, 5_000).Select(i => new OrderRecord("web", $"C{i % 50}", i + 2, $"O{i}", 1, When, $"P{i % 7}", 1m, 1m, "web", null, false)).ToList();
        records.ForEach(spill.Add);
        spill.Complete();

        var buckets = Enumerable.Range(0, 4).Select(b => spill.ReadBucket(b, maxRows: 300).Select(w => w.ToList()).ToList()).ToList();

        Assert.All(buckets.SelectMany(b => b), window => Assert.InRange(window.Count, 1, 300));
        var bucketOfCustomer = buckets.SelectMany((windows, b) => windows.SelectMany(w => w).Select(r => (r.SourceCustomerId, b))).Distinct().ToList();
        Assert.Equal(50, bucketOfCustomer.Count); // no customer in two buckets
        Assert.All(buckets, b => Assert.True(b.SelectMany(w => w).Select(r => r.Line).SequenceEqual(b.SelectMany(w => w).Select(r => r.Line).Order())));
        Assert.Equal(records.OrderBy(r => r.Line), buckets.SelectMany(b => b.SelectMany(w => w)).Cast<OrderRecord>().OrderBy(r => r.Line));
        Assert.True(spill.FileBytes > 5_000 * 10, $"{spill.FileBytes} bytes written");
    }

    [Fact]
    public void The_bucket_of_a_customer_is_stable_across_processes()
    {
        // string.GetHashCode differs per process; a re-run must put each customer in the same bucket.
        Assert.Equal(CustomerSpill.BucketOf("web", "42", 1024), CustomerSpill.BucketOf("web", "42", 1024));
        Assert.Equal(Fnv("web\uffff42") % 1024, (uint)CustomerSpill.BucketOf("web", "42", 1024));
        Assert.NotEqual(CustomerSpill.BucketOf("web", "42", 1 << 20), CustomerSpill.BucketOf("web4", "2", 1 << 20));

        static uint Fnv(string text)
        {
            var hash = 2166136261u;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619u;
            }
            return hash;
        }
    }

    [Theory]
    [InlineData(0, DropCompression.None, 1)]
    [InlineData(100_000, DropCompression.None, 1)]
    [InlineData(1L << 30, DropCompression.None, 683)]
    [InlineData(1L << 30, DropCompression.Gzip, CustomerSpill.MaxBuckets)]
    [InlineData(10L << 20, DropCompression.Gzip, 54)]
    public void The_bucket_count_follows_the_drop_size(long bytes, DropCompression compression, int expected) =>
        Assert.Equal(expected, CustomerSpill.BucketsFor(bytes, compression));

    [Fact]
    public void The_temporary_file_is_gone_from_the_directory_at_once_on_unix_and_on_dispose_anywhere_and_the_spill_is_used_in_order()
    {
        var spill = new CustomerSpill(_directory, buckets: 2);
        Assert.Equal(OperatingSystem.IsWindows(), File.Exists(spill.Path)); // unlinked at once on Unix: a killed process leaves nothing
        Assert.Throws<InvalidOperationException>(() => spill.ReadBucket(0, 10).ToList());
        spill.Add(new EventRecord("app", "1", 2, null, When, "view", null, null, "app"));
        spill.Complete();
        Assert.Throws<InvalidOperationException>(() => spill.Add(new EventRecord("app", "1", 3, null, When, "view", null, null, "app")));
        using (var other = new CustomerSpill(_directory, 1))
        {
            Assert.Throws<ArgumentException>(() => other.Add(new CustomerRecord("web", "1", 2, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null, null, null, new Dictionary<string, string>())));
        }

        spill.Dispose();

        Assert.False(File.Exists(spill.Path));
    }

    /// <summary>
    /// The decoder hands out one string per repeated customer id, product, channel and currency (a fixed cache keyed by
    /// the encoded bytes): whatever it evicts or cannot keep (long or non-ASCII values), every record reads back as written.
    /// </summary>
    [Fact]
    public void Many_distinct_long_and_non_ascii_values_read_back_exactly()
    {
        var day = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var random = new Random(5);
        string Customer(int i) => (i % 5) switch
        {
            0 => $"C{i}",
            1 => $"customer-with-a-rather-long-identifier-{i}", // longer than the cache keeps
            2 => $"Kundé-{i}-ß😀", // multi-byte UTF-8
            3 => new string('x', 31) + (char)('a' + i % 26), // 32 bytes: the longest kept
            _ => $"C{i % 50}", // a few that come back often
        };
        var records = new List<OrderRecord>();
        for (var i = 0; i < 30_000; i++)
        {
            var c = random.Next(12_000); // more distinct values than the cache has slots
            records.Add(new OrderRecord("web", Customer(c), 2 + i, $"O{i / 2}", 1 + i % 2, day.AddMinutes(i), i % 7 == 0 ? null : $"P{random.Next(20_000)}-é",
                1, 9.99m, i % 3 == 0 ? "web" : "Läden", i % 4 == 0 ? null : "EUR", false));
        }
        using var spill = new CustomerSpill(_directory, buckets: 1);
        foreach (var record in records)
        {
            spill.Add(record);
        }
        spill.Complete();
        var back = spill.ReadBucket(0, 100_000).SelectMany(window => window.Cast<OrderRecord>().ToList()).ToList();
        Assert.Equal(records, back);
        // A short value that comes back often is mostly handed out as the same string (the cache may evict it now and then).
        var c4 = back.Where(r => r.SourceCustomerId == "C4").Select(r => r.SourceCustomerId).ToList();
        Assert.True(c4.Count > 100);
        Assert.True(c4.Distinct(ReferenceEqualityComparer.Instance).Count() < c4.Count / 2);
    }
}
