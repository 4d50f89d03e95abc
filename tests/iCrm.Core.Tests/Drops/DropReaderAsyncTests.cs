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
