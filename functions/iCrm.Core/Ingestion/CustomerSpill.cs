using System.Buffers.Binary;
using System.Text;
using iCrm.Core.Drops;
using Microsoft.Win32.SafeHandles;

namespace iCrm.Core.Ingestion;

/// <summary>
/// Groups a large activity drop's accepted rows by customer across the whole drop without holding them in memory. Each
/// record is encoded compactly (about 45 bytes for an order line) into one of a number of buckets chosen by a stable hash
/// of its customer (source and source id); the buckets are then read back one at a time. Every customer's rows sit in one
/// bucket, in file order, so the drop loads and writes each profile once instead of once for every chunk it appears in.
/// The bucket count depends only on the drop's size and the hash only on the customer, so a re-run after a crash rebuilds
/// the same buckets and replays the same chunks. The buckets live as blocks in one temporary file, deleted when the spill
/// is disposed.
/// </summary>
public sealed class CustomerSpill : IDisposable
{
    /// <summary>
    /// All buckets' write buffers together. A bucket's buffer is also the block it is flushed to the file in, and each
    /// block is one read when the bucket comes back: few buckets get large blocks (few reads), many get small ones.
    /// </summary>
    public const int WriteBufferBytes = 8 << 20;

    /// <summary>The smallest and largest block (a bucket's write buffer).</summary>
    public const int MinBlockBytes = 8 << 10, MaxBlockBytes = 256 << 10;

    /// <summary>Drop bytes (before compression) per bucket: about 20,000 order lines, a few MB of records once read back.</summary>
    public const long DefaultDropBytesPerBucket = 3 << 19;

    /// <summary>At most this many buckets; a bucket beyond the row limit is read in several windows.</summary>
    public const int MaxBuckets = 1024;

    /// <summary>How much larger than its blob a gzip drop is assumed to be (CSV and JSON Lines compress about 5–10×).</summary>
    private const int AssumedCompressionRatio = 8;

    private readonly SafeFileHandle _file;
    private readonly Bucket[] _buckets;
    private byte[] _scratch = new byte[512];
    private byte[] _buffers;
    private byte[] _readBuffer = [];
    private readonly List<DropRecord> _window = [];
    private readonly Decoder _decoder = new();
    private long _fileLength;
    private bool _completed;

