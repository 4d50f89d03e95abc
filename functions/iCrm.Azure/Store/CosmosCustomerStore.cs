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

    /// <summary>One id range by a range filter on the partition key: the query fans out to every physical partition,
    /// each answering from its id index (the local server has no feed ranges to split by instead).</summary>
    public async IAsyncEnumerable<Versioned<CustomerProfile>> ReadSliceAsync(CustomerSlice slice,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        var sql = "SELECT c AS profile, c._etag AS etag FROM c WHERE NOT IS_DEFINED(c.mergedInto)"
            + (slice.From is null ? "" : " AND c.id >= @from") + (slice.To is null ? "" : " AND c.id < @to");
        var query = new QueryDefinition(sql);
        if (slice.From is { } from)
        {
            query = query.WithParameter("@from", from);
        }
        if (slice.To is { } to)
        {
            query = query.WithParameter("@to", to);
        }
        await foreach (var row in CosmosQueries.StreamAsync<SliceRow>(container, query, 500, cancellationToken))
        {
            yield return new Versioned<CustomerProfile>(row.Profile, row.ETag);
        }
    }

    /// <summary>A patch of <c>/predictions</c> (and <c>/feedback</c>) at the profile's ETag: about the RU cost of a small
    /// write instead of rewriting a profile of many kilobytes.</summary>
    public async Task<string?> TryWritePredictionsAsync(string id, string etag, IReadOnlyDictionary<string, Prediction> predictions,
        IReadOnlyList<FeedbackItem>? feedback, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        var operations = new List<PatchOperation> { PatchOperation.Set("/predictions", predictions) };
        if (feedback is not null)
        {
            operations.Add(PatchOperation.Set("/feedback", feedback));
        }
        try
        {
            var response = await container.PatchItemAsync<CustomerProfile>(id, new PartitionKey(id), operations,
                new PatchItemRequestOptions { IfMatchEtag = etag, EnableContentResponseOnWrite = false }, cancellationToken);
            return response.ETag;
        }
        catch (CosmosException e) when (e.StatusCode is HttpStatusCode.PreconditionFailed || CosmosQueries.IsMissingItem(e))
        {
            return null;
        }
    }

    private sealed record SliceRow(CustomerProfile Profile, [property: System.Text.Json.Serialization.JsonPropertyName("etag")] string ETag);
}
