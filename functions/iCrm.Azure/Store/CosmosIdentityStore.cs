using System.Net;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

public sealed class CosmosIdentityStore(CosmosContainers containers) : IIdentityStore
{
    private Task<Container> Container(CancellationToken ct) => containers.GetAsync(ResourceNames.IdentitiesContainer, ct);

    public async Task<IdentityClaim?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        (await CosmosQueries.ReadAsync<IdentityClaim>(await Container(cancellationToken), key, cancellationToken))?.Value;

    /// <summary>Reads of one batch in flight at once.</summary>
    private const int ReadConcurrency = 32;

    /// <summary>
    /// Point reads (1 RU each, the cheapest read), issued concurrently rather than one round trip after another. With
    /// <c>IcrmCosmos__allowBulk</c> on (Azure), the SDK packs concurrent point operations on one partition range into
    /// batch requests. Not ReadMany: the SDK sends it as a query, which the local Cosmos server evaluates over every
    /// document (a 200-key ReadMany timed out after 15 s on a populated identities container there).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IdentityClaim>> GetManyAsync(IReadOnlyCollection<string> keys,
        CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<string, IdentityClaim>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return found;
        }
        var container = await Container(cancellationToken);
        await Parallel.ForEachAsync(keys.Distinct(StringComparer.Ordinal),
            new ParallelOptions { MaxDegreeOfParallelism = ReadConcurrency, CancellationToken = cancellationToken },
            async (key, ct) =>
            {
                if (await CosmosQueries.ReadAsync<IdentityClaim>(container, key, ct) is { } claim)
                {
                    lock (found)
                    {
                        found[key] = claim.Value;
                    }
                }
            });
        return found;
    }

    public async Task<string> ClaimAsync(string key, string kind, string customerId, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        try
        {
            await container.CreateItemAsync(new IdentityClaim(key, customerId, kind), new PartitionKey(key),
                new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);
            return customerId;
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            // Someone claimed it first (another drop, or an earlier run): the existing owner wins.
            var existing = await CosmosQueries.ReadAsync<IdentityClaim>(container, key, cancellationToken);
            return existing?.Value.CustomerId ?? customerId;
        }
    }

    public async Task RepointAsync(string key, string kind, string customerId, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        var existing = await CosmosQueries.ReadAsync<IdentityClaim>(container, key, cancellationToken);
        await container.UpsertItemAsync(new IdentityClaim(key, customerId, kind, existing?.Value.Candidates), new PartitionKey(key),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);
    }

    public async Task ReleaseAsync(string key, string customerId, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        var existing = await CosmosQueries.ReadAsync<IdentityClaim>(container, key, cancellationToken);
        if (existing is null || existing.Value.CustomerId != customerId || existing.Value.Candidates is not null)
        {
            return;
        }
        try
        {
            await container.DeleteItemAsync<IdentityClaim>(key, new PartitionKey(key), new ItemRequestOptions { IfMatchEtag = existing.ETag },
                cancellationToken);
        }
        catch (CosmosException e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            // Changed (repointed, re-claimed) or removed meanwhile: no longer this claim to release.
        }
    }

    public async Task AddCandidateAsync(string key, string customerId, int maxCandidates, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var existing = await CosmosQueries.ReadAsync<IdentityClaim>(container, key, cancellationToken);
            if (existing is null)
            {
                try
                {
                    await container.CreateItemAsync(new IdentityClaim(key, customerId, "block", [customerId]), new PartitionKey(key),
                        new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);
                    return;
                }
                catch (CosmosException e) when (e.StatusCode == HttpStatusCode.Conflict)
                {
                    continue;
                }
            }
            var candidates = existing.Value.Candidates ?? [];
            if (candidates.Contains(customerId))
            {
                return;
            }
            candidates.Add(customerId);
            if (candidates.Count > maxCandidates)
            {
                candidates.RemoveRange(0, candidates.Count - maxCandidates);
            }
            try
            {
                await container.ReplaceItemAsync(existing.Value with { Candidates = candidates }, key, new PartitionKey(key),
                    new ItemRequestOptions { IfMatchEtag = existing.ETag, EnableContentResponseOnWrite = false }, cancellationToken);
                return;
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
            {
            }
        }
        throw new InvalidOperationException("Could not update a blocking key after 10 attempts (constant contention).");
    }
}
