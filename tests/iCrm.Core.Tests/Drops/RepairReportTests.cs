using System.Text;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Testing;

using static iCrm.Core.Tests.Ingestion.IngestionTestData;

namespace iCrm.Core.Tests.Drops;

public sealed class RepairReportTests
{
    [Fact]
    public async Task Invalid_utf8_is_replaced_counted_and_the_rows_holding_it_are_flagged_with_their_line()
    {
        var harness = new IngestionHarness(now: Now);
        byte[] csv = [.. "customer_id,first_name,city\nW1,Ann,Oslo\nW2,Bj"u8, 0xC3, 0x28, .. "rn,Bergen\nW3,Eve,Caf"u8, 0xFF, .. "\n"u8];

        var report = await harness.IngestAsync("web/customers/bad-bytes.csv", csv);

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal((3L, 3L, 2L), (report.RowsRead, report.RowsAccepted, report.RowsFlagged));
        Assert.Equal(2, report.InvalidTextSequences);
        Assert.Equal(2, report.FlaggedByReason[WarningReasons.InvalidUtf8]);
        Assert.Equal([new ReportedWarning(3, "first_name", WarningReasons.InvalidUtf8), new ReportedWarning(4, "city", WarningReasons.InvalidUtf8)],
            report.Warnings);
        Assert.Contains("\uFFFD", (await harness.FindBySourceAsync("web", "W2"))!.Contact.FirstName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_drop_whose_header_names_a_column_twice_is_rejected_as_ambiguous_header()
    {
        var harness = new IngestionHarness(now: Now);

        var report = await harness.IngestAsync("web/customers/dup.csv", "customer_id,email,E-Mail\nW1,a@example.com,b@example.com\n");

        Assert.Equal(IngestionStatus.Rejected, report.Status);
        Assert.Equal(RejectionReasons.AmbiguousHeader, report.FailureReason);
        Assert.Equal(["E-Mail"], report.DuplicateHeaders);
        Assert.Contains("Ingestion__Sources__web__DuplicateColumns", report.Error);
        Assert.Empty(harness.Customers.All());
        Assert.True(report.IsBalanced);
    }

    [Theory]
    [InlineData("first", "a@example.com", "one")]
    [InlineData("last", "b@example.com", "two")]
    public async Task A_setting_picks_which_duplicate_column_wins_and_rows_whose_values_differ_are_flagged(string rule, string email, string note)
    {
        var harness = new IngestionHarness(now: Now);
        harness.Options.Sources["web"] = new ValidationSettings { DuplicateColumns = rule };
        var csv = "customer_id,email,E-Mail,note,Note\nW1,a@example.com,b@example.com,one,two\nW2,c@example.com,c@example.com,same,same\n";

        var report = await harness.IngestAsync("web/customers/dup.csv", csv);

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal(["E-Mail", "Note"], report.DuplicateHeaders!.Order());
        Assert.Equal((2L, 1L), (report.RowsAccepted, report.RowsFlagged));
        Assert.Equal(1, report.FlaggedByReason[WarningReasons.DuplicateHeader]);
        Assert.Equal(2, Assert.Single(report.Warnings).Line);
        var w1 = (await harness.FindBySourceAsync("web", "W1"))!;
        Assert.Equal(email, w1.Contact.Email);
        Assert.Equal(note, w1.Attributes["note"]);
        Assert.Single(w1.Attributes); // the second column is not an attribute of its own
    }

    [Fact]
    public async Task A_json_key_given_twice_flags_the_row_and_the_first_value_wins_by_default()
    {
        var harness = new IngestionHarness(now: Now);
        var jsonl = "{\"customer_id\":\"W1\",\"email\":\"a@example.com\",\"email\":\"b@example.com\"}\n{\"customer_id\":\"W2\",\"email\":\"c@example.com\"}\n";

        var report = await harness.IngestAsync("web/customers/c.jsonl", jsonl);

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal((2L, 1L), (report.RowsAccepted, report.RowsFlagged));
        Assert.Equal(new ReportedWarning(1, "email", WarningReasons.DuplicateKey), Assert.Single(report.Warnings));
        Assert.Equal("a@example.com", (await harness.FindBySourceAsync("web", "W1"))!.Contact.Email);
    }

    [Fact]
    public void A_file_without_invalid_bytes_marks_no_row_even_when_it_holds_a_real_replacement_character()
    {
        using var reader = new DropReader(new MemoryStream(Encoding.UTF8.GetBytes("customer_id,city\nW1,Caf\uFFFD\n")), DropPath.Parse("web/customers/c.csv"));

        Assert.True(reader.TryReadRow(out var row));
        Assert.Equal(0, reader.InvalidSequences);
        Assert.False(row.HasInvalidText);
    }
}
