using iCrm.Core.Ingestion;
using iCrm.Testing;
using static iCrm.Core.Tests.Ingestion.IngestionTestData;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>
/// A chunk adds a customer's next activity row without resolving it again. Whatever order a customer's rows come in, the
/// profiles and counts must be those of resolving every row on its own (one row per drop, or one row per chunk).
/// </summary>
public class CustomerRunTests
{
    private const string Path = "web/orders/run.csv";

    // A A B A B B C, then C again after a gap, and a line of A's repeated (a duplicate).
    private static readonly string[] Rows =
    [
        "O1,1,A,2025-05-01,P1,1,10",
        "O1,2,A,2025-05-01,P2,2,5",
        "O2,1,B,2025-05-02,P1,1,7",
        "O3,1,A,2025-05-03,P3,1,3",
        "O4,1,B,2025-05-04,P2,3,2",
        "O4,2,B,2025-05-04,P3,1,1",
        "O5,1,C,2025-05-05,P1,1,9",
        "O1,2,A,2025-05-01,P2,2,5",
        "O6,1,C,2025-05-06,P4,1,4",
    ];

    private static readonly string[] Customers = ["A", "B", "C"];

    [Fact]
    public async Task Customers_whose_rows_alternate_end_like_one_row_per_chunk_in_file_order()
    {
        var oneRowPerChunk = await FileOrderAsync(chunkSize: 1, Rows);
        var oneChunk = await FileOrderAsync(chunkSize: 100, Rows);
        var threeRowChunks = await FileOrderAsync(chunkSize: 3, Rows);

        Assert.Equal(9, oneRowPerChunk.Report.Chunks);
        Assert.Equal(1, oneChunk.Report.Chunks);
        Assert.Equal(("file-order", "file-order"), (oneChunk.Report.Grouping, oneRowPerChunk.Report.Grouping));
        Assert.Equal(Counts(oneRowPerChunk.Report), Counts(oneChunk.Report));
        Assert.Equal(Counts(oneRowPerChunk.Report), Counts(threeRowChunks.Report));
        var expected = await ProfilesAsync(oneRowPerChunk.Harness);
        Assert.Equal(expected, await ProfilesAsync(oneChunk.Harness));
        Assert.Equal(expected, await ProfilesAsync(threeRowChunks.Harness));
        Assert.Equal((9L, 8L, 1L, 3), (oneChunk.Report.RowsRead, oneChunk.Report.RowsAccepted, oneChunk.Report.DuplicatesSkipped, oneChunk.Report.CustomersCreated));
        Assert.Equal("A: O1/1, O1/2, O3/1", expected[0][..expected[0].IndexOf(" |", StringComparison.Ordinal)]);
        Assert.Equal("B: O2/1, O4/1, O4/2", expected[1][..expected[1].IndexOf(" |", StringComparison.Ordinal)]);
        Assert.Equal("C: O5/1, O6/1", expected[2][..expected[2].IndexOf(" |", StringComparison.Ordinal)]);
    }

    [Fact]
    public async Task Customers_whose_rows_alternate_end_like_one_drop_per_row()
    {
        var harness = new IngestionHarness(now: Now);
        var reports = new List<IngestionReport>();
        for (var i = 0; i < Rows.Length; i++)
        {
            reports.Add(await harness.IngestAsync($"web/orders/row{i}.csv", Orders(Rows[i])));
        }
        var grouped = new IngestionHarness(now: Now);
        var all = await grouped.IngestAsync(Path, Orders(Rows));
        var fileOrder = await FileOrderAsync(chunkSize: 100, Rows);

        Assert.Equal((reports.Sum(r => r.RowsAccepted), reports.Sum(r => r.DuplicatesSkipped), reports.Sum(r => r.CustomersCreated)),
            (all.RowsAccepted, all.DuplicatesSkipped, all.CustomersCreated));
        Assert.Equal((all.RowsAccepted, all.DuplicatesSkipped, all.CustomersCreated),
            (fileOrder.Report.RowsAccepted, fileOrder.Report.DuplicatesSkipped, fileOrder.Report.CustomersCreated));
        var expected = await ProfilesAsync(harness);
        Assert.Equal(expected, await ProfilesAsync(grouped));
        Assert.Equal(expected, await ProfilesAsync(fileOrder.Harness));
    }

    [Fact]
    public async Task Rows_of_two_source_ids_of_one_merged_customer_alternating_end_like_one_row_per_chunk()
    {
        // A and B are one person (same email): their rows land on one profile, however they alternate.
        async Task<(IngestionHarness Harness, IngestionReport Report)> RunAsync(int chunkSize)
        {
            var harness = new IngestionHarness(new IngestionOptions { ChunkSize = chunkSize }, Now);
            await harness.IngestAsync("web/customers/c.csv", "customer_id,email\nA,ann@example.com\nB,ann@example.com\nC,cy@example.com\n");
            await PutWithLegacyAttemptAsync(harness, Path, Orders(Rows));
            return (harness, await harness.Pipeline.IngestAsync(Path));
        }

        var perRow = await RunAsync(1);
        var together = await RunAsync(100);

        var a = (await perRow.Harness.FindBySourceAsync("web", "A"))!;
        Assert.Equal(a.Id, (await perRow.Harness.FindBySourceAsync("web", "B"))!.Id);
        Assert.Equal(6, a.Orders.Count);
        Assert.Equal(Counts(perRow.Report), Counts(together.Report));
        Assert.Equal(await ProfilesAsync(perRow.Harness), await ProfilesAsync(together.Harness));
    }

    /// <summary>A report's counts apart from how many chunks the drop was cut into.</summary>
    private static (IngestionStatus, long, long, long, long, long, long) Counts(IngestionReport r) =>
        (r.Status, r.RowsRead, r.RowsAccepted, r.RowsRejected, r.DuplicatesSkipped, r.CustomersCreated, r.CustomersUpdated);

    /// <summary>The drop applied as read (rows in file order), as after a failed attempt from before chunk plans were kept.</summary>
    private static async Task<(IngestionHarness Harness, IngestionReport Report)> FileOrderAsync(int chunkSize, string[] rows)
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = chunkSize }, Now);
        await PutWithLegacyAttemptAsync(harness, Path, Orders(rows));
        var report = await harness.Pipeline.IngestAsync(Path);
        Assert.Equal(IngestionStatus.Completed, report.Status);
        return (harness, report);
    }

    /// <summary>Per source customer: its profile's order lines, identities, match keys and monthly totals.</summary>
    private static async Task<List<string>> ProfilesAsync(IngestionHarness harness)
    {
        var result = new List<string>();
        foreach (var customer in Customers)
        {
            var profile = await harness.FindBySourceAsync("web", customer);
            Assert.NotNull(profile);
            result.Add($"{customer}: {string.Join(", ", profile.Orders.Select(o => $"{o.OrderId}/{o.Line}"))}"
                + $" | {string.Join(", ", profile.Orders.Select(o => $"{o.Date:O} {o.ProductId} {o.Quantity} {o.Amount}"))}"
                + $" | ids {string.Join(", ", profile.Identities.Select(i => $"{i.Source}:{i.SourceId}").Order(StringComparer.Ordinal))}"
                + $" | keys {string.Join(", ", profile.MatchKeys.Order(StringComparer.Ordinal))}"
                + $" | months {System.Text.Json.JsonSerializer.Serialize(profile.OrderMonths)}"
                + $" | merged {profile.MergedFrom.Count}");
        }
        var live = harness.Customers.All().Count(p => p.MergedInto is null);
        result.Add($"live profiles {live}");
        return result;
    }
}
