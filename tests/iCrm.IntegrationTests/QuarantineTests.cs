using System.Text.Json.Nodes;
using iCrm.Azure;
using iCrm.Azure.Storage;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;

namespace iCrm.IntegrationTests;

/// <summary>
/// The quarantine on Azurite: <c>quarantine/{drop}/rejected.jsonl</c> holds each rejected row with its line number,
/// field, reason and raw text, in the order appended; <c>report.json</c> the drop's report; a re-run starts the rejected
/// file afresh, so it always matches the last report.
/// </summary>
public sealed class QuarantineTests
{
    [Fact]
    public async Task Rejected_rows_read_back_in_order_up_to_the_limit_and_a_drop_without_a_file_has_none()
    {
        var quarantine = new BlobQuarantine(LocalStack.Blobs());
        var dropId = "d-" + LocalStack.Unique();
        await quarantine.BeginAsync(dropId);
        await quarantine.AppendRejectedAsync(dropId, [.. Enumerable.Range(1, 5).Select(i =>
            new RowRejection(i * 10, i % 2 == 0 ? null : "email", "invalid_email", $"'x{i}@' is not a valid email address.", $"C{i},x{i}@,\"a, b\""))]);

        var rows = await quarantine.ReadAsync(dropId, 3);

        Assert.NotNull(rows);
        Assert.Equal([10L, 20L, 30L], rows.Select(r => r.Line));
        Assert.Equal("email", rows[0].Field);
        Assert.Null(rows[1].Field);
        Assert.Equal("C1,x1@,\"a, b\"", rows[0].RawText);
        Assert.Equal("'x3@' is not a valid email address.", rows[2].Message);
        Assert.Equal(5, (await quarantine.ReadAsync(dropId, 100))!.Count);
        Assert.Null(await quarantine.ReadAsync("d-" + LocalStack.Unique(), 10));
    }

    [Fact]
    public async Task Rejected_rows_and_the_report_are_written_as_the_drop_format_says()
    {
        var blobs = LocalStack.Blobs();
        var quarantine = new BlobQuarantine(blobs);
        var dropId = "d-" + LocalStack.Unique();
        var container = blobs.GetBlobContainerClient(ResourceNames.QuarantineContainer);

        Assert.Equal($"{ResourceNames.QuarantineContainer}/{dropId}/rejected.jsonl", await quarantine.BeginAsync(dropId));
        await quarantine.AppendRejectedAsync(dropId, [new RowRejection(3, "email", "InvalidEmail", "'x@' is not an email address.", "C1,x@,\"Å, quoted\"")]);
        await quarantine.AppendRejectedAsync(dropId, []);
        await quarantine.AppendRejectedAsync(dropId, [
            new RowRejection(7, null, "ColumnCount", "The row has 4 fields; the header has 3.", "a,b,c,d"),
            new RowRejection(9, "order_date", "FutureDate", "2099-01-01 is in the future.", "O9,C9,2099-01-01"),
        ]);

        var lines = await ReadLinesAsync(container, $"{dropId}/rejected.jsonl");
        Assert.Equal(3, lines.Count);
        Assert.Equal([3L, 7L, 9L], lines.Select(l => l["line"]!.GetValue<long>()));
        Assert.Equal(["email", null, "order_date"], lines.Select(l => l["field"]?.GetValue<string>()));
        Assert.Equal(["InvalidEmail", "ColumnCount", "FutureDate"], lines.Select(l => l["reason"]!.GetValue<string>()));
        Assert.Equal("C1,x@,\"Å, quoted\"", lines[0]["raw"]!.GetValue<string>());
        Assert.Equal("'x@' is not an email address.", lines[0]["message"]!.GetValue<string>());

        var report = new IngestionReport { Id = dropId, BlobPath = "drops/web/customers/a.csv", ETag = "\"1\"", RowsRead = 10, RowsAccepted = 7, RowsRejected = 3 };
        report.RejectedByReason["InvalidEmail"] = 1;
        Assert.Equal($"{ResourceNames.QuarantineContainer}/{dropId}/report.json", await quarantine.WriteReportAsync(report));
        var written = JsonNode.Parse((await container.GetBlobClient($"{dropId}/report.json").DownloadContentAsync()).Value.Content.ToString())!;
        Assert.Equal(10, written["rowsRead"]!.GetValue<long>());
        Assert.Equal(3, written["rowsRejected"]!.GetValue<long>());
        Assert.Equal(1, written["rejectedByReason"]!["InvalidEmail"]!.GetValue<long>());

        // A re-run of the drop starts the rejected rows afresh.
        await quarantine.BeginAsync(dropId);
        await quarantine.AppendRejectedAsync(dropId, [new RowRejection(9, "order_date", "FutureDate", "2099-01-01 is in the future.", "O9,C9,2099-01-01")]);
        Assert.Equal([9L], (await ReadLinesAsync(container, $"{dropId}/rejected.jsonl")).Select(l => l["line"]!.GetValue<long>()));
    }

    private static async Task<List<JsonNode>> ReadLinesAsync(global::Azure.Storage.Blobs.BlobContainerClient container, string path)
    {
        var text = (await container.GetBlobClient(path).DownloadContentAsync()).Value.Content.ToString();
        Assert.EndsWith("\n", text);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)];
    }
}
