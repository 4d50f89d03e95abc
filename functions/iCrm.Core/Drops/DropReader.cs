using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;

namespace iCrm.Core.Drops;

/// <summary>
/// Streams the rows of one drop (CSV per RFC 4180 with a detected separator, or JSON Lines; optionally gzip) without
/// ever holding more than one record plus a read buffer. Structural problems never throw: a ragged row, an
/// unterminated quote or a line that is not a JSON object comes out as a <see cref="RawRow"/> with
/// <see cref="RawRow.MalformedReason"/> set, which the validator rejects as <c>malformed</c>. Not thread-safe.
/// </summary>
/// <remarks>
/// Rows handed out stay valid after the reader moves on (their characters live in blocks that are never reused), so
/// a caller may collect a chunk of rows before validating them.
/// </remarks>
public sealed class DropReader : IDisposable
{
    private const int ReadBufferChars = 32 * 1024;
    private const int CharBlockSize = 32 * 1024; // 64 KB: stays out of the large object heap
    private const int IntBlockSize = 16 * 1024;

    /// <summary>Bounds of a row without fields (malformed): never read.</summary>
    private static readonly int[] NoBounds = [];
    private const int PrefetchBytes = 1 << 20;
    private const int PrefetchLowWater = 256 * 1024;

    private static readonly SearchValues<char> LineOrQuote = SearchValues.Create("\r\n\"");
    private static readonly char[] CandidateSeparators = [',', ';', '\t', '|'];

    private readonly PrefetchingStream _prefetch;
    private readonly CheckedGzipStream? _decompressor;
    private readonly TextReader _text;
    private readonly DropPath _path;
    private readonly DropReadOptions _options;

    private char[] _buf;
    private int _pos;
    private int _end;
    private bool _eof;
    private long _line = 1;
    private long _bufferOffset; // position in the text of _buf[0]
    private long _lineModeUntil; // see Unterminated
    private bool _recordRanToEnd; // the record being read ended at the end of the text, not at a line break
    private bool _stoppedAtBreak;

    private readonly CountingReplacementFallback _invalid = new();
    private readonly BlockArena<char> _chars;
    private readonly BlockArena<int> _ints;


    private char[] _scratch = new char[1024];
    private int[] _scratchBounds = new int[64];
    private byte[] _utf8 = new byte[4096];

    private RowLayout? _header;
    private RowLayout? _lastJsonLayout;
    private char _separator;
    private bool _started;
    private bool _disposed;

    public DropReader(Stream stream, DropPath path, DropReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(path);
        _path = path;
        _options = options ?? DropReadOptions.Default;
        // The caller owns the stream (a blob download, a file); the reader owns only what it wraps around it.
        _prefetch = new PrefetchingStream(stream);
        _chars = new BlockArena<char>(CharBlockSize, _options.ReuseBuffersBetweenBatches);
        _ints = new BlockArena<int>(IntBlockSize, _options.ReuseBuffersBetweenBatches);
        _decompressor = path.Compression == DropCompression.Gzip ? new CheckedGzipStream(_prefetch) : null;
        // The same encoding, but invalid sequences are counted as they are replaced: a repair the report must show.
        var encoding = (Encoding)_options.Encoding.Clone();
        encoding.DecoderFallback = _invalid;
        _text = new StreamReader((Stream?)_decompressor ?? _prefetch, encoding, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024, leaveOpen: true);
        _buf = ArrayPool<char>.Shared.Rent(ReadBufferChars);
    }

    /// <summary>Reads every row of <paramref name="stream"/> lazily; the stream is read once, front to back.</summary>
    public static IEnumerable<RawRow> Read(Stream stream, DropPath path, DropReadOptions? options = null)
    {
        using var reader = new DropReader(stream, path, options);
        while (reader.TryReadRow(out var row))
        {
            yield return row;
        }
    }

    /// <summary>
    /// Reads every row asynchronously: network reads are awaited (about 1 MB ahead of the parser), parsing itself is
    /// synchronous and CPU-bound. Use this with blob download streams.
    /// </summary>
    public static async IAsyncEnumerable<RawRow> ReadAsync(Stream stream, DropPath path, DropReadOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new DropReader(stream, path, options);
        var batch = new List<RawRow>(1024);
        while (await reader.ReadBatchAsync(batch, 1024, cancellationToken).ConfigureAwait(false) > 0)
        {
            foreach (var row in batch)
            {
                yield return row;
            }

            batch.Clear();
        }
    }

