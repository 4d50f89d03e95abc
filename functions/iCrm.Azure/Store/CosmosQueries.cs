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

    /// <summary>A point read; null when the item does not exist. Read as a stream so that an absent item (most of a new
    /// customer's profile and key reads) is a status code, not a thrown and caught CosmosException: about 0.1 ms of CPU
    /// less per absent item (measured, docs/ingest-throughput.md). Other failures still throw CosmosException.</summary>
    public static async Task<Versioned<T>?> ReadAsync<T>(Container container, string id, CancellationToken cancellationToken)
    {
        using var response = await container.ReadItemStreamAsync(id, new PartitionKey(id), cancellationToken: cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound && response.Headers["x-ms-substatus"] != TransientRetryHandler.OwnerMissing)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        var value = await System.Text.Json.JsonSerializer.DeserializeAsync<T>(response.Content, Connections.CosmosJsonSerializer.Options, cancellationToken)
            ?? throw new InvalidDataException($"Item '{id}' of container '{container.Id}' has an empty body.");
        return new Versioned<T>(value, response.Headers.ETag);
    }

    /// <summary>A 404 for the item itself; a 404 with sub-status 1003 means its container or database is gone, which is an
    /// outage of the store (health and the API answer 503), not a customer who does not exist.</summary>
    public static bool IsMissingItem(CosmosException e) =>
        e.StatusCode == System.Net.HttpStatusCode.NotFound && e.SubStatusCode != 1003;
}
