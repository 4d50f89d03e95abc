namespace iCrm.Core.Drops;

/// <summary>
/// Lets the synchronous parser run over a network stream without blocking on I/O: the async batch API tops this
/// buffer up with <see cref="PrefetchAsync"/> between rows, and the parser's synchronous reads are then served from
/// memory. If the buffer ever runs dry (a record larger than the prefetch window), it falls back to a synchronous
/// read rather than failing.
/// </summary>
internal sealed class PrefetchingStream(Stream inner) : Stream
{
    private byte[] _buffer = [];
    private int _start;
    private int _end;
    private bool _innerEnded;

    public int Buffered => _end - _start;

    public bool InnerEnded => _innerEnded;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public async ValueTask PrefetchAsync(int bytes, CancellationToken cancellationToken)
    {
        if (_innerEnded || Buffered >= bytes)
        {
            return;
        }

        if (_buffer.Length < bytes)
        {
            var bigger = new byte[bytes];
            _buffer.AsSpan(_start, Buffered).CopyTo(bigger);
            (_buffer, _end, _start) = (bigger, Buffered, 0);
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, Buffered).CopyTo(_buffer);
            (_end, _start) = (Buffered, 0);
        }

        while (_end < bytes)
        {
            var n = await inner.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                _innerEnded = true;
                return;
            }

            _end += n;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> destination)
    {
        if (Buffered == 0)
        {
            return _innerEnded ? 0 : inner.Read(destination);
        }

        var n = Math.Min(destination.Length, Buffered);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
