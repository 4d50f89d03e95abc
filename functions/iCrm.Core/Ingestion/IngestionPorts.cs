using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

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

    /// <summary>Looks up, in a few batched requests, what a chunk's rows will ask the identity store for, before they are
    /// resolved one by one (the answers are kept in <see cref="IProfileLookup.Cache"/> for the chunk).</summary>
    ValueTask PrepareChunkAsync(IReadOnlyList<DropRecord> records, IProfileLookup profiles, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;
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

    /// <summary>Identity documents read for this chunk in one batch before its rows were resolved: key → the claim, or null
    /// when there was none. Kept for one chunk only, like <see cref="KeyOwners"/>, which take precedence (claims made since).</summary>
    public Dictionary<string, IdentityClaim?> Claims { get; } = new(StringComparer.Ordinal);

    /// <summary>The match keys of this chunk's customer rows, hashed once for the batched lookup and reused to resolve them.</summary>
    public Dictionary<DropRecord, PreparedKeys> Prepared { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Called before each chunk: forgets key owners, claims read and prepared keys, and the source keys once they
    /// reach the capacity.</summary>
    public void StartChunk()
    {
        KeyOwners.Clear();
        ErasedKeys.Clear();
        Claims.Clear();
        Prepared.Clear();
        if (SourceKeys.Count >= capacity)
        {
            SourceKeys.Clear();
        }
    }
}

/// <summary>A customer row's deterministic keys, spelling variant and blocking keys, hashed once per chunk.</summary>
public sealed record PreparedKeys(IReadOnlyList<MatchKey> Keys, MatchCandidate Variant, IReadOnlyList<MatchKey> BlockingKeys);
