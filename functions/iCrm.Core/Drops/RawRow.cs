using iCrm.Core.Profiles;

namespace iCrm.Core.Drops;

/// <summary>
/// The columns of one file (CSV header) or of one JSON object: physical field names mapped once to canonical columns,
/// so reading a value is an array lookup, not a dictionary lookup per row.
/// </summary>
internal sealed class RowLayout
{
    public RowLayout(DropEntity entity, string[] names, bool checkRequired, DuplicateColumns duplicates = DuplicateColumns.First)
    {
        Names = names;
        FromHeader = checkRequired;
        FieldOfColumn = new int[DropSchema.ColumnCount];
        Array.Fill(FieldOfColumn, -1);
        var unknown = new List<int>();
        AttributeNames = new string[names.Length];
        Dictionary<string, int>? attributeFields = null;
        List<(int Kept, int Other)>? duplicatePairs = null;
        for (var i = 0; i < names.Length; i++)
        {
            if (DropSchema.TryResolve(entity, names[i], out var column))
            {
                var existing = FieldOfColumn[(int)column];
                if (existing >= 0)
                {
                    // Two columns for one field (email and E-Mail, customer_id and client_id): never an attribute.
                    (duplicatePairs ??= []).Add(duplicates == DuplicateColumns.Last ? (i, existing) : (existing, i));
                    if (duplicates == DuplicateColumns.Last)
                    {
                        FieldOfColumn[(int)column] = i;
                    }
                    continue;
                }
                FieldOfColumn[(int)column] = i;
                continue;
            }

            var name = names[i].Trim().Length == 0 ? $"column_{i + 1}" : DropSchema.AttributeName(names[i]);
            name = name.Length <= ProfileLimits.MaxAttributeNameLength ? name : name[..ProfileLimits.MaxAttributeNameLength];
            attributeFields ??= new Dictionary<string, int>(StringComparer.Ordinal);
            if (attributeFields.TryGetValue(name, out var earlier))
            {
                (duplicatePairs ??= []).Add(duplicates == DuplicateColumns.Last ? (i, earlier) : (earlier, i));
                if (duplicates == DuplicateColumns.Last)
                {
                    unknown[unknown.IndexOf(earlier)] = i;
                    attributeFields[name] = i;
                    AttributeNames[i] = name;
                }
                continue;
            }
            attributeFields[name] = i;
            AttributeNames[i] = name;
            unknown.Add(i);
        }

        var present = new List<int>();
        for (var c = 0; c < FieldOfColumn.Length; c++)
        {
            if (FieldOfColumn[c] >= 0)
            {
                present.Add(c);
            }
        }
        PresentColumns = [.. present];
        unknown.Sort(); // values are read in column order
        UnknownFields = [.. unknown];
        DuplicatePairs = duplicatePairs is null ? [] : [.. duplicatePairs];

        var missing = new List<DropColumn>();
        if (checkRequired)
        {
            foreach (var column in DropSchema.RequiredColumns(entity))
            {
                if (FieldOfColumn[(int)column] < 0)
                {
                    missing.Add(column);
                }
            }

            if (entity == DropEntity.Orders && FieldOfColumn[(int)DropColumn.Amount] < 0)
            {
                if (FieldOfColumn[(int)DropColumn.Quantity] < 0 && FieldOfColumn[(int)DropColumn.UnitPrice] < 0)
                {
                    missing.Add(DropColumn.Amount);
                }
                else if (FieldOfColumn[(int)DropColumn.UnitPrice] < 0)
                {
                    missing.Add(DropColumn.UnitPrice);
                }
            }
        }

        MissingColumns = [.. missing];
    }

    public string[] Names { get; }

    /// <summary>A CSV header's layout (rather than one JSON object's keys).</summary>
    public bool FromHeader { get; }

    public int[] FieldOfColumn { get; }

    /// <summary>The canonical columns this layout has (so per-row checks skip the others).</summary>
    public int[] PresentColumns { get; }

    public int[] UnknownFields { get; }

    /// <summary>snake_case attribute name per field index (only set for unknown fields).</summary>
    public string[] AttributeNames { get; }

    public DropColumn[] MissingColumns { get; }

    /// <summary>Columns named twice (after alias matching, or the same attribute name): the field read, and the one not.</summary>
    public (int Kept, int Other)[] DuplicatePairs { get; }

