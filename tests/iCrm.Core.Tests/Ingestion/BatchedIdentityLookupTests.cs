using System.Text;
using iCrm.Core.Ingestion;
using iCrm.Testing;

using static iCrm.Core.Tests.Ingestion.IngestionTestData;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>A chunk's identity lookups are read in one batch; claims stay create-if-absent, so a stale batch never splits a person.</summary>
public sealed class BatchedIdentityLookupTests
{
    private static string People(string source, int count, Func<int, string> id)
    {
        var csv = new StringBuilder("customer_id,email,phone,first_name,last_name\n");
        for (var i = 0; i < count; i++)
        {
            csv.Append($"{id(i)},person{i}@example.com,+1415555{i:0000},Ann{i},Lee{i}\n");
        }
        return csv.ToString();
    }

    [Fact]
    public async Task A_customers_chunk_reads_its_identity_keys_in_one_batch_not_one_read_per_key()
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 100 }, Now);
        await harness.IngestAsync("web/customers/a.csv", People("web", 50, i => $"W{i}"));
        var (batches, reads) = (harness.Identities.BatchReads, harness.Identities.PointReads);

        var report = await harness.IngestAsync("app/customers/b.csv", People("app", 50, i => $"A{i}"));

        Assert.Equal(1, report.Chunks);
        Assert.Equal(batches + 1, harness.Identities.BatchReads);
        Assert.Equal(reads, harness.Identities.PointReads); // every key (found or not) was answered by the batch
        Assert.Equal(50, harness.Customers.All().Count(p => p.MergedInto is null)); // each app record joined its web profile by email
        Assert.All(harness.Customers.All().Where(p => p.MergedInto is null), p => Assert.Equal(2, p.Identities.Count));
    }

    [Fact]
    public async Task Keys_claimed_by_another_drop_after_the_batch_read_still_lead_to_the_existing_profile()
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 100 }, Now);
        await harness.IngestAsync("web/customers/a.csv", People("web", 30, i => $"W{i}"));
        harness.Identities.StaleBatchReads = true; // the batch says every key is free: the claims must find the owners

        var report = await harness.IngestAsync("app/customers/b.csv", People("app", 30, i => $"A{i}"));

        Assert.Equal(IngestionStatus.Completed, report.Status);
        var live = harness.Customers.All().Where(p => p.MergedInto is null).ToList();
        Assert.Equal(30, live.Count);
        Assert.All(live, p => Assert.Equal(["app", "web"], p.Identities.Select(i => i.Source).Order()));
    }

    [Fact]
    public async Task Two_customers_drops_creating_the_same_people_at_once_end_with_one_profile_each()
    {
        // The same export sent twice under two names and ingested at the same time: each chunk's batch may read every key
        // as free in both drops; create-if-absent claims still give each person one profile.
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 25 }, Now);
        harness.Drops.Put("web/customers/a.csv", People("web", 100, i => $"W{i}"));
        harness.Drops.Put("web/customers/b.csv", People("web", 100, i => $"W{i}"));

        var reports = await Task.WhenAll(
            Task.Run(() => harness.Pipeline.IngestAsync("web/customers/a.csv")),
            Task.Run(() => harness.Pipeline.IngestAsync("web/customers/b.csv")));

        Assert.All(reports, r => Assert.Equal(IngestionStatus.Completed, r.Status));
        var live = harness.Customers.All().Where(p => p.MergedInto is null).ToList();
        Assert.Equal(100, live.Count);
        Assert.All(live, p => Assert.Equal("web", Assert.Single(p.Identities).Source));
    }

    /// <summary>What a run leaves in the stores, in a comparable form: every profile (live or merged) with its sources,
    /// keys and merge, and every identity document with its owner and candidates.</summary>
    private static List<string> Snapshot(IngestionHarness harness) =>
    [
        .. harness.Customers.All().Select(p => $"{p.Id} merged:{p.MergedInto} sources:{string.Join(",", p.Identities.Select(i => $"{i.Source}/{i.SourceId}").Order(StringComparer.Ordinal))} "
            + $"keys:{string.Join(",", p.MatchKeys.Order(StringComparer.Ordinal))} explained:{string.Join(",", p.MergeExplanations.Select(e => e.OtherId).Order(StringComparer.Ordinal))}"),
        .. harness.Identities.Claims.Values.Select(c => $"{c.Id} -> {c.CustomerId} [{string.Join(",", c.Candidates ?? [])}]"),
    ];

    [Theory]
    [InlineData(7)]
    [InlineData(100)]
    public async Task Identity_writes_held_per_chunk_leave_the_same_profiles_and_keys_as_writes_row_by_row(int chunkSize)
    {
        // People seen in two sources (joined by email), duplicated within a source under another id, and name-only
        // look-alikes for the probabilistic matcher: claims, merges, blocking candidates and reviews all take part.
        var web = People("web", 40, i => $"W{i}");
        var app = new StringBuilder(People("app", 30, i => $"A{i}"));
        for (var i = 0; i < 10; i++)
        {
            app.Append($"A-dup{i},person{i}@example.com,,Ann{i},Lee{i}\n");
            app.Append($"A-alike{i},,,Ann{i},Lee{i}\n");
        }
        var runs = new List<(List<string> Snapshot, List<IngestionReport> Reports)>();
        foreach (var deferred in new[] { false, true })
        {
            var harness = new IngestionHarness(new IngestionOptions { ChunkSize = chunkSize, DeferIdentityWrites = deferred }, Now);
            var reports = new List<IngestionReport>
            {
                await harness.IngestAsync("web/customers/a.csv", web),
                await harness.IngestAsync("app/customers/b.csv", app.ToString()),
            };
            runs.Add((Snapshot(harness).Order(StringComparer.Ordinal).ToList(), reports));
        }

        Assert.Equal(runs[0].Snapshot, runs[1].Snapshot);
        for (var i = 0; i < runs[0].Reports.Count; i++)
        {
            var (rowByRow, held) = (runs[0].Reports[i], runs[1].Reports[i]);
            Assert.Equal(IngestionStatus.Completed, held.Status);
            Assert.Equal((rowByRow.RowsRead, rowByRow.RowsAccepted, rowByRow.DuplicatesSkipped, rowByRow.CustomersCreated, rowByRow.CustomersMerged),
                (held.RowsRead, held.RowsAccepted, held.DuplicatesSkipped, held.CustomersCreated, held.CustomersMerged));
        }
        Assert.True(runs[1].Reports[1].CustomersMerged > 0); // the second drop did join people: the comparison covers claims that found owners
    }
}