    /// <summary>
    /// Like <see cref="ReadBatch"/>, but awaits the underlying stream instead of blocking on it: before and during the
    /// batch the next megabyte is fetched asynchronously, so the parser's reads are served from memory.
    /// </summary>
    public async ValueTask<int> ReadBatchAsync(ICollection<RawRow> batch, int max, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        StartBatch();
        var n = 0;
        while (n < max)
        {
            if (_prefetch.Buffered < PrefetchLowWater && !_prefetch.InnerEnded)
            {
                await _prefetch.PrefetchAsync(PrefetchBytes, cancellationToken).ConfigureAwait(false);
            }

            if (!TryReadRow(out var row))
            {
                break;
            }

            batch.Add(row);
            n++;
        }

        return n;
    }

    /// <summary>
    /// The CSV header as written (empty for JSON Lines, whose keys may differ per line). Read it after the first batch
    /// when reading asynchronously; asked earlier, it reads the header line synchronously.
    /// </summary>
    public IReadOnlyList<string> Header
    {
        get
        {
            EnsureStarted();
            return _header?.Names ?? [];
        }
    }

    /// <summary>Required columns missing from the CSV header: a drop-level problem; every row is also rejected as <c>missing_column</c>.</summary>
    public IReadOnlyList<DropColumn> MissingColumns
    {
        get
        {
            EnsureStarted();
            return _header?.MissingColumns ?? [];
        }
    }

    /// <summary>The CSV separator in use (detected or declared).</summary>
    public char Separator
    {
        get
        {
            EnsureStarted();
            return _separator;
        }
    }

    /// <summary>
    /// Why a compressed drop could not be read whole (cut off, or corrupt), once that is known. Every row delimited by a
    /// line break before the break is still handed out; the record the break cut (it runs to the end of the text) is not,
    /// and reading ends there. Check it when reading ends: a drop with a problem was not read whole and must not be
    /// reported complete.
    /// </summary>
    public ArchiveProblem? ArchiveProblem => _decompressor?.Problem;

    /// <summary>Invalid byte sequences the decoder replaced with U+FFFD so far (rows holding one are marked).</summary>
    public long InvalidSequences => _invalid.Count;

    /// <summary>Header names of columns the CSV header names twice (empty for JSON Lines: see rows' duplicate keys).</summary>
    public IReadOnlyList<string> DuplicateHeaders
    {
        get
        {
            EnsureStarted();
            return _header?.DuplicateNames ?? [];
        }
    }

    /// <summary>Rows handed out so far (blank lines and the header are not rows).</summary>
    public long RowsRead { get; private set; }

    /// <summary>Fills <paramref name="batch"/> with up to <paramref name="max"/> rows; returns how many were added (0 at the end).</summary>
    public int ReadBatch(ICollection<RawRow> batch, int max)
    {
        StartBatch();
        var n = 0;
        while (n < max && TryReadRow(out var row))
        {
            batch.Add(row);
            n++;
        }

        return n;
    }

    public bool TryReadRow([NotNullWhen(true)] out RawRow? row)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnsureStarted();
        if (_stoppedAtBreak)
        {
            row = null;
            return false;
        }

        _recordRanToEnd = false;
        row = _path.Format == DropFormat.Csv ? ReadCsvRow() : ReadJsonRow();
        if (row is not null && _recordRanToEnd && ArchiveProblem is not null)
        {
            // The archive broke and this record ends where the text ends, not at a line break: its end is the break.
            _stoppedAtBreak = true;
            row = null;
        }

        if (row is not null)
        {
            RowsRead++;
            if (_invalid.Count > 0 && row.TextContains('\uFFFD'))
            {
                row.HasInvalidText = true; // a legitimately encoded U+FFFD in a file that also has invalid bytes is marked too
            }
        }

