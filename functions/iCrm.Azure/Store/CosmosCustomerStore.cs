using System.Net;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

public sealed class CosmosCustomerStore(CosmosContainers containers) : ICustomerStore
{
    private Task<Container> Container(CancellationToken ct) => containers.GetAsync(ResourceNames.CustomersContainer, ct);

    public async Task<Versioned<CustomerProfile>?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        await CosmosQueries.ReadAsync<CustomerProfile>(await Container(cancellationToken), id, cancellationToken);

    public async Task<string?> TryCreateAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        try
        {
            var response = await container.CreateItemAsync(profile, new PartitionKey(profile.Id),
                new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);
            return response.ETag;
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            return null;
        }
    }

    public async Task<string?> TryReplaceAsync(CustomerProfile profile, string etag, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        try
        {
            var response = await container.ReplaceItemAsync(profile, profile.Id, new PartitionKey(profile.Id),
                new ItemRequestOptions { IfMatchEtag = etag, EnableContentResponseOnWrite = false }, cancellationToken);
            return response.ETag;
        }
        catch (CosmosException e) when (e.StatusCode is HttpStatusCode.PreconditionFailed || CosmosQueries.IsMissingItem(e))
        {
            return null;
        }
    }

    public async Task<Page<CustomerProfile>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        await CosmosQueries.PageAsync<CustomerProfile>(await Container(cancellationToken),
            new QueryDefinition("SELECT * FROM c WHERE NOT IS_DEFINED(c.mergedInto)"), pageSize, continuationToken, cancellationToken);

    public async Task<Page<CustomerProfile>> QueryAsync(CustomerListQuery query, int pageSize, string? continuationToken,
        CancellationToken cancellationToken = default) =>
        await CosmosQueries.PageAsync<CustomerProfile>(await Container(cancellationToken), CustomerListSql.Select(query), pageSize,
            continuationToken, cancellationToken);

    public async Task<long> CountAsync(CustomerListQuery query, CancellationToken cancellationToken = default)
    {
        // Across partition ranges Cosmos may answer one partial count per page: add them up.
        long count = 0;
        await foreach (var partial in CosmosQueries.StreamAsync<long>(await Container(cancellationToken), CustomerListSql.Count(query), 1, cancellationToken))
        {
            count += partial;
        }
        return count;
    }

    public async IAsyncEnumerable<CustomerProfile> ReadAllAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        await foreach (var profile in CosmosQueries.StreamAsync<CustomerProfile>(container,
            new QueryDefinition("SELECT * FROM c WHERE NOT IS_DEFINED(c.mergedInto)"), 500, cancellationToken))
        {
            yield return profile;
        }
    }
}
