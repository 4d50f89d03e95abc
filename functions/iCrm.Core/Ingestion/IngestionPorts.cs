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
    Task<Resolution> ResolveAsync(DropRecord record, IProfileLookup profiles, CancellationToken cancellationToken);
}

/// <summary>Profiles as the current chunk sees them (including changes not yet written).</summary>
public interface IProfileLookup
{
    Task<CustomerProfile?> FindAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>Match keys already resolved in this chunk → owner, so repeated rows of one customer cost no lookups.</summary>
    Dictionary<string, string> ResolvedKeys { get; }

    /// <summary>Resolutions of activity rows (orders, events, …) in this chunk by <c>{source}|{source id}</c>: a customer's
    /// many rows are resolved once.</summary>
    Dictionary<string, Resolution> ResolvedSources { get; }
}
