using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

public sealed class CosmosAuditLog(CosmosContainers containers) : IAuditLog
{
    private Task<Container> Container(CancellationToken ct) => containers.GetAsync(ResourceNames.AuditContainer, ct);

    public async Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken = default) =>
        await (await Container(cancellationToken)).UpsertItemAsync(entry, new PartitionKey(entry.CustomerId),
            new ItemRequestOptions { EnableContentResponseOnWrite = false }, cancellationToken);

    public async Task<IReadOnlyList<AuditEntry>> ListAsync(string customerId, CancellationToken cancellationToken = default)
    {
        var container = await Container(cancellationToken);
        var query = new QueryDefinition("SELECT * FROM c WHERE c.customerId = @id ORDER BY c.at").WithParameter("@id", customerId);
        var entries = new List<AuditEntry>();
        using var iterator = container.GetItemQueryIterator<AuditEntry>(query,
            requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(customerId) });
        while (iterator.HasMoreResults)
        {
            entries.AddRange(await iterator.ReadNextAsync(cancellationToken));
        }
        return entries;
    }
}