    public CustomerSpill(string directory, int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, $"icrm-spill-{Guid.NewGuid():N}.bin");
        _file = File.OpenHandle(Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
        if (!OperatingSystem.IsWindows())
        {
            // Unlinked at once: the open handle keeps the data, and a process killed mid-drop leaves nothing behind (.NET's
            // DeleteOnClose only unlinks on a clean close there; Windows deletes it when the process's handles close).
            File.Delete(Path);
        }
        BlockBytes = (int)Math.Clamp(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(WriteBufferBytes / buckets)) / 2, MinBlockBytes, MaxBlockBytes);
        _buckets = new Bucket[buckets];
        for (var i = 0; i < buckets; i++)
        {
            _buckets[i] = new Bucket { Start = i * BlockBytes };
        }
        // All write buffers in one array: one large object the collector never copies, rather than a small one per bucket.
        _buffers = new byte[buckets * BlockBytes];
    }

    /// <summary>The temporary file (on Unix unlinked as soon as it is open; on Windows deleted on dispose).</summary>
    public string Path { get; }

    public int BucketCount => _buckets.Length;

    /// <summary>Bytes of each bucket's write buffer and file blocks (<see cref="WriteBufferBytes"/> shared out).</summary>
    public int BlockBytes { get; }

    public long Records { get; private set; }

    /// <summary>Bytes written to the temporary file so far.</summary>
    public long FileBytes => _fileLength;

    /// <summary>The bucket count for a drop of this size: deterministic, so a re-run cuts the same chunks.</summary>
    public static int BucketsFor(long dropBytes, DropCompression compression, long bytesPerBucket = DefaultDropBytesPerBucket)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerBucket, 1);
        var sourceBytes = compression == DropCompression.Gzip ? dropBytes * AssumedCompressionRatio : dropBytes;
        return (int)Math.Clamp((sourceBytes + bytesPerBucket - 1) / bytesPerBucket, 1, MaxBuckets);
    }

    /// <summary>The bucket of a customer: FNV-1a over source and source id, stable across processes (unlike string.GetHashCode).</summary>
    public static int BucketOf(string source, string sourceCustomerId, int buckets) => BucketOf(source, sourceCustomerId.AsSpan(), buckets);

    private static int BucketOf(string source, ReadOnlySpan<char> sourceCustomerId, int buckets) =>
        (int)(Fnv1a.Add(Fnv1a.Add(Fnv1a.Add(Fnv1a.Seed, source), 0xFFFF), sourceCustomerId) % (uint)buckets);

    public void Add(DropRecord record)
    {
        if (record is OrderRecord order)
        {
            var values = OrderValues.Of(order);
            var orderBucket = Start(order.Source, order.SourceCustomerId);
            Append(orderBucket, EncodeOrder(values, productIsNull: order.ProductId is null, orderBucket));
            return;
        }
        var bucket = Start(record.Source, record.SourceCustomerId);
        Append(bucket, Encode(record, bucket));
    }

    /// <summary>Adds an order line from its values, without a record (the validator's output as it is).</summary>
    public void AddOrder(in OrderValues order)
    {
        var bucket = Start(order.Source, order.SourceCustomerId);
        Append(bucket, EncodeOrder(order, productIsNull: order.ProductId.IsEmpty, bucket));
    }

    private Bucket Start(string source, ReadOnlySpan<char> sourceCustomerId)
    {
        if (_completed)
        {
            throw new InvalidOperationException("The spill is complete: no more records can be added.");
        }
        return _buckets[BucketOf(source, sourceCustomerId, _buckets.Length)];
    }

    private void Append(Bucket bucket, int length)
    {
        Records++; // counted once encoded: a record the spill refuses is not in it
        if (bucket.Used + length > BlockBytes)
        {
            Flush(bucket);
        }
        if (length > BlockBytes)
        {
            WriteBlock(bucket, _scratch.AsSpan(0, length)); // a record larger than a block (long feedback text) is a block of its own
            return;
        }
        _scratch.AsSpan(0, length).CopyTo(_buffers.AsSpan(bucket.Start + bucket.Used));
        bucket.Used += length;
    }

    /// <summary>Flushes every bucket's buffer and frees them: from now on buckets are read, not written.</summary>
    public void Complete()
    {
        foreach (var bucket in _buckets)
        {
            Flush(bucket);
            bucket.Forget();
        }
        _buffers = [];
        _completed = true;
    }

    /// <summary>
    /// A bucket's records in file order, in windows of at most <paramref name="maxRows"/> (the list is reused: each window
    /// is valid until the next is read, and the caller may clear it once done with it).
    /// </summary>
    public IEnumerable<List<DropRecord>> ReadBucket(int bucketIndex, int maxRows)
    {
        if (!_completed)
        {
            throw new InvalidOperationException("Complete the spill before reading it.");
        }
        var bucket = _buckets[bucketIndex];
        // One list for every bucket: a window's array is large (in the large object heap, collected only with gen 2), and
        // a dead one would keep the records it pointed to alive through every gen 0 collection until then.
        var window = _window;
        window.Clear();
        _decoder.StartBucket();
        var decoder = _decoder;
        foreach (var (offset, length) in bucket.Blocks)
        {
            if (_readBuffer.Length < length)
            {
                _readBuffer = new byte[Math.Max(length, BlockBytes)];
            }
            var block = _readBuffer.AsSpan(0, length);
            var read = 0;
            while (read < length)
            {
                var n = RandomAccess.Read(_file, block[read..], offset + read);
                if (n == 0)
                {
                    throw new IOException($"The spill file {Path} ended early.");
                }
                read += n;
            }
            var position = 0;
            while (position < length)
            {
                window.Add(decoder.Decode(_readBuffer, ref position));
                if (window.Count >= maxRows)
                {
                    yield return window;
                    window.Clear();
                }
            }
        }
        if (window.Count > 0)
        {
            yield return window;
        }
        window.Clear();
    }

    public void Dispose() => _file.Dispose();

    private void Flush(Bucket bucket)
    {
        if (bucket.Used > 0)
        {
            WriteBlock(bucket, _buffers.AsSpan(bucket.Start, bucket.Used));
            bucket.Used = 0;
        }
    }

    private void WriteBlock(Bucket bucket, ReadOnlySpan<byte> block)
    {
        RandomAccess.Write(_file, block, _fileLength);
        bucket.Blocks.Add((_fileLength, block.Length));
        _fileLength += block.Length;
    }

    private sealed class Bucket
    {
        public int Start;
        public int Used;
        public readonly List<(long Offset, int Length)> Blocks = [];

        /// <summary>Whether the bucket has a record yet, and that record's line and string fields (by position: source,
        /// customer, then the kind's own), which the next record's may repeat.</summary>
        public bool HasLast;
        public byte LastKind;
        public long LastLine;
        public readonly Remembered[] Last = new Remembered[Fields];

        public void Forget()
        {
            HasLast = false;
            Array.Clear(Last);
        }
    }

    /// <summary>String fields per record: source, customer, and at most five of its kind's.</summary>
    private const int Fields = 7;

    /// <summary>A string field of a bucket's previous record: the string itself, or a copy of the characters it was read as.</summary>
    private struct Remembered
    {
        private string? _text;
        private char[]? _chars;
        private int _length;
        private bool _isNull;

        public readonly bool Is(ReadOnlySpan<char> value) =>
            !_isNull && (_text is not null ? value.SequenceEqual(_text) : value.SequenceEqual(_chars.AsSpan(0, _length)));

        public void Set(string? value)
        {
            _text = value;
            _isNull = value is null;
        }

        public void Set(ReadOnlySpan<char> value)
        {
            if (_chars is null || _chars.Length < value.Length)
            {
                _chars = new char[Math.Max(16, value.Length * 2)];
            }
            value.CopyTo(_chars);
            _length = value.Length;
            _text = null;
            _isNull = false;
        }
    }

    // Encoding. Each record: kind, line (delta from the bucket's previous record), then its fields. A string is 0 (null),
    // 1 (the same as this field of the bucket's previous record of the same kind: a customer's id, an order's id over its
    // lines, the channel) or 2 + its UTF-8 length and bytes. Decimals keep their scale; dates keep their offset.

    private const byte KindOrder = 1, KindEvent = 2, KindFeedback = 3, KindSubscription = 4;

    /// <param name="productIsNull">Whether the product is null rather than empty (the values cannot tell).</param>
    private int EncodeOrder(in OrderValues o, bool productIsNull, Bucket bucket)
    {
        var w = new Writer(this, bucket);
        w.Header(KindOrder, o.Line, o.Source, o.SourceCustomerId);
        w.String(2, o.OrderId);
        w.VarInt((ulong)(uint)o.OrderLine);
        w.Date(o.OrderDate);
        if (productIsNull)
        {
            w.String(3, (string?)null);
        }
        else
        {
            w.String(3, o.ProductId);
        }
        w.Decimal(o.Quantity);
        w.Decimal(o.Amount);
        w.String(4, o.Channel);
        w.String(5, o.Currency);
        w.Byte(o.Returned ? (byte)1 : (byte)0);
        return w.End();
    }

    private int Encode(DropRecord record, Bucket bucket)
    {
        var w = new Writer(this, bucket);
        switch (record)
        {
            case EventRecord e:
                w.Header(KindEvent, e.Line, e.Source, e.SourceCustomerId);
                w.String(2, e.EventId);
                w.Date(e.Timestamp);
                w.String(3, e.Type);
                w.String(4, e.ProductId);
                w.NullableDecimal(e.Value);
                w.String(5, e.Channel);
                break;
            case FeedbackRecord f:
                w.Header(KindFeedback, f.Line, f.Source, f.SourceCustomerId);
                w.String(2, f.FeedbackId);
                w.Date(f.Timestamp);
                w.String(3, f.Text);
                w.VarInt(f.Rating is { } rating ? (ulong)rating + 1 : 0);
                w.String(4, f.Channel);
                break;
            case SubscriptionRecord s:
                w.Header(KindSubscription, s.Line, s.Source, s.SourceCustomerId);
                w.String(2, s.Plan);
                w.Int32(s.StartDate.DayNumber);
                w.Int32(s.EndDate?.DayNumber ?? -1);
                w.NullableDecimal(s.Amount);
                w.String(3, s.Period);
                break;
            default:
                throw new ArgumentException($"{record.GetType().Name} rows are not grouped by customer.", nameof(record));
        }
        return w.End();
    }

    /// <summary>Writes one record into the scratch buffer; a string field that repeats the bucket's previous record's is one byte.</summary>
    private ref struct Writer(CustomerSpill spill, Bucket bucket)
    {
        public int Position;
        private readonly bool _hasLast = bucket.HasLast;
        private bool _sameKind;
        private byte _kind;

        public void Header(byte kind, long line, string source, ReadOnlySpan<char> sourceCustomerId)
        {
            _kind = kind;
            _sameKind = _hasLast && bucket.LastKind == kind; // a kind's own fields refer to the previous record of that kind
            Byte(kind);
            VarInt(ZigZag(line - (_hasLast ? bucket.LastLine : 0)));
            bucket.LastLine = line;
            String(0, source);
            String(1, sourceCustomerId);
        }

        /// <summary>A string the caller keeps: remembered by reference.</summary>
        public void String(int field, string? value)
        {
            if (value is null)
            {
                Byte(0);
            }
            else
            {
                Text(field, value);
            }
            bucket.Last[field].Set(value);
        }

        /// <summary>A slice of a row, which will be gone: remembered as a copy.</summary>
        public void String(int field, ReadOnlySpan<char> value)
        {
            Text(field, value);
            bucket.Last[field].Set(value);
        }

        private void Text(int field, ReadOnlySpan<char> value)
        {
            if ((field < 2 ? _hasLast : _sameKind) && bucket.Last[field].Is(value))
            {
                Byte(1);
                return;
            }
            var length = Encoding.UTF8.GetByteCount(value);
            VarInt((ulong)length + 2);
            Ensure(length);
            Position += Encoding.UTF8.GetBytes(value, spill._scratch.AsSpan(Position, length));
        }

        /// <summary>Ends the record: the next one in the bucket may refer to its fields.</summary>
        public readonly int End()
        {
            bucket.HasLast = true;
            bucket.LastKind = _kind;
            return Position;
        }

        public void VarInt(ulong value)
        {
            Ensure(10);
            var buffer = spill._scratch;
            while (value >= 0x80)
            {
                buffer[Position++] = (byte)(value | 0x80);
                value >>= 7;
            }
            buffer[Position++] = (byte)value;
        }

        public void Byte(byte value)
        {
            Ensure(1);
            spill._scratch[Position++] = value;
        }

        public void Int32(int value)
        {
            Ensure(4);
            BinaryPrimitives.WriteInt32LittleEndian(spill._scratch.AsSpan(Position), value);
            Position += 4;
        }

        public void Date(DateTimeOffset value)
        {
            Ensure(10);
            BinaryPrimitives.WriteInt64LittleEndian(spill._scratch.AsSpan(Position), value.Ticks);
            BinaryPrimitives.WriteInt16LittleEndian(spill._scratch.AsSpan(Position + 8), (short)value.TotalOffsetMinutes);
            Position += 10;
        }

        // 0xFF: null. Otherwise bits 0–4 the scale, bit 7 the sign, bit 6 whether the high 32 bits follow.
        public void NullableDecimal(decimal? value)
        {
            if (value is { } d)
            {
                Decimal(d);
            }
            else
            {
                Byte(0xFF);
            }
        }

        public void Decimal(decimal value)
        {
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(value, bits);
            var scale = (byte)((bits[3] >> 16) & 0x1F);
            var negative = bits[3] < 0 ? (byte)0x80 : (byte)0;
            var low64 = (ulong)(uint)bits[1] << 32 | (uint)bits[0];
            if (bits[2] == 0)
            {
                Byte((byte)(scale | negative));
                VarInt(low64);
            }
            else
            {
                Byte((byte)(scale | negative | 0x40));
                VarInt(low64);
                VarInt((uint)bits[2]);
            }
        }

        private readonly void Ensure(int bytes)
        {
            if (spill._scratch.Length < Position + bytes)
            {
                Array.Resize(ref spill._scratch, Math.Max(spill._scratch.Length * 2, Position + bytes));
            }
        }

        private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
    }

    /// <summary>Reads one bucket's records back; repeated strings (customer ids, products, channels, types) are shared.</summary>
    private sealed class Decoder
    {
        /// <summary>Shared strings kept (in sets of two), and the longest kept, in UTF-8 bytes.</summary>
        private const int SharedSlots = 8192, SharedBytes = 32;

        private readonly string?[] _sharedText = new string?[SharedSlots];
        private readonly byte[] _sharedUtf8 = new byte[SharedSlots * SharedBytes];
        private readonly byte[] _sharedLength = new byte[SharedSlots];
        private DropRecord? _last;

        /// <summary>Starts a bucket: "the same as the previous record" refers to records of one bucket only.</summary>
        public void StartBucket() => _last = null;

        public DropRecord Decode(byte[] buffer, ref int position)
        {
            var kind = buffer[position++];
            var line = (_last?.Line ?? 0) + UnZigZag(VarInt(buffer, ref position));
            var last = _last;
            var source = String(buffer, ref position, last?.Source, share: true)!;
            var customerId = String(buffer, ref position, last?.SourceCustomerId, share: true)!; // a bucket's customers come back
            DropRecord record = kind switch
            {
                KindOrder => DecodeOrder(buffer, ref position, source, customerId, line, last as OrderRecord),
                KindEvent => DecodeEvent(buffer, ref position, source, customerId, line, last as EventRecord),
                KindFeedback => DecodeFeedback(buffer, ref position, source, customerId, line, last as FeedbackRecord),
                KindSubscription => DecodeSubscription(buffer, ref position, source, customerId, line, last as SubscriptionRecord),
                _ => throw new InvalidDataException($"Unknown record kind {kind} in the spill file."),
            };
            _last = record;
            return record;
        }

        private OrderRecord DecodeOrder(byte[] b, ref int p, string source, string customerId, long line, OrderRecord? last)
        {
            var orderId = String(b, ref p, last?.OrderId, share: false)!;
            var orderLine = (int)VarInt(b, ref p);
            var date = Date(b, ref p);
            var product = String(b, ref p, last?.ProductId, share: true);
            var quantity = Decimal(b, ref p);
            var amount = Decimal(b, ref p);
            var channel = String(b, ref p, last?.Channel, share: true)!;
            var currency = String(b, ref p, last?.Currency, share: true);
            var returned = b[p++] != 0;
            return new OrderRecord(source, customerId, line, orderId, orderLine, date, product, quantity, amount, channel, currency, returned);
        }

        private EventRecord DecodeEvent(byte[] b, ref int p, string source, string customerId, long line, EventRecord? last)
        {
            var eventId = String(b, ref p, last?.EventId, share: false);
            var timestamp = Date(b, ref p);
            var type = String(b, ref p, last?.Type, share: true)!;
            var product = String(b, ref p, last?.ProductId, share: true);
            var value = NullableDecimal(b, ref p);
            var channel = String(b, ref p, last?.Channel, share: true)!;
            return new EventRecord(source, customerId, line, eventId, timestamp, type, product, value, channel);
        }

        private FeedbackRecord DecodeFeedback(byte[] b, ref int p, string source, string customerId, long line, FeedbackRecord? last)
        {
            var feedbackId = String(b, ref p, last?.FeedbackId, share: false);
            var timestamp = Date(b, ref p);
            var text = String(b, ref p, last?.Text, share: false)!;
            var rating = VarInt(b, ref p) is var r and > 0 ? (int)(r - 1) : (int?)null;
            var channel = String(b, ref p, last?.Channel, share: true)!;
            return new FeedbackRecord(source, customerId, line, feedbackId, timestamp, text, rating, channel);
        }

        private SubscriptionRecord DecodeSubscription(byte[] b, ref int p, string source, string customerId, long line, SubscriptionRecord? last)
        {
            var plan = String(b, ref p, last?.Plan, share: true)!;
            var start = DateOnly.FromDayNumber(BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(p)));
            var endDay = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(p + 4));
            p += 8;
            var amount = NullableDecimal(b, ref p);
            var period = String(b, ref p, last?.Period, share: true);
            return new SubscriptionRecord(source, customerId, line, plan, start, endDay < 0 ? null : DateOnly.FromDayNumber(endDay), amount, period);
        }

        private string? String(byte[] b, ref int p, string? previous, bool share)
        {
            var tag = VarInt(b, ref p);
            if (tag == 0)
            {
                return null;
            }
            if (tag == 1)
            {
                return previous;
            }
            var length = (int)(tag - 2);
            var bytes = b.AsSpan(p, length);
            p += length;
            if (!share || length > SharedBytes)
            {
                return Encoding.UTF8.GetString(bytes); // ids of one record, or values too long to keep: a string of their own
            }
            // A fixed-size cache rather than a dictionary: it never grows into the large object heap, where a dead table
            // would keep every string it held alive through gen 0 collections until the next gen 2. Keyed by the encoded
            // bytes (kept in one array), so a hit neither decodes nor hashes characters. Two ways per set, the newer first.
            var hash = Fnv1a.Add(Fnv1a.Seed, bytes);
            var first = (int)((hash ^ (hash >> 13)) & (SharedSlots - 2));
            if (IsShared(first, bytes))
            {
                return _sharedText[first]!;
            }
            if (IsShared(first + 1, bytes))
            {
                return _sharedText[first + 1]!;
            }
            Array.Copy(_sharedUtf8, first * SharedBytes, _sharedUtf8, (first + 1) * SharedBytes, SharedBytes);
            _sharedLength[first + 1] = _sharedLength[first];
            _sharedText[first + 1] = _sharedText[first];
            bytes.CopyTo(_sharedUtf8.AsSpan(first * SharedBytes));
            _sharedLength[first] = (byte)length;
            return _sharedText[first] = Encoding.UTF8.GetString(bytes);
        }

        private bool IsShared(int slot, ReadOnlySpan<byte> bytes) =>
            _sharedLength[slot] == bytes.Length && _sharedText[slot] is not null && bytes.SequenceEqual(_sharedUtf8.AsSpan(slot * SharedBytes, bytes.Length));

        private static ulong VarInt(byte[] b, ref int p)
        {
            ulong value = 0;
            var shift = 0;
            while (true)
            {
                var current = b[p++];
                value |= (ulong)(current & 0x7F) << shift;
                if (current < 0x80)
                {
                    return value;
                }
                shift += 7;
            }
        }

        private static DateTimeOffset Date(byte[] b, ref int p)
        {
            var ticks = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(p));
            var offset = BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(p + 8));
            p += 10;
            return new DateTimeOffset(ticks, TimeSpan.FromMinutes(offset));
        }

        private static decimal? NullableDecimal(byte[] b, ref int p) => b[p] == 0xFF ? SkipNull(ref p) : Decimal(b, ref p);

        private static decimal? SkipNull(ref int p)
        {
            p++;
            return null;
        }

        private static decimal Decimal(byte[] b, ref int p)
        {
            var header = b[p++];
            var low64 = VarInt(b, ref p);
            var high = (header & 0x40) != 0 ? (int)(uint)VarInt(b, ref p) : 0;
            return new decimal((int)(uint)low64, (int)(uint)(low64 >> 32), high, (header & 0x80) != 0, (byte)(header & 0x1F));
        }

        private static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
    }
}
