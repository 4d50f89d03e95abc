using iCrm.Core.Drops;

namespace iCrm.Core.Tests.Drops;

public class DropPathTests
{
    [Theory]
    [InlineData("web/orders/2024-03-01.csv", "web", DropEntity.Orders, DropFormat.Csv, DropCompression.None)]
    [InlineData("drops/pos/customers/export.CSV.gz", "pos", DropEntity.Customers, DropFormat.Csv, DropCompression.Gzip)]
    [InlineData("/drops/app/events/e.jsonl", "app", DropEntity.Events, DropFormat.JsonLines, DropCompression.None)]
    [InlineData("call_center-2/feedback/f.ndjson.gz", "call_center-2", DropEntity.Feedback, DropFormat.JsonLines, DropCompression.Gzip)]
    [InlineData("erp/subscriptions/s.tsv", "erp", DropEntity.Subscriptions, DropFormat.Csv, DropCompression.None)]
    public void Source_entity_format_and_compression_come_from_the_path(string blobPath, string source, DropEntity entity, DropFormat format, DropCompression compression)
    {
        Assert.True(DropPath.TryParse(blobPath, out var path, out var error), error);
        Assert.Equal(source, path.Source);
        Assert.Equal(entity, path.Entity);
        Assert.Equal(format, path.Format);
        Assert.Equal(compression, path.Compression);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("web/orders.csv", "{source}/{entity}/{file}")]
    [InlineData("web/orders/sub/x.csv", "{source}/{entity}/{file}")]
    [InlineData("Web/orders/x.csv", "lower-case")]
    [InlineData("web/invoices/x.csv", "customers, orders")]
    [InlineData("web/orders/x.xlsx", "unsupported")]
    [InlineData("web/orders/x.gz", "unsupported")]
    public void Paths_outside_the_contract_are_refused_with_a_reason(string blobPath, string expectedInError)
    {
        Assert.False(DropPath.TryParse(blobPath, out _, out var error));
        Assert.Contains(expectedInError, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Drop_id_is_the_first_32_hex_chars_of_sha256_over_container_path_and_unquoted_etag()
    {
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("drops/web/orders/a.csv|0x8DC1"u8.ToArray()))[..32];

        Assert.Equal(expected, DropId.Compute("drops", "web/orders/a.csv", "\"0x8DC1\""));
        Assert.Equal(expected, DropId.Compute("drops", "web/orders/a.csv", "0x8DC1"));
        Assert.NotEqual(expected, DropId.Compute("drops", "web/orders/a.csv", "0x8DC2"));
        Assert.Matches("^[0-9a-f]{32}$", expected);
    }
}
