using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

public class DropReaderJsonLinesTests
{
    [Fact]
    public void Values_of_any_json_type_become_text_and_nested_values_stay_raw_json()
    {
        var jsonl = """
            {"customer_id": 12345, "email": "a@x.com", "consent_email": true, "churned": null, "prefs": {"colour": "blue", "n": [1, 2]}, "tags": ["a","b"], "score": 1.5e2}
            """;
        var row = Assert.Single(Read(jsonl, "app/customers/c.jsonl"));

        Assert.Equal(1, row.Line);
        Assert.Equal("12345", row[DropColumn.CustomerId].ToString());
        Assert.Equal("true", row[DropColumn.ConsentEmail].ToString());
        Assert.True(row[DropColumn.Churned].IsEmpty);
        var unknown = row.UnknownColumns.ToDictionary(u => u.AttributeName, u => u.Value);
        Assert.Equal("""{"colour": "blue", "n": [1, 2]}""", unknown["prefs"]);
        Assert.Equal("""["a","b"]""", unknown["tags"]);
        Assert.Equal("1.5e2", unknown["score"]);
    }

    [Fact]
    public void Escapes_are_decoded()
    {
        var row = Assert.Single(Read("{\"customer_id\":\"1\",\"timestamp\":\"2024-01-01\",\"text\":\"Line1\\nsaid \\\"hi\\\" \\u00e9\"}\n", "app/feedback/f.jsonl"));
        Assert.Equal("Line1\nsaid \"hi\" é", row[DropColumn.Text].ToString());
    }

    [Fact]
    public void Blank_lines_are_skipped_but_counted_and_invalid_json_is_a_malformed_row()
    {
        var jsonl = "{\"customer_id\":\"1\"}\r\n\r\n   \n{\"customer_id\": \"2\"\n[1,2]\n{\"customer_id\":\"3\"} {\"x\":1}\n{\"Customer ID\":\"4\"}";
        var rows = Read(jsonl, "app/customers/c.ndjson");

        Assert.Equal(5, rows.Count);
        Assert.Equal([1L, 4L, 5L, 6L, 7L], rows.Select(r => r.Line));
        Assert.Null(rows[0].MalformedReason);
        Assert.Contains("Invalid JSON", rows[1].MalformedReason);
        Assert.Equal("{\"customer_id\": \"2\"", rows[1].RawText);
        Assert.Contains("not a JSON object", rows[2].MalformedReason);
        Assert.NotNull(rows[3].MalformedReason);
        Assert.Equal("4", rows[4][DropColumn.CustomerId].ToString());
    }

    [Fact]
    public void Keys_may_differ_from_line_to_line()
    {
        var jsonl = "{\"cust_id\":\"1\",\"mail\":\"a@x.com\"}\n{\"mail\":\"b@x.com\",\"customer_id\":\"2\",\"tier\":\"gold\"}\n{\"cust_id\":\"3\",\"mail\":\"c@x.com\"}\n";
        var rows = Read(jsonl, "app/customers/c.jsonl");

        Assert.Equal(["a@x.com", "b@x.com", "c@x.com"], rows.Select(r => r[DropColumn.Email].ToString()));
        Assert.Equal(["1", "2", "3"], rows.Select(r => r[DropColumn.CustomerId].ToString()));
        Assert.Equal("gold", rows[1].UnknownColumns.Single().Value);
        Assert.Empty(rows[2].UnknownColumns);
    }

    [Fact]
    public void Gzipped_json_lines_are_read()
    {
        var rows = Read("{\"customer_id\":\"1\"}\n{\"customer_id\":\"2\"}\n", "app/customers/c.jsonl.gz");
        Assert.Equal(2, rows.Count);
    }

    [Fact]
    public void A_missing_key_in_one_json_line_rejects_that_line_as_required_not_the_whole_file()
    {
        var result = Ingest("{\"order_id\":\"O1\",\"customer_id\":\"C1\",\"order_date\":\"2024-01-01\",\"amount\":5}\n{\"order_id\":\"O2\",\"order_date\":\"2024-01-01\",\"amount\":5}\n", "app/orders/o.jsonl");

        Assert.Equal(1, result.Accepted);
        var rejection = Assert.Single(result.Rejections);
        Assert.Equal((RejectionReasons.Required, "customer_id", 2L), (rejection.Reason, rejection.Field, rejection.Line));
        result.AssertAccounting();
    }
}
