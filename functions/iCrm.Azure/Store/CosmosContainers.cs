using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace iCrm.Azure.Store;

/// <summary>The Cosmos containers of database <c>icrm</c>; creates them on first use when configured to (local only).</summary>
public sealed class CosmosContainers(CosmosClient client, IOptions<CosmosStoreOptions> options)
{
    private readonly Lazy<Task> _ensureCreated = new(() => CreateAsync(client, options.Value));

    public Database Database => client.GetDatabase(ResourceNames.CosmosDatabase);

    public async Task<Container> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        await _ensureCreated.Value.WaitAsync(cancellationToken);
        return client.GetContainer(ResourceNames.CosmosDatabase, name);
    }

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _ensureCreated.Value.WaitAsync(cancellationToken);

    private static async Task CreateAsync(CosmosClient client, CosmosStoreOptions options)
    {
        if (!options.CreateIfMissing)
        {
            return;
        }
        var database = (await client.CreateDatabaseIfNotExistsAsync(ResourceNames.CosmosDatabase)).Database;
        foreach (var (name, partitionKey) in ResourceNames.CosmosContainers)
        {
            await database.CreateContainerIfNotExistsAsync(new ContainerProperties(name, partitionKey));
        }
    }
}
