using iCrm.Core.Ingestion;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

public sealed class CosmosIngestionLedger(CosmosContainers containers) : IIngestionLedger
{
    private Task<Container> Container(CancellationToken ct) => containers.GetAsync(ResourceNames.IngestionsContainer, ct);

    public async Task<Versioned<IngestionReport>?> GetAsync(string dropId, CancellationToken cancellationToken = default) =>
        await CosmosQueries.ReadAsync<IngestionReport>(await Container(cancellationToken), dropId, cancellationToken);

    public async Task UpsertAsync(IngestionReport report, CancellationToken cancellationToken = default) =>
        await (await Container(cancellationToken)).UpsertItemAsync(report, new PartitionKey(report.Id),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);

    public async Task<Page<IngestionReport>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        await CosmosQueries.PageAsync<IngestionReport>(await Container(cancellationToken),
            new QueryDefinition("SELECT * FROM c ORDER BY c.startedAt DESC"), pageSize, continuationToken, cancellationToken);
}
