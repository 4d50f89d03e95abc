using System.Text;
using iCrm.Core.Drops;

namespace iCrm.Core.Tests.Drops;

public sealed class ArchiveIntegrityTests
{
    private const string Header = "order_id,line,customer_id,order_date,product_id,quantity,unit_price";

    internal static string OrdersCsv(int rows, int customers = 300) =>
        Header + "\n" + string.Concat(Enumerable.Range(0, rows).Select(i =>
            $"O{i:D5},1,C{i * customers / rows:D4},2025-03-{1 + (i % 28):D2},P{i % 50},{1 + (i % 3)},{10 + (i % 90)}.{i % 100:D2}\n"));

    private static (List<RawRow> Rows, ArchiveProblem? Problem) ReadAll(byte[] bytes, string path = "pos/orders/o.csv.gz")
    {
        using var reader = new DropReader(new MemoryStream(bytes), DropPath.Parse(path));
        var rows = new List<RawRow>();
        while (reader.TryReadRow(out var row))
        {
            rows.Add(row);
        }
        return (rows, reader.ArchiveProblem);
    }

    [Fact]
    public void A_gzip_cut_in_half_is_reported_as_truncated_and_every_row_handed_out_is_a_whole_row_of_the_file()
    {
        var csv = OrdersCsv(5000);
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(csv));

        var (rows, problem) = ReadAll(full[..(full.Length / 2)]);

        Assert.Equal(ArchiveReasons.Truncated, problem?.Reason);
        Assert.InRange(rows.Count, 1, 4999);
        var lines = csv.Split('\n');
        Assert.All(rows, r => Assert.Equal(lines[r.Line - 1], r.RawText));
    }

    [Fact]
    public void A_gzip_with_damaged_deflate_data_is_reported_as_corrupt()
    {
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(OrdersCsv(5000)));
        var damaged = full.ToArray();
        for (var i = damaged.Length / 2; i < (damaged.Length / 2) + 64; i++)
        {
            damaged[i] ^= 0x5A;
        }

        var (rows, problem) = ReadAll(damaged);

        Assert.Equal(ArchiveReasons.Corrupt, problem?.Reason);
        Assert.True(rows.Count < 5000);
    }

    [Fact]
    public void A_gzip_whose_checksum_does_not_match_its_data_is_reported_as_corrupt()
    {
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(OrdersCsv(50)));
        full[^8] ^= 0xFF; // the trailer's CRC-32

        var (_, problem) = ReadAll(full);

        Assert.Equal(ArchiveReasons.Corrupt, problem?.Reason);
    }

    [Fact]
    public void A_file_named_gz_that_is_not_gzip_is_reported_as_corrupt()
    {
        var (rows, problem) = ReadAll(Encoding.UTF8.GetBytes(OrdersCsv(10)));

        Assert.Equal(ArchiveReasons.Corrupt, problem?.Reason);
        Assert.Empty(rows);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    public void A_gzip_too_short_for_a_trailer_is_truncated(int length)
    {
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(OrdersCsv(10)));

        var (_, problem) = ReadAll(full[..length]);

        Assert.Equal(ArchiveReasons.Truncated, problem?.Reason);
    }

    [Fact]
    public void A_whole_gzip_and_a_file_of_several_gzip_members_are_read_whole_without_a_problem()
    {
        var csv = OrdersCsv(3000);
        var cut = csv.IndexOf('\n', csv.Length / 2) + 1;
        var members = DropTestKit.Gzip(Encoding.UTF8.GetBytes(csv[..cut])).Concat(DropTestKit.Gzip(Encoding.UTF8.GetBytes(csv[cut..]))).ToArray();

        var whole = ReadAll(DropTestKit.Gzip(Encoding.UTF8.GetBytes(csv)));
        var concatenated = ReadAll(members);

        Assert.Null(whole.Problem);
        Assert.Equal(3000, whole.Rows.Count);
        Assert.Null(concatenated.Problem);
        Assert.Equal(3000, concatenated.Rows.Count);
    }

    [Fact]
    public void A_truncated_json_lines_gzip_is_reported_too()
    {
        var jsonl = string.Concat(Enumerable.Range(0, 2000).Select(i => $"{{\"customer_id\":\"C{i}\",\"timestamp\":\"2025-01-01\",\"type\":\"view\"}}\n"));
        var full = DropTestKit.Gzip(Encoding.UTF8.GetBytes(jsonl));

        var (rows, problem) = ReadAll(full[..(full.Length * 2 / 3)], "web/events/e.jsonl.gz");

        Assert.Equal(ArchiveReasons.Truncated, problem?.Reason);
        Assert.All(rows, r => Assert.Null(r.MalformedReason));
    }
}
