using System.Text.Json;
using iCrm.Azure.Connections;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace iCrm.Azure.Store;

/// <summary>Audit entries in the <c>audit</c> container (partition key <c>/customerId</c>), each with a <c>ttl</c> from
/// <c>Audit__RetentionDays</c> so that Cosmos deletes it when the retention period ends.</summary>
public sealed class CosmosAuditLog(CosmosContainers containers, IOptions<AuditOptions> options) : IAuditLog
{
    private Task<Container> Container(CancellationToken ct) => containers.GetAsync(ResourceNames.AuditContainer, ct);

    private static readonly ItemRequestOptions NoContent = new() { EnableContentResponseOnWrite = false };

    public async Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken = default) =>
        await (await Container(cancellationToken)).UpsertItemAsync(Document(entry), new PartitionKey(entry.CustomerId), NoContent, cancellationToken);

    public async Task<bool> TryCreateAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        // The stream API answers 409 as a status rather than an exception: a retried drop meets many existing entries.
        using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(Document(entry), CosmosJsonSerializer.Options), writable: false);
        using var response = await (await Container(cancellationToken)).CreateItemStreamAsync(content, new PartitionKey(entry.CustomerId), NoContent,
            cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            return false;
        }
        response.EnsureSuccessStatusCode();
        return true;
    }

    private System.Text.Json.Nodes.JsonObject Document(AuditEntry entry)
    {
        // Stored in UTC so that range filters on the ISO text of "at" compare in time order.
        var document = JsonSerializer.SerializeToNode(entry with { At = entry.At.ToUniversalTime() }, CosmosJsonSerializer.Options)!.AsObject();
        if (options.Value.TimeToLiveSeconds is { } ttl)
        {
            document["ttl"] = ttl;
        }
        return document;
    }

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

    public async Task<Page<AuditEntry>> QueryAsync(AuditQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default)
    {
        var filters = new List<string>();
        var parameters = new List<(string Name, object Value)>();
        void Filter(string clause, string name, object? value)
        {
            if (value is not null)
            {
                filters.Add(clause);
                parameters.Add((name, value));
            }
        }
        Filter("c.customerId = @customerId", "@customerId", query.CustomerId);
        Filter("c.at >= @from", "@from", query.From?.ToUniversalTime());
        Filter("c.at < @to", "@to", query.To?.ToUniversalTime());
        Filter("c.action = @action", "@action", query.Action);
        var text = "SELECT * FROM c" + (filters.Count > 0 ? " WHERE " + string.Join(" AND ", filters) : "") + " ORDER BY c.at DESC";
        var definition = new QueryDefinition(text);
        foreach (var (name, value) in parameters)
        {
            definition = definition.WithParameter(name, value);
        }
        var container = await Container(cancellationToken);
        var requestOptions = new QueryRequestOptions
        {
            MaxItemCount = pageSize,
            // One customer's entries are one partition: no fan-out.
            PartitionKey = query.CustomerId is null ? null : new PartitionKey(query.CustomerId),
        };
        using var iterator = container.GetItemQueryIterator<AuditEntry>(definition, continuationToken, requestOptions);
        if (!iterator.HasMoreResults)
        {
            return new Page<AuditEntry>([], null);
        }
        var response = await iterator.ReadNextAsync(cancellationToken);
        return new Page<AuditEntry>([.. response], response.ContinuationToken);
    }
}
