using iCrm.Core.Drops;

namespace iCrm.Core.Ingestion;

/// <summary>
/// Cuts a window of accepted rows into chunks. Activity rows (orders, events, feedback, subscriptions) are grouped by
/// customer first, each customer's rows in file order and customers in order of first appearance, and a chunk holds
/// whole customers: a customer whose rows are spread over the window is then loaded and written once per window, not
/// once per chunk. Customer rows keep file order, because identity resolution depends on it. The plan depends only on
/// the window's rows, so a re-run after a crash replays exactly the same chunks. One planner serves one drop: its
/// buffers are reused from window to window, and the chunks it returns are valid until the next call. The planner keeps
/// no record once the caller has cleared the chunks it applied (as <see cref="IngestionPipeline"/> does, so they can go).
/// </summary>
public sealed class ChunkPlanner(int chunkSize, bool groupByCustomer)
{
    private readonly int _chunkSize = chunkSize >= 1 ? chunkSize : throw new ArgumentOutOfRangeException(nameof(chunkSize));
    private readonly Dictionary<(string Source, string SourceId), int> _groups = [];
    private readonly List<int> _groupSizes = [];
    private readonly List<ArraySegment<DropRecord>> _chunks = [];
    private int[] _groupOf = [];
    private int[] _groupStarts = [];
    private DropRecord[] _planned = [];

    public IReadOnlyList<ArraySegment<DropRecord>> Plan(List<DropRecord> records)
    {
        _chunks.Clear();
        if (records.Count == 0)
        {
            return _chunks;
        }
        EnsureCapacity(ref _planned, records.Count);
        if (!groupByCustomer)
        {
            records.CopyTo(_planned);
            for (var start = 0; start < records.Count; start += _chunkSize)
            {
                _chunks.Add(new ArraySegment<DropRecord>(_planned, start, Math.Min(_chunkSize, records.Count - start)));
            }
            return _chunks;
        }

        // Group numbers in order of first appearance. Rows of one customer usually come together (an order's lines, a
        // sorted export): those skip the lookup, and a window whose customers never come back needs no reordering.
        _groups.Clear();
        _groupSizes.Clear();
        EnsureCapacity(ref _groupOf, records.Count);
        var grouped = true;
        DropRecord? previous = null;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            int group;
            if (previous is not null && record.SourceCustomerId == previous.SourceCustomerId && record.Source == previous.Source)
            {
                group = _groupOf[i - 1];
            }
            else
            {
                var key = (record.Source, record.SourceCustomerId);
                if (!_groups.TryGetValue(key, out group))
                {
                    group = _groupSizes.Count;
                    _groups[key] = group;
                    _groupSizes.Add(0);
                }
                else
                {
                    grouped = false; // a customer seen before, with others in between
                }
            }
            _groupOf[i] = group;
            _groupSizes[group]++;
            previous = record;
        }

        // A stable counting sort by group (or a plain copy when the window is grouped already).
        EnsureCapacity(ref _groupStarts, _groupSizes.Count + 1);
        _groupStarts[0] = 0;
        for (var g = 0; g < _groupSizes.Count; g++)
        {
            _groupStarts[g + 1] = _groupStarts[g] + _groupSizes[g];
        }
        if (grouped)
        {
            records.CopyTo(_planned);
        }
        else
        {
            var next = new int[_groupSizes.Count];
            Array.Copy(_groupStarts, next, next.Length);
            for (var i = 0; i < records.Count; i++)
            {
                _planned[next[_groupOf[i]]++] = records[i];
            }
        }

        // Whole customers per chunk: close a chunk once it holds chunkSize rows or more (one customer may exceed it alone).
        var chunkStart = 0;
        for (var g = 1; g <= _groupSizes.Count; g++)
        {
            if (_groupStarts[g] - chunkStart >= _chunkSize || g == _groupSizes.Count)
            {
                _chunks.Add(new ArraySegment<DropRecord>(_planned, chunkStart, _groupStarts[g] - chunkStart));
                chunkStart = _groupStarts[g];
            }
        }
        return _chunks;
    }

    private static void EnsureCapacity<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[Math.Max(length, buffer.Length * 2)];
        }
    }
}