    /// <summary>The header names as written of every column that repeats an earlier one, one entry per duplicate.</summary>
    public IReadOnlyList<string> DuplicateNames => [.. DuplicatePairs.Select(p => Names[Math.Max(p.Kept, p.Other)])];
}

/// <summary>
/// What to do when a CSV header names one column twice (<c>email</c> and <c>E-Mail</c>, or two <c>notes</c>): a setting
/// (<c>Ingestion__Validation__DuplicateColumns</c>, per source <c>Ingestion__Sources__{source}__DuplicateColumns</c>).
/// </summary>
public enum DuplicateColumns
{
    /// <summary>Reject the drop (<c>ambiguous_header</c>): which value is right cannot be known. In JSON Lines, whose keys
    /// are per line, a duplicate key never rejects the drop: the first wins and the row is flagged.</summary>
    Reject,

    /// <summary>The first column wins; rows whose two values differ are flagged (<c>duplicate_header</c>).</summary>
    First,

    /// <summary>The last column wins; rows whose two values differ are flagged (<c>duplicate_header</c>).</summary>
    Last,
}

/// <summary>
/// One record as read from a drop, before validation: its values by canonical column, the columns iCrm does not know,
/// and the raw text for quarantine. Values are slices of a shared character block, so reading a row allocates no
/// strings; the validator allocates only the values it keeps.
/// </summary>
public sealed class RawRow
{
    private RowLayout _layout;
    private char[] _chars;
    private int _textStart;
    private int _textLength;
    private int[] _bounds;
    private int _boundsStart;
    private int _fieldCount;
    private int _rawTextCap;

    internal RawRow(RowLayout layout, long line, char[] chars, int textStart, int textLength, int[] bounds, int boundsStart,
        int fieldCount, string? malformedReason, int rawTextCap)
    {
        _layout = layout;
        _chars = chars;
        _bounds = bounds;
        Reset(layout, line, chars, textStart, textLength, bounds, boundsStart, fieldCount, malformedReason, rawTextCap);
    }

    /// <summary>Points this row at another record: the reader reuses a batch's rows once the batch is done with.</summary>
    internal void Reset(RowLayout layout, long line, char[] chars, int textStart, int textLength, int[] bounds, int boundsStart,
        int fieldCount, string? malformedReason, int rawTextCap)
    {
        _layout = layout;
        Line = line;
        _chars = chars;
        _textStart = textStart;
        _textLength = textLength;
        _bounds = bounds;
        _boundsStart = boundsStart;
        _fieldCount = fieldCount;
        MalformedReason = malformedReason;
        _rawTextCap = rawTextCap;
        HasInvalidText = false;
    }

    /// <summary>The physical line on which the record starts (CSV header = line 1; first JSON line = 1).</summary>
    public long Line { get; private set; }

    /// <summary>Why the record could not be read structurally (ragged, unterminated quote, invalid JSON); null when it could.</summary>
    public string? MalformedReason { get; private set; }

    public bool IsMalformed => MalformedReason is not null;

    /// <summary>Required columns the file's header lacks; the validator rejects every row of such a file with <c>missing_column</c>.</summary>
    public IReadOnlyList<DropColumn> MissingColumns => _layout.MissingColumns;

    /// <summary>Field names as written in the file (CSV header, or this object's JSON keys).</summary>
    public IReadOnlyList<string> FieldNames => _layout.Names;

    /// <summary>The record as it appeared in the file, cut at <see cref="DropReadOptions.MaxRawTextChars"/>.</summary>
    public string RawText => new(_chars, _textStart, Math.Min(_textLength, _rawTextCap));

    /// <summary>Whether the file has this column at all (as opposed to having it empty in this row).</summary>
    public bool Has(DropColumn column) => _layout.FieldOfColumn[(int)column] >= 0;

    /// <summary>The value of a canonical column, untrimmed; empty when the column is absent or the row is malformed.</summary>
    public ReadOnlySpan<char> this[DropColumn column]
    {
        get
        {
            var index = _layout.FieldOfColumn[(int)column];
            return index < 0 || index >= _fieldCount ? default : Field(index);
        }
    }

