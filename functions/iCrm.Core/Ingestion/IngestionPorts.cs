using iCrm.Core.Drops;
using iCrm.Core.Profiles;

namespace iCrm.Core.Ingestion;

/// <summary>Who a record belongs to, and which profiles it proved to be one person. <see cref="ErasedSubject"/>: the record
/// names an erased person (one of its keys is a tombstone); it belongs to nobody and is quarantined.</summary>
public sealed record Resolution(
    string CustomerId,
    IReadOnlyList<string> MergeFrom,
    IReadOnlyList<MergeExplanation> Explanations,
    IReadOnlyList<string> MatchKeys,
    iCrm.Core.Identity.MatchCandidate? Variant,
    bool ErasedSubject = false);

/// <summary>Resolves the customer a record belongs to, claiming match keys as it goes.</summary>
public interface IIdentityResolver
{
    ValueTask<Resolution> ResolveAsync(DropRecord record, IProfileLookup profiles, CancellationToken cancellationToken);
}

/// <summary>Profiles as the current chunk sees them (including changes not yet written), and what the drop has already resolved.</summary>
public interface IProfileLookup
{
    ValueTask<CustomerProfile?> FindAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>Identity lookups this drop has already made, kept across its chunks.</summary>
    DropResolutionCache Cache { get; }

    /// <summary>Resolutions of activity rows (orders, events, …) in this chunk by source and source id: a customer's
    /// many rows are resolved once per chunk.</summary>
    Dictionary<(string Source, string SourceId), Resolution> ResolvedSources { get; }

    /// <summary>The chunk's marker <c>{dropId}#{chunk}</c> (names the drop in review candidates), when there is one.</summary>
    string? Marker => null;
}

/// <summary>
/// Identity lookups a drop has already made. The hashed source key of each source id is kept for the whole drop (the
/// hash is deterministic), so a customer whose rows are spread over the file costs one HMAC per drop. Key owners are
/// kept for one chunk only: another drop's merge may repoint a key at any time, and only the identity store says so
/// (a profile is marked merged only after its keys are repointed). Bounded: emptied at <see cref="Capacity"/> entries.
/// </summary>
public sealed class DropResolutionCache(int capacity = 100_000)
{
    public int Capacity => capacity;

    /// <summary>Match key → the customer id that owned it when looked up (or claimed it) in this chunk.</summary>
    public Dictionary<string, string> KeyOwners { get; } = new(StringComparer.Ordinal);

    /// <summary>Keys found to be tombstones of erased people in this chunk.</summary>
    public HashSet<string> ErasedKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>(source, source id) → its hashed source-id key.</summary>
    public Dictionary<(string Source, string SourceId), string> SourceKeys { get; } = [];

    /// <summary>Called before each chunk: forgets key owners, and the source keys once they reach the capacity.</summary>
    public void StartChunk()
    {
        KeyOwners.Clear();
        ErasedKeys.Clear();
        if (SourceKeys.Count >= capacity)
        {
            SourceKeys.Clear();
        }
    }
}