        return row is not null;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _text.Dispose();
        _decompressor?.Dispose();
        ArrayPool<char>.Shared.Return(_buf);
    }

    private void EnsureStarted()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        if (_path.Format == DropFormat.Csv)
        {
            ReadCsvHeader();
        }
    }

    // ---------------------------------------------------------------- buffer

    /// <summary>Moves unread text to the front, grows the buffer if it is full, and reads until full or end of stream.</summary>
    private void Fill()
    {
        if (_eof)
        {
            return;
        }

        if (_pos > 0)
        {
            _bufferOffset += _pos;
            Array.Copy(_buf, _pos, _buf, 0, _end - _pos);
            _end -= _pos;
            _pos = 0;
        }

        if (_end == _buf.Length)
        {
            var bigger = ArrayPool<char>.Shared.Rent(_buf.Length * 2);
            Array.Copy(_buf, bigger, _end);
            ArrayPool<char>.Shared.Return(_buf);
            _buf = bigger;
        }

        while (_end < _buf.Length)
        {
            var n = _text.Read(_buf, _end, _buf.Length - _end);
            if (n == 0)
            {
                _eof = true;
                break;
            }

            _end += n;
        }
    }

    /// <summary>Discards text up to and including the next line break (used to resynchronise after an over-long record).</summary>
    private void SkipPastNextLineBreak()
    {
        while (true)
        {
            var idx = _buf.AsSpan(_pos, _end - _pos).IndexOfAny('\r', '\n');
            if (idx >= 0)
            {
                _pos += idx;
                ConsumeLineBreak();
                return;
            }

            _pos = _end;
            if (_eof)
            {
                return;
            }

            Fill();
        }
    }

    /// <summary>Consumes the line break at <see cref="_pos"/> (CRLF, LF or a lone CR) and counts the line.</summary>
    private void ConsumeLineBreak()
    {
        if (_buf[_pos] == '\r')
        {
            _pos++;
            if (_pos == _end && !_eof)
            {
                Fill();
            }

            if (_pos < _end && _buf[_pos] == '\n')
            {
                _pos++;
            }
        }
        else
        {
            _pos++;
        }

        _line++;
    }

    /// <summary>With <see cref="DropReadOptions.ReuseBuffersBetweenBatches"/>, the previous batch's rows are dead: their blocks are free again.</summary>
    private void StartBatch()
    {
        _chars.StartBatch();
        _ints.StartBatch();
        _rowsUsed = 0;
    }

    /// <summary>The previous batch's row objects, handed out again when buffers are reused between batches.</summary>
    private readonly List<RawRow> _rows = [];
    private int _rowsUsed;

    private RawRow NewRow(RowLayout layout, long line, char[] chars, int textStart, int textLength, int[] bounds, int boundsStart,
        int fieldCount, string? malformedReason, int rawTextCap)
    {
        if (!_options.ReuseBuffersBetweenBatches)
        {
            return new RawRow(layout, line, chars, textStart, textLength, bounds, boundsStart, fieldCount, malformedReason, rawTextCap);
        }
        if (_rowsUsed < _rows.Count)
        {
            var row = _rows[_rowsUsed++];
            row.Reset(layout, line, chars, textStart, textLength, bounds, boundsStart, fieldCount, malformedReason, rawTextCap);
            return row;
        }
        var created = new RawRow(layout, line, chars, textStart, textLength, bounds, boundsStart, fieldCount, malformedReason, rawTextCap);
        _rows.Add(created);
        _rowsUsed++;
        return created;
    }

    private Span<char> AllocChars(int length, out char[] block, out int offset) => _chars.Alloc(length, out block, out offset);

    private Span<int> AllocInts(int length, out int[] block, out int offset) => _ints.Alloc(length, out block, out offset);

    /// <summary>
    /// Row values live in shared blocks: a row holds its block, so a full block is replaced, not overwritten. With reuse
    /// on, the blocks a batch filled become free at the next batch's start (the previous batch's rows are dead then).
    /// </summary>
    private sealed class BlockArena<T>(int blockSize, bool reuse)
    {
        private readonly List<T[]> _filled = [];
        private readonly List<T[]> _free = [];
        private T[] _block = new T[blockSize];
        private int _position;

        public void StartBatch()
        {
            if (reuse)
            {
                _free.AddRange(_filled);
                _filled.Clear();
                _position = 0;
            }
        }

        public Span<T> Alloc(int length, out T[] block, out int offset)
        {
            if (_position + length > _block.Length)
            {
                if (reuse)
                {
                    _filled.Add(_block);
                }
                _block = TakeFree(length) ?? new T[Math.Max(blockSize, length)];
                _position = 0;
            }

            block = _block;
            offset = _position;
            _position += length;
            return block.AsSpan(offset, length);
        }

        private T[]? TakeFree(int length)
        {
            for (var i = _free.Count - 1; i >= 0; i--)
            {
                if (_free[i].Length >= length)
                {
                    var block = _free[i];
                    _free.RemoveAt(i);
                    return block;
                }
            }
            return null;
        }
    }

    private RawRow MalformedRow(RowLayout layout, long line, ReadOnlySpan<char> raw, string reason)
    {
        var keep = raw[..Math.Min(raw.Length, _options.MaxRawTextChars)];
        keep.CopyTo(AllocChars(keep.Length, out var block, out var offset));
        return NewRow(layout, line, block, offset, keep.Length, NoBounds, 0, 0, reason, _options.MaxRawTextChars);
    }

    // ---------------------------------------------------------------- CSV

    private void ReadCsvHeader()
    {
        _separator = TryReadExcelSeparatorLine() ?? _options.Separator ?? DetectSeparator();
        var names = new List<string>();
        while (true)
        {
            var record = ReadCsvRecord(out _, out _, out var fieldCount, out var malformed);
            if (record is null)
            {
                break; // empty file: no header, no rows
            }

            if (malformed is not null)
            {
                continue; // an unreadable line before the header is not a row of anything
            }

            var (block, _, bounds, boundsStart) = record.Value;
            for (var i = 0; i < fieldCount; i++)
            {
                var name = block.AsSpan(bounds[boundsStart + (2 * i)], bounds[boundsStart + (2 * i) + 1]).Trim().Trim('\uFEFF').Trim();
                names.Add(name.ToString());
            }

            break;
        }

        _header = new RowLayout(_path.Entity, [.. names], checkRequired: true, _options.DuplicateColumns);
    }

    /// <summary>Excel writes <c>sep=;</c> as the first line of some exports; it declares the separator and is not the header.</summary>
    private char? TryReadExcelSeparatorLine()
    {
        while (_end - _pos < 7 && !_eof)
        {
            Fill();
        }

        var span = _buf.AsSpan(_pos, _end - _pos);
        if (span.Length > 0 && span[0] == '\uFEFF')
        {
            span = span[1..];
            _pos++;
        }

        if (span.Length < 5 || !span.StartsWith("sep=", StringComparison.OrdinalIgnoreCase)
            || (span.Length > 5 && span[5] is not ('\r' or '\n')))
        {
            return null;
        }

        var separator = span[4];
        _pos += 5;
        if (_pos < _end)
        {
            ConsumeLineBreak();
        }

        return separator;
    }

    /// <summary>Picks the candidate separator that occurs most often outside quotes in the first line (comma on a tie or none).</summary>
    private char DetectSeparator()
    {
        Span<int> counts = stackalloc int[CandidateSeparators.Length];
        while (true)
        {
            var span = _buf.AsSpan(_pos, _end - _pos);
            var inQuotes = false;
            counts.Clear();
            var complete = false;
            var sawContent = false;
            for (var i = 0; i < span.Length; i++)
            {
                var c = span[i];
                if (c == '"')
                {
                    inQuotes = !inQuotes;
                }
                else if (!inQuotes && (c == '\n' || c == '\r'))
                {
                    if (sawContent)
                    {
                        complete = true;
                        break;
                    }
                }
                else if (!inQuotes)
                {
                    sawContent |= !char.IsWhiteSpace(c) || c == '\t';
                    var k = Array.IndexOf(CandidateSeparators, c);
                    if (k >= 0)
                    {
                        counts[k]++;
                    }
                }
            }

            if (complete || _eof || span.Length >= _options.MaxRecordChars)
            {
                var best = 0;
                for (var k = 1; k < counts.Length; k++)
                {
                    if (counts[k] > counts[best])
                    {
                        best = k;
                    }
                }

                return CandidateSeparators[best];
            }

            Fill();
        }
    }

    private RawRow? ReadCsvRow()
    {
        var header = _header!;
        while (true)
        {
            var record = ReadCsvRecord(out var line, out var textLength, out var fieldCount, out var malformed);
            if (record is null)
            {
                return null;
            }

            var (block, textStart, bounds, boundsStart) = record.Value;
            if (malformed is not null)
            {
                return NewRow(header, line, block, textStart, textLength, bounds, boundsStart, 0, malformed, _options.MaxRawTextChars);
            }

            if (fieldCount != header.Names.Length)
            {
                var reason = $"Expected {header.Names.Length} fields as in the header, found {fieldCount}.";
                return NewRow(header, line, block, textStart, textLength, bounds, boundsStart, 0, reason, _options.MaxRawTextChars);
            }

            return NewRow(header, line, block, textStart, textLength, bounds, boundsStart, fieldCount, null, _options.MaxRawTextChars);
        }
    }

    /// <summary>
    /// Reads the next non-blank record. Returns the block holding its raw text (at textStart) and its field bounds
    /// (start, length pairs into the same block), or null at the end of the file.
    /// </summary>
    private (char[] Block, int TextStart, int[] Bounds, int BoundsStart)? ReadCsvRecord(out long line, out int textLength, out int fieldCount, out string? malformed)
    {
        while (true)
        {
            line = _line;
            if (_pos == _end)
            {
                if (_eof)
                {
                    textLength = fieldCount = 0;
                    malformed = null;
                    return null;
                }

                Fill();
                continue;
            }

            var span = _buf.AsSpan(_pos, _end - _pos);
            var idx = span.IndexOfAny(LineOrQuote);
            if (idx >= 0 && span[idx] == '"')
            {
                return ReadQuotedRecord(out textLength, out fieldCount, out malformed);
            }

            if (idx < 0 && !_eof)
            {
                if (span.Length > _options.MaxRecordChars)
                {
                    var reason = $"Line longer than {_options.MaxRecordChars} characters.";
                    var row = CopyRaw(span[..Math.Min(span.Length, _options.MaxRawTextChars)], out textLength);
                    _pos = _end;
                    SkipPastNextLineBreak();
                    fieldCount = 0;
                    malformed = reason;
                    return row;
                }

                Fill();
                continue;
            }

            if (idx >= 0 && span[idx] == '\r' && idx + 1 == span.Length && !_eof)
            {
                Fill(); // need to see whether '\n' follows
                continue;
            }

            var record = idx < 0 ? span : span[..idx];
            if (idx < 0)
            {
                _pos = _end;
                _recordRanToEnd = true;
            }
            else
            {
                _pos += idx;
                ConsumeLineBreak();
            }

            if (record.IsWhiteSpace())
            {
                continue; // blank line: counted in line numbers, not a row
            }

            return SplitUnquoted(record, out textLength, out fieldCount, out malformed);
        }
    }

    private (char[], int, int[], int) CopyRaw(ReadOnlySpan<char> raw, out int textLength)
    {
        raw.CopyTo(AllocChars(raw.Length, out var block, out var offset));
        textLength = raw.Length;
        return (block, offset, NoBounds, 0);
    }

    private (char[], int, int[], int) SplitUnquoted(ReadOnlySpan<char> record, out int textLength, out int fieldCount, out string? malformed)
    {
        var dest = AllocChars(record.Length, out var block, out var offset);
        record.CopyTo(dest);
        textLength = record.Length;
        malformed = null;

        // One pass finds every separator (16 characters per step where the CPU allows); the positions become field
        // bounds, so a row costs a copy and a scan rather than an IndexOf call per field.
        var expected = _header?.Names.Length ?? int.MaxValue;
        var separators = FindSeparators(record, _separator, ref _scratchBounds);
        fieldCount = separators + 1;
        if (expected != int.MaxValue && fieldCount != expected)
        {
            return (block, offset, NoBounds, 0);
        }

        var bounds = AllocInts(fieldCount * 2, out var intBlock, out var boundsStart);
        var start = 0;
        for (var f = 0; f < fieldCount; f++)
        {
            var end = f < separators ? _scratchBounds[f] : record.Length;
            bounds[2 * f] = offset + start;
            bounds[(2 * f) + 1] = end - start;
            start = end + 1;
        }

        return (block, offset, intBlock, boundsStart);
    }

    /// <summary>Writes the positions of <paramref name="separator"/> in <paramref name="text"/> to <paramref name="positions"/>; returns how many.</summary>
    internal static int FindSeparators(ReadOnlySpan<char> text, char separator, ref int[] positions)
    {
        var count = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && text.Length >= Vector256<ushort>.Count)
        {
            ref var first = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text));
            var needle = Vector256.Create((ushort)separator);
            for (; i <= text.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var mask = Vector256.Equals(Vector256.LoadUnsafe(ref first, (nuint)i), needle).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    if (count == positions.Length)
                    {
                        Array.Resize(ref positions, positions.Length * 2);
                    }

                    positions[count++] = i + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                }
            }
        }

        for (; i < text.Length; i++)
        {
            if (text[i] == separator)
            {
                if (count == positions.Length)
                {
                    Array.Resize(ref positions, positions.Length * 2);
                }

                positions[count++] = i;
            }
        }

        return count;
    }

    /// <summary>The RFC 4180 path, taken only for records that contain a quote: unescapes into scratch, then copies once.</summary>
    private (char[], int, int[], int) ReadQuotedRecord(out int textLength, out int fieldCount, out string? malformed)
    {
        while (true)
        {
            var result = TryParseQuoted(out textLength, out fieldCount, out malformed, out var needMore);
            if (!needMore)
            {
                return result!.Value;
            }

            Fill();
        }
    }

    private (char[], int, int[], int)? TryParseQuoted(out int textLength, out int fieldCount, out string? malformed, out bool needMore)
    {
        var sep = _separator;
        var start = _pos;
        var i = _pos;
        var valueLength = 0;
        var fields = 0;
        var fieldStart = 0;
        var inQuotes = false;
        var atFieldStart = true;
        var closedQuote = false;
        string? strayText = null;
        var lineBreaks = 0;
        var lineMode = _bufferOffset + start < _lineModeUntil;
        textLength = fieldCount = 0;
        malformed = null;
        needMore = false;

        while (true)
        {
            if (i - start > _options.MaxRecordChars)
            {
                _lineModeUntil = _bufferOffset + i;
                return Unterminated(start, out textLength, out malformed, $"Record longer than {_options.MaxRecordChars} characters (unterminated quote?).");
            }

            if (i == _end)
            {
                if (!_eof)
                {
                    needMore = true;
                    return null;
                }

                _recordRanToEnd = true;
                if (inQuotes)
                {
                    _lineModeUntil = _bufferOffset + i;
                    return Unterminated(start, out textLength, out malformed, "Unterminated quoted field at end of file.");
                }

                break;
            }

            var c = _buf[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 == _end && !_eof)
                    {
                        needMore = true;
                        return null;
                    }

                    if (i + 1 < _end && _buf[i + 1] == '"')
                    {
                        AppendScratch(ref valueLength, '"');
                        i += 2;
                    }
                    else
                    {
                        inQuotes = false;
                        closedQuote = true;
                        i++;
                    }

                    continue;
                }

                // Field text up to the next quote or line break is copied in one go.
                var rest = _buf.AsSpan(i, _end - i);
                var next = rest.IndexOfAny(LineOrQuote);
                if (next != 0)
                {
                    var run = next < 0 ? rest : rest[..next];
                    AppendScratch(ref valueLength, run);
                    i += run.Length;
                    continue;
                }

                if (lineMode)
                {
                    return Unterminated(start, out textLength, out malformed, "Unterminated quoted field at end of line.");
                }

                if (c == '\n' || (i + 1 < _end && _buf[i + 1] != '\n'))
                {
                    lineBreaks++; // LF, or a CR not followed by LF (a CR at the buffer's end is re-read after the refill)
                }

                AppendScratch(ref valueLength, c);
                i++;
                continue;
            }

            if (c == sep)
            {
                EndField(ref fields, ref fieldStart, valueLength);
                atFieldStart = true;
                closedQuote = false;
                i++;
                continue;
            }

            if (c == '\r' || c == '\n')
            {
                if (c == '\r' && i + 1 == _end && !_eof)
                {
                    needMore = true;
                    return null;
                }

                break;
            }

            if (c == '"' && atFieldStart)
            {
                valueLength = fieldStart; // drop blanks before the opening quote
                inQuotes = true;
                atFieldStart = false;
                i++;
                continue;
            }

            if (!char.IsWhiteSpace(c))
            {
                atFieldStart = false;
                if (closedQuote)
                {
                    // RFC 4180: after a closing quote only a separator or a line break may follow ("abc"x is broken).
                    strayText ??= "Text after the closing quote of a field.";
                }
            }

            AppendScratch(ref valueLength, c);
            i++;
        }

        EndField(ref fields, ref fieldStart, valueLength);

        // i is at the record's line break (or the end of the file)
        var raw = _buf.AsSpan(start, i - start);
        _pos = i;
        if (_pos < _end)
        {
            ConsumeLineBreak();
        }

        _line += lineBreaks;
        textLength = raw.Length;
        fieldCount = fields;

        var dest = AllocChars(raw.Length + valueLength, out var block, out var offset);
        raw.CopyTo(dest);
        _scratch.AsSpan(0, valueLength).CopyTo(dest[raw.Length..]);
        var expected = _header?.Names.Length ?? fields;
        if (strayText is not null)
        {
            malformed = strayText;
            return (block, offset, NoBounds, 0);
        }

        if (fields != expected)
        {
            return (block, offset, NoBounds, 0);
        }

        var bounds = AllocInts(fields * 2, out var intBlock, out var boundsStart);
        var valuesBase = offset + raw.Length;
        for (var f = 0; f < fields; f++)
        {
            bounds[2 * f] = valuesBase + _scratchBounds[2 * f];
            bounds[(2 * f) + 1] = _scratchBounds[(2 * f) + 1];
        }

        return (block, offset, intBlock, boundsStart);
    }

    /// <summary>
    /// An open quote that never closes: report the record's first line as malformed and resume reading on the line
    /// after it, so one stray quote costs one row, not the rest of the file. The text already scanned in vain is then
    /// read in line mode (a quoted field may not span lines there), so a file full of stray quotes is still read in
    /// linear time instead of rescanning the same megabyte for every line.
    /// </summary>
    private (char[], int, int[], int) Unterminated(int start, out int textLength, out string malformed, string reason)
    {
        malformed = reason;
        var span = _buf.AsSpan(start, _end - start);
        var lineEnd = span.IndexOfAny('\r', '\n');
        var raw = lineEnd < 0 ? span : span[..lineEnd];
        var result = CopyRaw(raw[..Math.Min(raw.Length, _options.MaxRawTextChars)], out textLength);
        if (lineEnd < 0)
        {
            _pos = start + raw.Length;
            SkipPastNextLineBreak();
        }
        else
        {
            _pos = start + lineEnd;
            ConsumeLineBreak();
        }

        return result;
    }

    private void AppendScratch(ref int length, ReadOnlySpan<char> text)
    {
        EnsureScratch(length + text.Length);
        text.CopyTo(_scratch.AsSpan(length));
        length += text.Length;
    }

    private void AppendScratch(ref int length, char c)
    {
        if (length == _scratch.Length)
        {
            Array.Resize(ref _scratch, _scratch.Length * 2);
        }

        _scratch[length++] = c;
    }

    private void EndField(ref int fields, ref int fieldStart, int valueLength)
    {
        if ((fields * 2) + 2 > _scratchBounds.Length)
        {
            Array.Resize(ref _scratchBounds, _scratchBounds.Length * 2);
        }

        _scratchBounds[2 * fields] = fieldStart;
        _scratchBounds[(2 * fields) + 1] = valueLength - fieldStart;
        fields++;
        fieldStart = valueLength;
    }

    // ---------------------------------------------------------------- JSON Lines

    private RawRow? ReadJsonRow()
    {
        while (true)
        {
            if (_pos == _end)
            {
                if (_eof)
                {
                    return null;
                }

                Fill();
                continue;
            }

            var span = _buf.AsSpan(_pos, _end - _pos);
            var idx = span.IndexOf('\n');
            if (idx < 0 && !_eof)
            {
                if (span.Length > _options.MaxRecordChars)
                {
                    var line = _line;
                    var layout = _lastJsonLayout ?? EmptyJsonLayout();
                    var row = MalformedRow(layout, line, span, $"Line longer than {_options.MaxRecordChars} characters.");
                    _pos = _end;
                    SkipPastNextLineBreak();
                    return row;
                }

                Fill();
                continue;
            }

            var text = idx < 0 ? span : span[..idx];
            _recordRanToEnd = idx < 0;
            if (!text.IsEmpty && text[^1] == '\r')
            {
                text = text[..^1];
            }

            var lineNumber = _line;
            _line++;
            _pos = idx < 0 ? _end : _pos + idx + 1;
            if (text.IsWhiteSpace())
            {
                continue;
            }

            return ParseJsonLine(text, lineNumber);
        }
    }

    private RowLayout EmptyJsonLayout() => new(_path.Entity, [], checkRequired: false);

    private RawRow ParseJsonLine(ReadOnlySpan<char> text, long line)
    {
        var byteCount = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (_utf8.Length < byteCount)
        {
            _utf8 = new byte[Math.Max(byteCount, _utf8.Length * 2)];
        }

        var bytes = _utf8.AsSpan(0, Encoding.UTF8.GetBytes(text, _utf8));
        var valueLength = 0;
        var fields = 0;
        var names = new List<string>(16);
        var sameKeys = _lastJsonLayout is not null;
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return MalformedRow(_lastJsonLayout ?? EmptyJsonLayout(), line, text, "Line is not a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var nameLength = CopyJsonString(ref reader, ref valueLength);
                var name = _scratch.AsSpan(valueLength - nameLength, nameLength);
                if (sameKeys && (fields >= _lastJsonLayout!.Names.Length || !name.SequenceEqual(_lastJsonLayout.Names[fields])))
                {
                    sameKeys = false;
                }

                names.Add(sameKeys ? _lastJsonLayout!.Names[fields] : name.ToString());
                valueLength -= nameLength; // names are not values

                reader.Read();
                var valueStart = valueLength;
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        CopyJsonString(ref reader, ref valueLength);
                        break;
                    case JsonTokenType.Number:
                        AppendUtf8(reader.ValueSpan, ref valueLength);
                        break;
                    case JsonTokenType.True:
                        AppendText("true", ref valueLength);
                        break;
                    case JsonTokenType.False:
                        AppendText("false", ref valueLength);
                        break;
                    case JsonTokenType.Null:
                        break;
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        var from = (int)reader.TokenStartIndex;
                        reader.Skip();
                        AppendUtf8(bytes[from..(int)reader.BytesConsumed], ref valueLength);
                        break;
                    default:
                        throw new JsonException("Unexpected token.");
                }

                if ((fields * 2) + 2 > _scratchBounds.Length)
                {
                    Array.Resize(ref _scratchBounds, _scratchBounds.Length * 2);
                }

                _scratchBounds[2 * fields] = valueStart;
                _scratchBounds[(2 * fields) + 1] = valueLength - valueStart;
                fields++;
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return MalformedRow(_lastJsonLayout ?? EmptyJsonLayout(), line, text, "Line holds more than one JSON object.");
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: valid JSON whose string cannot be read as text, e.g. an unpaired surrogate escape ("\ud83d").
            return MalformedRow(_lastJsonLayout ?? EmptyJsonLayout(), line, text, $"Invalid JSON: {ex.Message}");
        }

        if (!sameKeys || fields != _lastJsonLayout!.Names.Length)
        {
            _lastJsonLayout = new RowLayout(_path.Entity, [.. names], checkRequired: false,
                _options.DuplicateColumns == DuplicateColumns.Last ? DuplicateColumns.Last : DuplicateColumns.First);
        }

        var dest = AllocChars(text.Length + valueLength, out var block, out var offset);
        text.CopyTo(dest);
        _scratch.AsSpan(0, valueLength).CopyTo(dest[text.Length..]);
        var bounds = AllocInts(Math.Max(fields, 1) * 2, out var intBlock, out var boundsStart);
        for (var f = 0; f < fields; f++)
        {
            bounds[2 * f] = offset + text.Length + _scratchBounds[2 * f];
            bounds[(2 * f) + 1] = _scratchBounds[(2 * f) + 1];
        }

        return NewRow(_lastJsonLayout, line, block, offset, text.Length, intBlock, boundsStart, fields, null, _options.MaxRawTextChars);
    }

    private int CopyJsonString(ref Utf8JsonReader reader, ref int length)
    {
        var max = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
        EnsureScratch(length + max);
        var n = reader.CopyString(_scratch.AsSpan(length));
        length += n;
        return n;
    }

    private void AppendUtf8(ReadOnlySpan<byte> utf8, ref int length)
    {
        EnsureScratch(length + utf8.Length);
        length += Encoding.UTF8.GetChars(utf8, _scratch.AsSpan(length));
    }

    private void AppendText(string text, ref int length)
    {
        EnsureScratch(length + text.Length);
        text.CopyTo(_scratch.AsSpan(length));
        length += text.Length;
    }

    private void EnsureScratch(int capacity)
    {
        if (_scratch.Length < capacity)
        {
            Array.Resize(ref _scratch, Math.Max(capacity, _scratch.Length * 2));
        }
    }

    /// <summary>Replaces each invalid byte sequence with U+FFFD, as the default does, and counts them.</summary>
    private sealed class CountingReplacementFallback : DecoderFallback
    {
        private long _count;

        public long Count => Volatile.Read(ref _count); // read once per row: a plain load on 64-bit, not a locked compare-exchange

        public override int MaxCharCount => 1;

        public override DecoderFallbackBuffer CreateFallbackBuffer() => new Buffer(this);

        private sealed class Buffer(CountingReplacementFallback owner) : DecoderFallbackBuffer
        {
            private bool _pending;

            public override int Remaining => _pending ? 1 : 0;

            public override bool Fallback(byte[] bytesUnknown, int index)
            {
                Interlocked.Increment(ref owner._count);
                _pending = true;
                return true;
            }

            public override char GetNextChar()
            {
                if (!_pending)
                {
                    return '\0';
                }
                _pending = false;
                return '\uFFFD';
            }

            public override bool MovePrevious() => false;

            public override void Reset() => _pending = false;
        }
    }
}
