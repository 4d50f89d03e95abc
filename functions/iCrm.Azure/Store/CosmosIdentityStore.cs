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

    public Task AddCandidateAsync(string key, string customerId, int maxCandidates, CancellationToken cancellationToken = default) =>
        AddCandidatesAsync(key, [customerId], maxCandidates, probablyAbsent: false, cancellationToken);

    /// <summary>One read and one conditional write for all of a chunk's new candidates of the key; when the chunk's batched
    /// read found no document, a create first (no read), falling back to the read-modify-write when someone created it meanwhile.</summary>
    public async Task AddCandidatesAsync(string key, IReadOnlyList<string> customerIds, int maxCandidates, bool probablyAbsent,
        CancellationToken cancellationToken = default)
    {
        if (customerIds.Count == 0)
        {
            return;
        }
        var container = await Container(cancellationToken);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var existing = probablyAbsent && attempt == 0 ? null : await CosmosQueries.ReadAsync<IdentityClaim>(container, key, cancellationToken);
            if (existing is null)
            {
                var initial = Append([], customerIds, maxCandidates);
                try
                {
                    await container.CreateItemAsync(new IdentityClaim(key, customerIds[0], "block", initial), new PartitionKey(key),
                        new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);
                    return;
                }
                catch (CosmosException e) when (e.StatusCode == HttpStatusCode.Conflict)
                {
                    continue;
                }
            }
            var before = existing.Value.Candidates ?? [];
            var candidates = Append([.. before], customerIds, maxCandidates);
            if (candidates.SequenceEqual(before, StringComparer.Ordinal))
            {
                return;
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

    /// <summary>Appends the ids not listed yet, in order, keeping the newest <paramref name="maxCandidates"/> (the cap of
    /// one <see cref="AddCandidateAsync"/> after another).</summary>
    private static List<string> Append(List<string> candidates, IReadOnlyList<string> customerIds, int maxCandidates)
    {
        foreach (var customerId in customerIds)
        {
            if (candidates.Contains(customerId))
            {
                continue;
            }
            candidates.Add(customerId);
            if (candidates.Count > maxCandidates)
            {
                candidates.RemoveRange(0, candidates.Count - maxCandidates);
            }
        }
        return candidates;
    }
}
