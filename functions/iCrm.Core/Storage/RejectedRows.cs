using iCrm.Core.Drops;

namespace iCrm.Core.Storage;

/// <summary>Reads back the rejected rows of a drop (<c>quarantine/{dropId}/rejected.jsonl</c>), first ones first.</summary>
public interface IRejectedRows
{
    /// <summary>At most <paramref name="max"/> rows, unmasked (callers mask before showing them); null when the drop has no rejected-rows file.</summary>
    Task<IReadOnlyList<RowRejection>?> ReadAsync(string dropId, int max, CancellationToken cancellationToken = default);
}
