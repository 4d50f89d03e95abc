using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace iCrm.DataGen;

/// <summary>How one source system exports its files: separator, line ending, BOM, date and number formats.</summary>
public sealed record SourceFormat(
    string Source,
    bool JsonLines,
    char Separator,
    string NewLine,
    bool Bom,
    string DateFormat,
    string TimestampFormat,
    char DecimalSeparator,
    string TrueText,
    string FalseText,
    TimeSpan UtcOffset)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public string FormatDecimal(decimal value)
    {
        string text = value.ToString("0.00", Invariant);
        return DecimalSeparator == '.' ? text : text.Replace('.', DecimalSeparator);
    }

    public string FormatDate(DateOnly date) => date.ToString(DateFormat, Invariant);

    /// <summary>A UTC instant shown in the source's local offset and format.</summary>
    public string FormatTimestamp(DateTime utc) =>
        new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Unspecified) + UtcOffset, UtcOffset).ToString(TimestampFormat, Invariant);

    public string FormatBool(bool value) => value ? TrueText : FalseText;
}

/// <summary>RFC 4180 field writing: a field is quoted when it holds the separator, a quote, CR or LF; quotes are doubled.</summary>
public static class Csv
{
    public static void AppendField(StringBuilder row, string? value, char separator)
    {
        if (string.IsNullOrEmpty(value)) return;
        if (value.AsSpan().IndexOfAny(separator, '"', '\n') < 0 && !value.Contains('\r'))
        {
            row.Append(value);
            return;
        }
        row.Append('"');
        foreach (char c in value)
        {
            if (c == '"') row.Append('"');
            row.Append(c);
        }
        row.Append('"');
    }

    /// <summary>A row from fields, separated and quoted as needed (no line terminator).</summary>
    public static string Row(char separator, params string?[] fields)
    {
        var row = new StringBuilder();
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) row.Append(separator);
            AppendField(row, fields[i], separator);
        }
        return row.ToString();
    }
}

/// <summary>Minimal JSON string escaping for JSON Lines records built by hand (fast, no reflection).</summary>
public static class Json
{
    public static void AppendString(StringBuilder sb, string value)
    {
        sb.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>Appends <c>"name":"value"</c> (with a leading comma unless first); nothing when the value is null.</summary>
    public static void Property(StringBuilder sb, string name, string? value, ref bool first)
    {
        if (value is null) return;
        sb.Append(first ? "" : ",").Append('"').Append(name).Append("\":");
        first = false;
        AppendString(sb, value);
    }

    public static void RawProperty(StringBuilder sb, string name, string raw, ref bool first)
    {
        sb.Append(first ? "" : ",").Append('"').Append(name).Append("\":").Append(raw);
        first = false;
    }
}

/// <summary>
/// The files of one (source, entity), e.g. drops/web/orders/orders-0001.csv, written as a stream. Rows are built in
/// <see cref="Row"/> and committed as clean or as a bad row of a named kind; the counts become truth/injected.json.
/// Overlapping exports: a sample of clean rows is held back (bounded) and written again at the top of the next file.
/// </summary>
public sealed class DropFileSet : IDisposable
{
    private const int DuplicateBufferCap = 50_000;

    private readonly string _root;
    private readonly string _entity;
    private readonly string? _header;
    private readonly bool _gzip;
    private readonly double _duplicateRate;
    private readonly Rng _rng;
    private readonly List<string> _pendingDuplicates = [];
    private readonly List<GeneratedFile> _files = [];

    private StreamWriter? _writer;
    private string? _currentPath;
    private long _rows, _clean, _duplicates;
    private Dictionary<string, long> _bad = new(StringComparer.Ordinal);
    private bool _rotateRequested;

    public DropFileSet(string root, SourceFormat format, string entity, string? header, bool gzip, double duplicateRate, int seed)
    {
        _root = root;
        Format = format;
        _entity = entity;
        _header = header;
        _gzip = gzip;
        _duplicateRate = duplicateRate;
        _rng = Rng.For(seed, Rng.StableHash(format.Source + "/" + entity), 6);
    }

    public SourceFormat Format { get; }
    public string Source => Format.Source;
    public string Entity => _entity;
    public char Separator => Format.Separator;

    /// <summary>The row being built; cleared after each commit.</summary>
    public StringBuilder Row { get; } = new(256);

    public IReadOnlyList<GeneratedFile> Files => _files;

    /// <summary>Appends a field (with the separator before it unless <paramref name="first"/>).</summary>
    public DropFileSet Field(string? value, bool first = false)
    {
        if (!first) Row.Append(Format.Separator);
        Csv.AppendField(Row, value, Format.Separator);
        return this;
    }

    /// <summary>Writes the row as a clean record; it may also be queued to reappear in the next file.</summary>
    public void Commit(bool mayRepeat = true)
    {
        Write();
        _clean++;
        if (mayRepeat && _duplicateRate > 0 && _pendingDuplicates.Count < DuplicateBufferCap && _rng.Chance(_duplicateRate))
        {
            _pendingDuplicates.Add(Row.ToString());
        }
        Row.Clear();
    }

    /// <summary>Writes the row as an injected bad row of <paramref name="kind"/>.</summary>
    public void CommitBad(string kind)
    {
        Write();
        _bad[kind] = _bad.GetValueOrDefault(kind) + 1;
        Row.Clear();
    }

    /// <summary>The next row starts a new file (files rotate at person-chunk boundaries).</summary>
    public void RequestNextFile() => _rotateRequested = _writer is not null;

    private void Write()
    {
        if (_writer is null || _rotateRequested) Open();
        _writer!.Write(Row);
        _writer.Write(Format.NewLine);
        _rows++;
    }

    private void Open()
    {
        Close();
        _rotateRequested = false;
        int number = _files.Count + 1;
        string extension = Format.JsonLines ? "jsonl" : "csv";
        string relative = $"drops/{Format.Source}/{_entity}/{_entity}-{number:D4}.{extension}{(_gzip ? ".gz" : "")}";
        string full = Path.Combine(_root, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        Stream stream = new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        if (_gzip) stream = new GZipStream(stream, CompressionLevel.Fastest);
        if (Format.Bom) stream.Write([0xEF, 0xBB, 0xBF]);
        _writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16);
        _currentPath = relative;
        if (_header is not null)
        {
            _writer.Write(_header);
            _writer.Write(Format.NewLine);
        }
        foreach (string repeated in _pendingDuplicates)
        {
            _writer.Write(repeated);
            _writer.Write(Format.NewLine);
            _rows++;
            _duplicates++;
        }
        _pendingDuplicates.Clear();
    }

    private void Close()
    {
        if (_writer is null) return;
        _writer.Dispose();
        string full = Path.Combine(_root, _currentPath!.Replace('/', Path.DirectorySeparatorChar));
        _files.Add(new GeneratedFile(_currentPath, Format.Source, _entity, _rows, _clean, _duplicates,
            new SortedDictionary<string, long>(_bad, StringComparer.Ordinal), new FileInfo(full).Length));
        _writer = null;
        _rows = _clean = _duplicates = 0;
        _bad = new Dictionary<string, long>(StringComparer.Ordinal);
    }

    /// <summary>Closes the last file. Rows still held back for a next file that never comes are dropped, not counted.</summary>
    public void Dispose() => Close();
}