    /// <summary>The value of a canonical column as a trimmed string, or null when absent or blank.</summary>
    public string? GetString(DropColumn column)
    {
        var value = this[column].Trim();
        return value.IsEmpty ? null : value.ToString();
    }

    /// <summary>Columns iCrm has no canonical name for: (header as written, snake_case attribute name, value). Empty values are skipped.</summary>
    public IEnumerable<(string Header, string AttributeName, string Value)> UnknownColumns
    {
        get
        {
            foreach (var index in _layout.UnknownFields)
            {
                if (index >= _fieldCount)
                {
                    yield break;
                }

                var value = Field(index).Trim();
                if (!value.IsEmpty)
                {
                    yield return (_layout.Names[index], _layout.AttributeNames[index], value.ToString());
                }
            }
        }
    }

    internal bool HasUnknownColumns => _layout.UnknownFields.Length > 0;

    /// <summary>Whether the row's layout names a column twice (a CSV header, or this JSON object's keys).</summary>
    internal bool HasDuplicateColumns => _layout.DuplicatePairs.Length > 0;

    /// <summary>The first column named twice whose two values in this row differ (both trimmed), or null.</summary>
    internal string? FirstConflictingDuplicate()
    {
        foreach (var (kept, other) in _layout.DuplicatePairs)
        {
            if (kept < _fieldCount && other < _fieldCount && !Field(kept).Trim().SequenceEqual(Field(other).Trim()))
            {
                return _layout.Names[kept];
            }
        }
        return null;
    }

    internal bool FromHeader => _layout.FromHeader;

    /// <summary>The name of the first column named twice in this row's layout.</summary>
    internal string FirstDuplicate => _layout.Names[_layout.DuplicatePairs[0].Kept];

    /// <summary>Whether the record's text holds <paramref name="c"/>.</summary>
    internal bool TextContains(char c) => new ReadOnlySpan<char>(_chars, _textStart, _textLength).Contains(c);

    /// <summary>Set by the reader when the row's bytes held invalid sequences, now U+FFFD.</summary>
    internal bool HasInvalidText { get; set; }

    /// <summary>The name of the first field holding U+FFFD (the replacement of invalid bytes), or null.</summary>
    internal string? FirstFieldWithReplacement()
    {
        for (var i = 0; i < _fieldCount; i++)
        {
            if (Field(i).Contains('\uFFFD'))
            {
                return _layout.Names[i];
            }
        }
        return _fieldCount == 0 ? null : "row";
    }

    /// <summary>Length of the record's text in the file: no value of the row is longer.</summary>
    internal int TextLength => _textLength;

    /// <summary>The canonical columns the row's layout has.</summary>
    internal int[] PresentColumns => _layout.PresentColumns;

    /// <summary>Whether any field of the row (canonical or not) is longer than <paramref name="length"/> characters,
    /// untrimmed: a scan of the field bounds, so the usual row with short values costs no column lookups.</summary>
    internal bool HasFieldLongerThan(int length)
    {
        var bounds = _bounds;
        var end = _boundsStart + (_fieldCount * 2);
        for (var b = _boundsStart + 1; b < end; b += 2)
        {
            if (bounds[b] > length)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Untrimmed length of a canonical column's value (0 when absent or the row is malformed).</summary>
    internal int LengthOf(DropColumn column)
    {
        var index = _layout.FieldOfColumn[(int)column];
        return index < 0 || index >= _fieldCount ? 0 : _bounds[_boundsStart + (index * 2) + 1];
    }

    /// <summary>Trimmed length of the longest value among the unknown columns (attributes), and the header it is under.</summary>
    internal (int Length, string? Header) LongestUnknownValue()
    {
        var longest = (0, (string?)null);
        foreach (var index in _layout.UnknownFields)
        {
            if (index >= _fieldCount)
            {
                break;
            }

            var length = Field(index).Trim().Length;
            if (length > longest.Item1)
            {
                longest = (length, _layout.Names[index]);
            }
        }

        return longest;
    }

    internal bool HasMissingColumns => _layout.MissingColumns.Length > 0; // no interface dispatch on the hot path

    private ReadOnlySpan<char> Field(int field)
    {
        var b = _boundsStart + (field * 2);
        return new ReadOnlySpan<char>(_chars, _bounds[b], _bounds[b + 1]);
    }
}
