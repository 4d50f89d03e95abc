using System.Text;
using iCrm.Core.Drops;

namespace iCrm.Core.Tests.Drops;

public class DropReaderAsyncTests
{
    [Theory]
    [InlineData("pos/orders/o.csv")]
    [InlineData("pos/orders/o.csv.gz")]
    public async Task Async_reading_never_blocks_on_the_stream_and_yields_the_same_rows(string blobPath)
    {
        var sb = new StringBuilder("order_id,customer_id,order_date,amount\n");
        for (var i = 0; i < 40_000; i++)
        {
            sb.Append($"O{i},C{i % 500},2024-01-01,\"{i},5\"\n");
        }

        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        if (blobPath.EndsWith(".gz"))
        {
            bytes = DropTestKit.Gzip(bytes);
        }

        var path = DropPath.Parse(blobPath);
        var rows = new List<RawRow>();
        await foreach (var row in DropReader.ReadAsync(new AsyncOnlyStream(bytes), path))
        {
            rows.Add(row);
        }

        Assert.Equal(40_000, rows.Count);
        Assert.Equal("O39999", rows[^1][DropColumn.OrderId].ToString());
        Assert.Equal("39999,5", rows[^1][DropColumn.Amount].ToString());
        Assert.Equal(40_001, rows[^1].Line);
    }

    [Theory]
    [InlineData("pos/orders/o.csv")]
    [InlineData("pos/orders/o.jsonl")]
    public async Task Reusing_buffers_between_batches_reads_the_same_rows(string blobPath)
    {
        // Rows of very different lengths (some longer than a block), so blocks fill, retire and are reused.
        var random = new Random(3);
        var csv = new StringBuilder("order_id,customer_id,order_date,amount,note\n");
        var jsonl = new StringBuilder();
        for (var i = 0; i < 5_000; i++)
        {
            var note = new string((char)('a' + i % 26), i % 997 == 0 ? 40_000 : random.Next(0, 300));
            csv.Append($"O{i},C{i % 50},2024-01-01,{i}.5,{note}\n");
            jsonl.Append($"{{\"order_id\":\"O{i}\",\"customer_id\":\"C{i % 50}\",\"order_date\":\"2024-01-01\",\"amount\":\"{i}.5\",\"note\":\"{note}\"}}\n");
        }
        var bytes = Encoding.UTF8.GetBytes(blobPath.EndsWith(".csv", StringComparison.Ordinal) ? csv.ToString() : jsonl.ToString());

        async Task<List<string>> ReadAsync(bool reuse)
        {
            using var reader = new DropReader(new MemoryStream(bytes), DropPath.Parse(blobPath),
                DropReadOptions.Default with { ReuseBuffersBetweenBatches = reuse });
            var seen = new List<string>();
            var batch = new List<RawRow>();
            while (await reader.ReadBatchAsync(batch, 97) > 0)
            {
                // A batch's rows are read before the next batch, as the contract says.
                seen.AddRange(batch.Select(r => $"{r.Line}|{r[DropColumn.OrderId]}|{r[DropColumn.CustomerId]}|{r[DropColumn.Amount]}|{r.UnknownColumns.FirstOrDefault().Value?.Length}|{r.RawText.Length}"));
                batch.Clear();
            }
            return seen;
        }

        var reused = await ReadAsync(reuse: true);

        Assert.Equal(5_000, reused.Count);
        Assert.Equal(await ReadAsync(reuse: false), reused);
    }

    [Fact]
    public async Task Batches_are_filled_up_to_the_requested_size()
    {
        var bytes = Encoding.UTF8.GetBytes("customer_id\n1\n2\n3\n4\n5\n");
        using var reader = new DropReader(new AsyncOnlyStream(bytes), DropPath.Parse("web/customers/c.csv"));
        var batch = new List<RawRow>();

        Assert.Equal(2, await reader.ReadBatchAsync(batch, 2));
        Assert.Equal(2, await reader.ReadBatchAsync(batch, 2));
        Assert.Equal(1, await reader.ReadBatchAsync(batch, 2));
        Assert.Equal(0, await reader.ReadBatchAsync(batch, 2));
        Assert.Equal(["1", "2", "3", "4", "5"], batch.Select(r => r[DropColumn.CustomerId].ToString()));
    }

    /// <summary>A network-like stream: synchronous reads are a bug.</summary>
    private sealed class AsyncOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("Synchronous read.");

        public override int Read(Span<byte> buffer) => throw new InvalidOperationException("Synchronous read.");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            return _inner.Read(buffer.Span.Length > 4096 ? buffer.Span[..4096] : buffer.Span);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
