using System.Text;
using iCrm.Core.Drops;

namespace iCrm.Core.Tests.Drops;

/// <summary>
/// With <see cref="DropReadOptions.ReuseBuffersBetweenBatches"/> the reader hands out the previous batch's row objects
/// again: each batch, while it is current, must read exactly as without reuse.
/// </summary>
public class ReaderRowReuseTests
{
    private static readonly DropColumn[] Columns =
        [DropColumn.OrderId, DropColumn.CustomerId, DropColumn.OrderDate, DropColumn.Amount, DropColumn.ProductId, DropColumn.Channel];

    private static string Csv()
    {
        var text = new StringBuilder("order_id,customer_id,order_date,amount,product_id,channel,gift_note\n");
        for (var i = 0; i < 40; i++)
        {
            text.Append(i switch
            {
                3 => "O3,C3,2025-01-01,1,P3\n", // ragged: too few fields
                7 => "O7,C7,2025-01-01,1,P7,web,x,extra\n", // ragged: too many
                11 => "\"O,11\",\"C \"\"11\"\"\",2025-01-01,\"1,5\",\"P\n11\",web,\"multi\nline\"\n", // quoted, embedded newlines
                17 => "\n", // blank line
                19 => $"O19,C19,2025-01-01,1,{new string('p', 5000)},web,\n", // a long row
                23 => "O23,\"C23,2025-01-01,1,P23,web,\n", // unterminated quote swallowing the next lines
                _ => $"O{i},C{i % 6},2025-01-{1 + i % 28:00},{i}.5,P{i % 5},{(i % 2 == 0 ? "web" : "store")},note {i}\n",
            });
        }
        text.Append("O99,C99,2025-01-01,1,P99,web,last");
        return text.ToString();
    }

    private static string JsonLines()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 25; i++)
        {
            text.Append(i switch
            {
                4 => "{\"order_id\":\"O4\",\"customer_id\":\n", // invalid JSON
                9 => "[1,2]\n", // not an object
                13 => "{\"order_id\":\"O13\",\"customer_id\":\"C13\",\"amount\":1,\"extra\":{\"a\":1}}\n", // keys differ
                _ => $"{{\"order_id\":\"O{i}\",\"customer_id\":\"C{i % 4}\",\"order_date\":\"2025-02-{1 + i:00}\",\"amount\":{i}.25,\"product_id\":\"P\\u00e9{i}\",\"channel\":\"app\"}}\n",
            });
        }
        return text.ToString();
    }

    public static TheoryData<string, int> Files() => new()
    {
        { "pos/orders/o.csv", 1 },
        { "pos/orders/o.csv", 3 },
        { "pos/orders/o.csv", 1000 },
        { "app/orders/o.jsonl", 1 },
        { "app/orders/o.jsonl", 3 },
        { "app/orders/o.jsonl", 1000 },
        { "pos/orders/o.csv.gz", 3 },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Batches_read_with_reused_rows_are_the_batches_read_without(string path, int batchSize)
    {
        var withoutReuse = Batches(path, batchSize, reuse: false, out _);
        var withReuse = Batches(path, batchSize, reuse: true, out _);

        Assert.True(withoutReuse.Sum(b => b.Count) >= 20);
        Assert.Contains(withoutReuse.SelectMany(b => b), row => row.Contains("malformed=<null>"));
        Assert.Contains(withoutReuse.SelectMany(b => b), row => !row.Contains("malformed=<null>"));
        Assert.Equal(withoutReuse.Count, withReuse.Count);
        for (var b = 0; b < withoutReuse.Count; b++)
        {
            Assert.Equal(withoutReuse[b], withReuse[b]);
        }
    }

    [Theory]
    [InlineData("pos/orders/o.csv", 1)]
    [InlineData("pos/orders/o.csv", 3)]
    [InlineData("app/orders/o.jsonl", 3)]
    public void With_reuse_the_next_batch_hands_out_the_same_row_objects(string path, int batchSize)
    {
        Batches(path, batchSize, reuse: true, out var rows);
        Assert.True(rows.Count > 3);
        for (var b = 1; b < rows.Count; b++)
        {
            var shared = Math.Min(rows[b - 1].Count, rows[b].Count);
            for (var i = 0; i < shared; i++)
            {
                Assert.Same(rows[b - 1][i], rows[b][i]);
            }
        }
    }

    [Fact]
    public void Without_reuse_every_row_is_a_new_object_and_keeps_its_values()
    {
        var all = Batches("pos/orders/o.csv", 3, reuse: false, out var rows);
        var flat = rows.SelectMany(b => b).ToList();
        Assert.Equal(flat.Count, flat.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(all.SelectMany(b => b), flat.Select(Describe)); // still readable after every batch was read
    }

    /// <summary>Reads the file in batches, describing every row before the next batch is read.</summary>
    private static List<List<string>> Batches(string path, int batchSize, bool reuse, out List<List<RawRow>> rows)
    {
        var drop = DropPath.Parse(path);
        var content = drop.Format == DropFormat.Csv ? Csv() : JsonLines();
        byte[] bytes = Encoding.UTF8.GetBytes(content);
        if (drop.Compression == DropCompression.Gzip)
        {
            bytes = DropTestKit.Gzip(bytes);
        }
        using var reader = new DropReader(new MemoryStream(bytes), drop, new DropReadOptions { ReuseBuffersBetweenBatches = reuse, MaxRawTextChars = 300 });
        var batches = new List<List<string>>();
        rows = [];
        var batch = new List<RawRow>();
        while (reader.ReadBatchAsync(batch, batchSize).AsTask().GetAwaiter().GetResult() > 0)
        {
            Assert.InRange(batch.Count, 1, batchSize);
            batches.Add(batch.Select(Describe).ToList());
            rows.Add([.. batch]);
            batch.Clear();
            if (batches.Count % 2 == 0)
            {
                // Every other batch synchronously: both ways start a batch.
                if (reader.ReadBatch(batch, batchSize) == 0)
                {
                    break;
                }
                batches.Add(batch.Select(Describe).ToList());
                rows.Add([.. batch]);
                batch.Clear();
            }
        }
        return batches;
    }

    private static string Describe(RawRow row)
    {
        var text = new StringBuilder($"line={row.Line}|malformed={row.MalformedReason ?? "<null>"}|raw={row.RawText}|names={string.Join(',', row.FieldNames)}");
        foreach (var column in Columns)
        {
            text.Append('|').Append(column).Append('=').Append(row.Has(column)).Append(':').Append(row[column]);
        }
        foreach (var (header, name, value) in row.UnknownColumns)
        {
            text.Append("|?").Append(header).Append('/').Append(name).Append('=').Append(value);
        }
        return text.ToString();
    }
}
