using iCrm.Core.Drops;
using iCrm.Core.Profiles;

namespace iCrm.Core.Ingestion;

/// <summary>Who a record belongs to, and which profiles it proved to be one person.</summary>
public sealed record Resolution(
    string CustomerId,
    IReadOnlyList<string> MergeFrom,
    IReadOnlyList<MergeExplanation> Explanations,
    IReadOnlyList<string> MatchKeys,
    iCrm.Core.Identity.MatchCandidate? Variant);

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
}

/// <summary>
/// Identity lookups one drop has already made, kept across its chunks so a customer whose rows are spread over the
/// file costs one HMAC and one identity read per drop, not per chunk: the hashed source key of each source id (the
/// hash is deterministic) and the owner of each match key (merges are followed from it on every use, so a merge
/// made meanwhile is still seen). Bounded: each map is emptied when it reaches <see cref="Capacity"/> entries.
/// </summary>
public sealed class DropResolutionCache(int capacity = 100_000)
{
    public int Capacity => capacity;

    /// <summary>Match key → the customer id that owned it when last looked up (or claimed it).</summary>
    public Dictionary<string, string> KeyOwners { get; } = new(StringComparer.Ordinal);

    /// <summary>(source, source id) → its hashed source-id key.</summary>
    public Dictionary<(string Source, string SourceId), string> SourceKeys { get; } = [];

    /// <summary>Empties a map that has reached the capacity; called between chunks, so memory stays bounded.</summary>
    public void TrimIfFull()
    {
        if (KeyOwners.Count >= capacity)
        {
            KeyOwners.Clear();
        }
        if (SourceKeys.Count >= capacity)
        {
            SourceKeys.Clear();
        }
    }
}
