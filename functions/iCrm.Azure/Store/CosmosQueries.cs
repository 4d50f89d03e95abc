using System.Runtime.CompilerServices;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

internal static class CosmosQueries
{
    public static async Task<Page<T>> PageAsync<T>(Container container, QueryDefinition query, int pageSize, string? continuationToken,
        CancellationToken cancellationToken)
    {
        using var iterator = container.GetItemQueryIterator<T>(query, continuationToken, new QueryRequestOptions { MaxItemCount = pageSize });
        if (!iterator.HasMoreResults)
        {
            return new Page<T>([], null);
        }
        var response = await iterator.ReadNextAsync(cancellationToken);
        return new Page<T>(response.ToList(), response.ContinuationToken);
    }

    public static async IAsyncEnumerable<T> StreamAsync<T>(Container container, QueryDefinition query, int pageSize,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var iterator = container.GetItemQueryIterator<T>(query, requestOptions: new QueryRequestOptions { MaxItemCount = pageSize });
        while (iterator.HasMoreResults)
        {
            foreach (var item in await iterator.ReadNextAsync(cancellationToken))
            {
                yield return item;
            }
        }
    }

    public static async Task<Versioned<T>?> ReadAsync<T>(Container container, string id, CancellationToken cancellationToken)
    {
        try
        {
            var response = await container.ReadItemAsync<T>(id, new PartitionKey(id), cancellationToken: cancellationToken);
            return new Versioned<T>(response.Resource, response.ETag);
        }
        catch (CosmosException e) when (IsMissingItem(e))
        {
            return null;
        }
    }

    /// <summary>A 404 for the item itself; a 404 with sub-status 1003 means its container or database is gone, which is an
    /// outage of the store (health and the API answer 503), not a customer who does not exist.</summary>
    public static bool IsMissingItem(CosmosException e) =>
        e.StatusCode == System.Net.HttpStatusCode.NotFound && e.SubStatusCode != 1003;
}
