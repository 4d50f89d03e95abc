using iCrm.Core.Drops;
using iCrm.Core.Ingestion;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>
/// The spill's decoder hands out one string per repeated customer id, product, channel and currency (a fixed cache keyed
/// by the encoded bytes): whatever it evicts or cannot keep (long or non-ASCII values), every record reads back as written.
/// </summary>
public sealed class SpillSharedStringTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("icrm-spill-shared-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

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
