using System.Net;
using iCrm.Core.Privacy;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

/// <summary>
/// Erasure writes on the existing containers. Tombstones live in <c>identities</c>: a tombstoned key keeps its id (the
/// keyed hash every drop row already looks up, so recognising an erased person costs no extra read) with kind
/// <c>erased</c>, and the erasure record is the document <c>erasure:{customerId}</c> beside them. No new container: nothing
/// to declare in Bicep, grant or back up separately, and nothing readable is stored.
/// </summary>
public sealed class CosmosSubjectErasureStore(CosmosContainers containers) : ISubjectErasureStore
{
    private Task<Container> Identities(CancellationToken ct) => containers.GetAsync(ResourceNames.IdentitiesContainer, ct);

    public async Task<ErasureRecord?> GetAsync(string customerId, CancellationToken cancellationToken = default) =>
        (await CosmosQueries.ReadAsync<ErasureRecord>(await Identities(cancellationToken), ErasureRecord.IdFor(customerId), cancellationToken))?.Value;

    public async Task SaveAsync(ErasureRecord record, CancellationToken cancellationToken = default) =>
        await (await Identities(cancellationToken)).UpsertItemAsync(record, new PartitionKey(record.Id),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);

    public async Task TombstoneKeyAsync(string key, string customerId, CancellationToken cancellationToken = default) =>
        await (await Identities(cancellationToken)).UpsertItemAsync(new IdentityClaim(key, customerId, ErasedKeys.Kind), new PartitionKey(key),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);

    public async Task RemoveCandidateAsync(string blockingKey, string customerId, CancellationToken cancellationToken = default)
    {
        var container = await Identities(cancellationToken);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var existing = await CosmosQueries.ReadAsync<IdentityClaim>(container, blockingKey, cancellationToken);
            if (existing?.Value.Candidates is not { } candidates || !candidates.Contains(customerId))
            {
                return;
            }
            candidates.RemoveAll(c => c == customerId);
            try
            {
                if (candidates.Count == 0)
                {
                    await container.DeleteItemAsync<IdentityClaim>(blockingKey, new PartitionKey(blockingKey),
                        new ItemRequestOptions { IfMatchEtag = existing.ETag }, cancellationToken);
                }
                else
                {
                    await container.ReplaceItemAsync(existing.Value with { Candidates = candidates }, blockingKey, new PartitionKey(blockingKey),
                        new ItemRequestOptions { IfMatchEtag = existing.ETag, EnableContentResponseOnWrite = false }, cancellationToken);
                }
                return;
            }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.PreconditionFailed || CosmosQueries.IsMissingItem(e))
            {
                // Another drop changed the list meanwhile: read it again.
            }
        }
        throw new InvalidOperationException("Could not update a blocking key after 10 attempts (constant contention).");
    }

    public async Task DeleteProfileAsync(string customerId, CancellationToken cancellationToken = default)
    {
        var container = await containers.GetAsync(ResourceNames.CustomersContainer, cancellationToken);
        try
        {
            await container.DeleteItemAsync<CustomerProfile>(customerId, new PartitionKey(customerId), cancellationToken: cancellationToken);
        }
        catch (CosmosException e) when (CosmosQueries.IsMissingItem(e))
        {
            // Deleted before (a retried erasure).
        }
    }
}
