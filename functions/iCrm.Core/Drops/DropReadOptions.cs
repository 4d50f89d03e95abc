using System.Text;

namespace iCrm.Core.Drops;

/// <summary>How a drop's bytes are turned into rows. Defaults suit the exports data teams actually send.</summary>
public sealed record DropReadOptions
{
    public static DropReadOptions Default { get; } = new();

    /// <summary>The CSV separator; null detects it from the header line among <c>,</c> <c>;</c> tab and <c>|</c>.</summary>
    public char? Separator { get; init; }

    /// <summary>A CSV header that names one column twice: reject the drop (default), or let the first or last one win.
    /// JSON Lines: the first key wins unless this says <see cref="Drops.DuplicateColumns.Last"/>; the row is flagged.</summary>
    public DuplicateColumns DuplicateColumns { get; init; } = DuplicateColumns.Reject;

    /// <summary>Text encoding when the file has no byte-order mark (a BOM always wins). Invalid byte sequences become
    /// U+FFFD and are counted (<see cref="DropReader.InvalidSequences"/>); rows holding one are flagged <c>invalid_utf8</c>.</summary>
    public Encoding Encoding { get; init; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// Longest record accepted. A longer one is almost always an unterminated quote swallowing the file; it becomes one
    /// malformed row and reading resumes on the next line, so memory stays bounded whatever the file holds.
    /// </summary>
    public int MaxRecordChars { get; init; } = 1 << 20;

    /// <summary>How much of a record's raw text is kept for quarantine.</summary>
    public int MaxRawTextChars { get; init; } = 4096;

    /// <summary>
    /// Rows of a batch are used only until the next batch is read (as the ingestion pipeline does: it validates a whole
    /// batch first), so the row objects and the character and bounds blocks behind them are reused instead of allocated
    /// again. Off by default: rows read one by one may be kept.
    /// </summary>
    public bool ReuseBuffersBetweenBatches { get; init; }
}
