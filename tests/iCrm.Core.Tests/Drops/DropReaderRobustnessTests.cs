using System.Text;
using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

/// <summary>Whatever bytes arrive, reading never throws, never loses count, and line numbers only move forward.</summary>
public class DropReaderRobustnessTests
{
    [Theory]
    [InlineData("web/orders/x.csv", 1)]
    [InlineData("web/orders/x.csv", 2)]
    [InlineData("web/orders/x.csv", 3)]
    [InlineData("web/customers/x.jsonl", 4)]
    [InlineData("web/customers/x.jsonl", 5)]
    public void Random_garbage_never_throws_and_every_row_is_accounted_for(string blobPath, int seed)
    {
        var random = new Random(seed);
        const string alphabet = "ab1,;\t|\"\r\n {}[]:\\é\uFEFF";
        for (var file = 0; file < 200; file++)
        {
            var sb = new StringBuilder(blobPath.EndsWith(".csv") ? "order_id,customer_id,order_date,amount\n" : "");
            var length = random.Next(0, 400);
            for (var i = 0; i < length; i++)
            {
                sb.Append(alphabet[random.Next(alphabet.Length)]);
            }

            var result = Ingest(sb.ToString(), blobPath, read: new DropReadOptions { MaxRecordChars = 64 });

            result.AssertAccounting();
            for (var i = 1; i < result.Rows.Count; i++)
            {
                Assert.True(result.Rows[i].Line > result.Rows[i - 1].Line);
            }
        }
    }

    [Fact]
    public void A_drop_far_larger_than_the_read_buffer_streams_through_with_exact_counts()
    {
        var sb = new StringBuilder("order_id,customer_id,order_date,amount,note\r\n");
        for (var i = 0; i < 50_000; i++)
        {
            sb.Append(i % 1000 == 0 ? $"O{i},C{i},2024-01-01,-1,x\r\n" : $"O{i},C{i},2024-01-01,{i % 97}.5,\"a, \"\"b\"\"\"\r\n");
        }

        var result = Ingest(sb.ToString(), "pos/orders/big.csv.gz");

        Assert.Equal(50_000, result.Rows.Count);
        Assert.Equal(50, result.Rejected);
        Assert.All(result.Rejections, r => Assert.Equal(RejectionReasons.NegativeAmount, r.Reason));
        Assert.Equal(50_001, result.Rows[^1].Line);
        result.AssertAccounting();
    }

    [Theory]
    [InlineData("k,\"ab")]
    [InlineData("k,\"\"\"x")]
    [InlineData("k,\"\"\"\"\"x,\"")]
    public void Files_full_of_stray_quotes_are_read_in_one_pass_with_every_line_accounted_for(string pattern)
    {
        var sb = new StringBuilder("customer_id,first_name\n");
        for (var i = 0; i < 20_000; i++)
        {
            sb.Append(pattern.Replace("k", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).Append('\n');
        }

        var result = Ingest(sb.ToString(), "web/customers/c.csv", read: new DropReadOptions { MaxRecordChars = 10_000 });

        result.AssertAccounting();
        Assert.InRange(result.Rows.Count, 1, 20_000);
        Assert.True(result.Rows.Zip(result.Rows.Skip(1)).All(p => p.Second.Line > p.First.Line));
    }

    [Fact]
    public void Separator_search_agrees_with_a_plain_loop_at_every_length_and_position()
    {
        var random = new Random(11);
        var positions = new int[2];
        for (var length = 0; length < 100; length++)
        {
            var text = new string(Enumerable.Range(0, length).Select(_ => random.Next(4) == 0 ? ';' : 'x').ToArray());
            var expected = Enumerable.Range(0, length).Where(i => text[i] == ';').ToArray();

            var count = DropReader.FindSeparators(text, ';', ref positions);

            Assert.Equal(expected, positions[..count]);
        }
    }
}
