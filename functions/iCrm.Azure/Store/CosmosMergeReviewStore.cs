using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

/// <summary>Review candidates in the <c>reviews</c> container (partition key <c>/id</c>: each review is its own document).</summary>
public sealed class CosmosMergeReviewStore(CosmosContainers containers) : IMergeReviewStore
{
    private Task<Container> Container(CancellationToken ct) => containers.GetAsync(ResourceNames.ReviewsContainer, ct);

    public async Task UpsertAsync(MergeReview review, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(review);
        await (await Container(cancellationToken)).UpsertItemAsync(review, new PartitionKey(review.Id),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);
    }

    public async Task<Page<MergeReview>> ListAsync(string status, int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        await CosmosQueries.PageAsync<MergeReview>(await Container(cancellationToken),
            new QueryDefinition("SELECT * FROM c WHERE c.status = @status ORDER BY c.at DESC").WithParameter("@status", status),
            pageSize, continuationToken, cancellationToken);
}
