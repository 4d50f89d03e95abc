using System.Net;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

public sealed class CosmosIdentityStore(CosmosContainers containers) : IIdentityStore
{
    private Task<Container> Container(CancellationToken ct) => containers.GetAsync(ResourceNames.IdentitiesContainer, ct);

    public async Task<IdentityClaim?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        (await CosmosQueries.ReadAsync<IdentityClaim>(await Container(cancellationToken), key, cancellationToken))?.Value;

    /// <summary>Keys per ReadMany call: the SDK sends one query per 1,000 ids and partition key range; smaller calls let
    /// several run at once.</summary>
    private const int ReadManyBatch = 500;

    /// <summary>ReadMany calls of one batch in flight at once.</summary>
    private const int ReadManyConcurrency = 8;

    /// <summary>
    /// One ReadMany per 500 keys instead of a point read per key: a chunk's 8 identity reads per row were half of all
    /// Cosmos requests of a customers drop, and each request costs the app about 0.2-0.6 ms of CPU in the SDK whatever
    /// it carries (see docs/ingest-throughput.md). For a container partitioned by /id the SDK sends
    /// <c>SELECT * FROM c WHERE c.id IN (...)</c> per partition key range, which Cosmos answers from the id index (and
    /// the local server by point lookups). Absent keys are simply not in the answer: no 404 per key.
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
        var batches = keys.Distinct(StringComparer.Ordinal).Chunk(ReadManyBatch);
        await Parallel.ForEachAsync(batches,
            new ParallelOptions { MaxDegreeOfParallelism = ReadManyConcurrency, CancellationToken = cancellationToken },
            async (batch, ct) =>
            {
                var items = batch.Select(key => (key, new PartitionKey(key))).ToList();
                var response = await container.ReadManyItemsAsync<IdentityClaim>(items, cancellationToken: ct);
                lock (found)
                {
                    foreach (var claim in response)
                    {
                        found[claim.Id] = claim;
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
