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
}
