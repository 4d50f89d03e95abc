using System.IO.Compression;

namespace iCrm.Core.Drops;

/// <summary>Why a compressed drop could not be read whole: a drop-level fact, not a row's.</summary>
/// <param name="Reason"><see cref="ArchiveReasons.Truncated"/> or <see cref="ArchiveReasons.Corrupt"/>.</param>
/// <param name="Message">What was found, without any of the file's content.</param>
public sealed record ArchiveProblem(string Reason, string Message);

/// <summary>Stable reason codes for drops whose archive cannot be read whole.</summary>
public static class ArchiveReasons
{
    /// <summary>The gzip data ends before its trailer: the file was cut (an upload or export that stopped half-way).</summary>
    public const string Truncated = "truncated_archive";

    /// <summary>The gzip data is not valid (bad header, bad deflate data, or a checksum that does not match).</summary>
    public const string Corrupt = "corrupt_archive";
}

/// <summary>
/// Decompresses gzip and proves the data was read whole. .NET's <see cref="GZipStream"/> reports a cut-off file as a
/// normal end of stream, so without this a half-uploaded <c>.csv.gz</c> reads as a shorter, "complete" file. At the end
/// of the stream the last 4 bytes of the compressed input (the gzip trailer's ISIZE, RFC 1952) must be the length of the
/// data decompressed; a cut file ends in deflate data instead, which matches with odds of about 2^-32. zlib checks the
/// trailer's CRC-32 itself: invalid deflate data or a wrong checksum (<see cref="InvalidDataException"/>) ends the stream
/// too. Either way the stream then reports its
/// end and <see cref="Problem"/> says why, so the reader never hands out a row read after the break.
/// </summary>
/// <remarks>
/// A file of several gzip members (<c>cat a.gz b.gz</c>, BGZF) carries the last member's trailer only. .NET returns a
/// member's last bytes before reading the next member, so member boundaries are read boundaries: such a file is accepted
/// when the trailer's length matches the data after one of them (its CRC cannot be checked without the member's start).
/// </remarks>
internal sealed class CheckedGzipStream : Stream
{
    private readonly CompressedTail _tail;
    private readonly GZipStream _gzip;
    private readonly List<long> _readEnds = [];
    private long _length;
    private bool _ended;

    public CheckedGzipStream(Stream compressed)
    {
        _tail = new CompressedTail(compressed);
        _gzip = new GZipStream(_tail, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>Null while the data is sound (and at a sound end); set once the archive proved cut or corrupt.</summary>
    public ArchiveProblem? Problem { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> destination)
    {
        if (_ended || destination.IsEmpty)
        {
            return 0;
        }

        int n;
        try
        {
            n = _gzip.Read(destination);
        }
        catch (InvalidDataException e)
        {
            return End(new ArchiveProblem(ArchiveReasons.Corrupt, $"The gzip data is invalid after {_length:N0} decompressed bytes: {e.Message}"));
        }

        if (n == 0)
        {
            return End(Verify());
        }

        _length += n;
        _readEnds.Add(_length);
        return n;
    }

    private int End(ArchiveProblem? problem)
    {
        _ended = true;
        Problem = problem;
        return 0;
    }

    private ArchiveProblem? Verify()
    {
        if (!_tail.TryGetTrailerSize(out var size))
        {
            return new ArchiveProblem(ArchiveReasons.Truncated, $"The gzip file is too short to hold a trailer ({_tail.Length} bytes).");
        }

        if (size == (uint)_length)
        {
            return null; // zlib checked the CRC-32 against the data already (a mismatch is an InvalidDataException)
        }

        // Several members: the trailer describes the last one, which starts at an earlier read boundary.
        for (var i = _readEnds.Count - 2; i >= 0; i--)
        {
            if ((uint)(_length - _readEnds[i]) == size)
            {
                return null;
            }
        }

        return new ArchiveProblem(ArchiveReasons.Truncated,
            $"The gzip file ends early: its last bytes are not a trailer for the {_length:N0} bytes decompressed ({_tail.Length:N0} compressed bytes read).");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gzip.Dispose();
        }

        base.Dispose(disposing);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Passes the compressed bytes through, keeping the last 8 (the trailer, once the input has ended).</summary>
    private sealed class CompressedTail(Stream inner) : Stream
    {
        private readonly byte[] _last = new byte[8];

        public override long Length => _read;

        private long _read;

        /// <summary>The trailer's ISIZE: the length of the (last member's) data modulo 2^32.</summary>
        public bool TryGetTrailerSize(out uint size)
        {
            size = 0;
            if (_read < 18) // the smallest gzip file: 10-byte header, empty deflate block, 8-byte trailer
            {
                return false;
            }

            Span<byte> isize = stackalloc byte[4];
            for (var i = 0; i < 4; i++)
            {
                isize[i] = _last[(int)((_read - 4 + i) % 8)];
            }

            size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(isize);
            return true;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            var n = inner.Read(destination);
            var keep = destination[Math.Max(0, n - 8)..n];
            _read += n - keep.Length;
            foreach (var b in keep)
            {
                _last[(int)(_read++ % 8)] = b;
            }

            return n;
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
