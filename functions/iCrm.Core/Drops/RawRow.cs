namespace iCrm.Core.Drops;

/// <summary>
/// The columns of one file (CSV header) or of one JSON object: physical field names mapped once to canonical columns,
/// so reading a value is an array lookup, not a dictionary lookup per row.
/// </summary>
internal sealed class RowLayout
{
    public RowLayout(DropEntity entity, string[] names, bool checkRequired)
    {
        Names = names;
        FieldOfColumn = new int[DropSchema.ColumnCount];
        Array.Fill(FieldOfColumn, -1);
        var unknown = new List<int>();
        for (var i = 0; i < names.Length; i++)
        {
            if (DropSchema.TryResolve(entity, names[i], out var column) && FieldOfColumn[(int)column] < 0)
            {
                FieldOfColumn[(int)column] = i;
            }
            else
            {
                unknown.Add(i);
            }
        }

        UnknownFields = [.. unknown];
        AttributeNames = new string[names.Length];
        foreach (var i in UnknownFields)
        {
            AttributeNames[i] = names[i].Trim().Length == 0 ? $"column_{i + 1}" : DropSchema.AttributeName(names[i]);
        }

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

    public int[] FieldOfColumn { get; }

    public int[] UnknownFields { get; }

    /// <summary>snake_case attribute name per field index (only set for unknown fields).</summary>
    public string[] AttributeNames { get; }

    public DropColumn[] MissingColumns { get; }
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

    internal bool HasMissingColumns => _layout.MissingColumns.Length > 0; // no interface dispatch on the hot path

    private ReadOnlySpan<char> Field(int field)
    {
        var b = _boundsStart + (field * 2);
        return new ReadOnlySpan<char>(_chars, _bounds[b], _bounds[b + 1]);
    }
}
