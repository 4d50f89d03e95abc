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

    /// <summary>Writes what the chunk's rows left in <see cref="DropResolutionCache.Pending"/> (key claims, blocking-key
    /// candidates, merge reviews), concurrently, before the chunk's profiles are written. False when a claim was lost to
    /// another writer: nothing else was written, and the chunk must be resolved again without deferring (its rows then
    /// find the keys it did claim as owned, as a re-run after a crash does).</summary>
    ValueTask<bool> FlushChunkAsync(IProfileLookup profiles, CancellationToken cancellationToken) => ValueTask.FromResult(true);
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

    /// <summary>Reads, concurrently, the stored profiles the chunk's rows will probably ask for (key owners, blocking
    /// candidates, the ids new rows would create), so resolving a row needs no read round trip.</summary>
    ValueTask PrefetchAsync(IReadOnlyCollection<string> customerIds, CancellationToken cancellationToken) => ValueTask.CompletedTask;
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

    /// <summary>The identity writes this chunk's rows decided on, held to be written together before its profiles (null:
    /// each row writes its own as it is resolved).</summary>
    public PendingIdentityWrites? Pending { get; set; }

    /// <summary>Called before each chunk: forgets key owners, claims read and prepared keys, pending writes, and the source
    /// keys once they reach the capacity.</summary>
    public void StartChunk()
    {
        Pending = null;
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

/// <summary>
/// Identity writes of one chunk, decided row by row in memory and written together before the chunk's profiles: key claims
/// (create-if-absent, each assumed to succeed while the chunk is resolved; <see cref="IIdentityResolver.FlushChunkAsync"/>
/// checks it), blocking-key candidates (all of a key's new candidates in one write, in the order the rows filed them) and
/// merge reviews. Writing them per row cost a round trip or two after every row; here they go out concurrently.
/// </summary>
public sealed class PendingIdentityWrites
{
    public List<(string Key, string Kind, string CustomerId)> Claims { get; } = [];

    /// <summary>Blocking key → the customers to add, in filing order, and whether the chunk's batched read found no document.</summary>
    public Dictionary<string, (List<string> CustomerIds, bool ReadAsAbsent)> Candidates { get; } = new(StringComparer.Ordinal);

    public List<MergeReview> Reviews { get; } = [];

    public bool IsEmpty => Claims.Count == 0 && Candidates.Count == 0 && Reviews.Count == 0;

    /// <summary>Records the claims of a row's free keys for <paramref name="customerId"/>; returns the owners as a claim
    /// that succeeded would (the customer itself, for each key).</summary>
    public string[] Claim(IReadOnlyList<MatchKey> keys, string customerId)
    {
        var owners = new string[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            Claims.Add((keys[i].Value, MatchKey.Prefix(keys[i].Kind), customerId));
            owners[i] = customerId;
        }
        return owners;
    }

    public void AddCandidate(string key, string customerId, bool readAsAbsent)
    {
        if (!Candidates.TryGetValue(key, out var entry))
        {
            Candidates[key] = ([customerId], readAsAbsent);
        }
        else if (!entry.CustomerIds.Contains(customerId))
        {
            entry.CustomerIds.Add(customerId);
        }
    }
}
