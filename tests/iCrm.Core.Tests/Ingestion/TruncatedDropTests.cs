using System.Text;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Core.Tests.Drops;
using iCrm.Testing;
using Xunit.Abstractions;

using static iCrm.Core.Tests.Ingestion.IngestionTestData;

namespace iCrm.Core.Tests.Ingestion;

public sealed class TruncatedDropTests(ITestOutputHelper output)
{
    private const string Path = "pos/orders/export.csv.gz";

    /// <summary>Every order line of every profile, as (order id, amount): what a double-applied row would change.</summary>
    private static List<string> OrderBook(IngestionHarness harness) =>
        [.. harness.Customers.All().SelectMany(p => p.Orders.Select(o => $"{p.Id}|{o.OrderId}|{o.Line}|{o.Amount}")).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_half_truncated_csv_gz_fails_as_truncated_archive_and_says_how_many_rows_were_applied_before_the_break()
    {
        var csv = ArchiveIntegrityTests.OrdersCsv(5000);
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(csv));
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 200 }, Now);

        var report = await harness.IngestAsync(Path, full[..(full.Length / 2)]);
        output.WriteLine($"status {report.Status}, reason {report.FailureReason}, read {report.RowsRead}, applied {report.RowsAccepted}, not applied {report.RowsNotApplied}: {report.Error}");

        Assert.Equal(IngestionStatus.Failed, report.Status);
        Assert.Equal(ArchiveReasons.Truncated, report.FailureReason);
        Assert.InRange(report.RowsRead, 1, 4999);
        Assert.True(report.RowsAccepted > 0, "an export sorted by customer is applied chunk by chunk before the break");
        Assert.Equal(report.RowsRead, report.RowsAccepted + report.RowsRejected + report.DuplicatesSkipped + report.RowsNotApplied);
        Assert.Contains($"{report.RowsAccepted:N0} were applied", report.Error);
        Assert.Equal(report.RowsAccepted, harness.Customers.All().Sum(p => p.Orders.Count));
        var stored = (await harness.Ledger.GetAsync(report.Id))!.Value;
        Assert.Equal((IngestionStatus.Failed, ArchiveReasons.Truncated), (stored.Status, stored.FailureReason));
        Assert.True(harness.Quarantine.Reports.ContainsKey(report.Id));
    }

    [Fact]
    public async Task Re_uploading_the_complete_file_applies_the_rest_and_skips_what_was_applied_before_the_break()
    {
        var csv = ArchiveIntegrityTests.OrdersCsv(5000);
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(csv));
        var options = new IngestionOptions { ChunkSize = 200 };
        var clean = new IngestionHarness(options, Now);
        await clean.IngestAsync(Path, full);
        var harness = new IngestionHarness(options, Now);
        var broken = await harness.IngestAsync(Path, full[..(full.Length / 2)]);

        var retry = await harness.IngestAsync(Path, full); // the same path again: a new ETag, so a new drop

        Assert.NotEqual(broken.Id, retry.Id);
        Assert.Equal(IngestionStatus.Completed, retry.Status);
        Assert.True(retry.IsBalanced);
        Assert.Equal((5000L, 5000 - broken.RowsAccepted, broken.RowsAccepted), (retry.RowsRead, retry.RowsAccepted, retry.DuplicatesSkipped));
        Assert.Equal(OrderBook(clean), OrderBook(harness));
    }

    [Fact]
    public async Task A_corrupt_csv_gz_fails_as_corrupt_archive_without_sending_the_drop_to_retries()
    {
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(ArchiveIntegrityTests.OrdersCsv(5000)));
        for (var i = full.Length / 2; i < (full.Length / 2) + 64; i++)
        {
            full[i] ^= 0x5A;
        }
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 200 }, Now);

        var report = await harness.IngestAsync(Path, full); // returns: no exception for the host to retry on

        Assert.Equal(IngestionStatus.Failed, report.Status);
        Assert.Equal(ArchiveReasons.Corrupt, report.FailureReason);
        Assert.NotEqual(IngestionStatus.Completed, (await harness.Ledger.GetAsync(report.Id))!.Value.Status);
    }

    [Fact]
    public async Task A_grouped_activity_drop_cut_short_applies_nothing_and_reports_every_row_read_as_not_applied()
    {
        var rows = Enumerable.Range(0, 3000).Select(i => $"O{i},1,C{i % 97},2025-03-{1 + (i % 28):D2},P1,1,{1 + (i % 9)}");
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(Orders([.. rows])));
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 200 }, Now);

        var report = await harness.IngestAsync("web/orders/dated.csv.gz", full[..(full.Length * 3 / 4)]);

        Assert.Equal(ArchiveReasons.Truncated, report.FailureReason);
        Assert.Equal(0, report.RowsAccepted);
        Assert.Equal(report.RowsRead - report.RowsRejected, report.RowsNotApplied);
        Assert.Empty(harness.Customers.All());
    }

    [Fact]
    public async Task A_csv_whose_last_record_is_cut_inside_a_quoted_field_completes_with_that_record_quarantined()
    {
        var harness = new IngestionHarness(now: Now);
        var csv = "customer_id,timestamp,text\nC1,2025-01-01,\"fine\"\nC2,2025-01-02,\"cut in the mid";

        var report = await harness.IngestAsync("web/feedback/f.csv", csv);

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal((2L, 1L, 1L), (report.RowsRead, report.RowsAccepted, report.RowsRejected));
        var rejected = Assert.Single(harness.Quarantine.Rejected[report.Id]);
        Assert.Equal((3L, RejectionReasons.Malformed), (rejected.Line, rejected.Reason));
    }
}
