using iCrm.Azure.Health;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace iCrm.Azure.Store;

/// <summary>
/// The Cosmos containers of database <c>icrm</c>. When configured to (local server only), creates them on first use and
/// again whenever the server may have restarted (a transport failure was seen) or answers that they are gone, so the app
/// heals without a restart.
/// </summary>
public sealed class CosmosContainers
{
    private readonly CosmosClient _client;
    private readonly CosmosStoreOptions _options;
    private readonly StoreState _state;
    private readonly Lock _gate = new();
    private Task? _creation;
    private int _creationGeneration;
    private bool _created;

    public CosmosContainers(CosmosClient client, IOptions<CosmosStoreOptions> options, StoreState? state = null)
    {
        _client = client;
        _options = options.Value;
        _state = state ?? new StoreState(TimeProvider.System);
        if (_options.CreateIfMissing)
        {
            _state.OnMissing(RecreateAsync);
        }
    }

    public Database Database => _client.GetDatabase(ResourceNames.CosmosDatabase);

    public StoreState State => _state;

    public async Task<Container> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        await EnsureCreatedAsync(cancellationToken);
        return _client.GetContainer(ResourceNames.CosmosDatabase, name);
    }

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        if (!_options.CreateIfMissing)
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            if (_creation is null || _creation.IsFaulted || _creation.IsCanceled || _creationGeneration != _state.Generation)
            {
                _creationGeneration = _state.Generation;
                _creation = CreateAsync();
            }
            return _creation.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Creates the database and containers again (they were reported missing); one creation at a time.</summary>
    public Task RecreateAsync(CancellationToken cancellationToken = default)
    {
        if (!_options.CreateIfMissing)
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            if (_creation is null || _creation.IsCompleted)
            {
                _creationGeneration = _state.Generation;
                _creation = CreateAsync();
            }
            return _creation.WaitAsync(cancellationToken);
        }
    }

    // Not tied to one caller's cancellation: the task is shared by every caller waiting for it.
    private async Task CreateAsync()
    {
        var response = await _client.CreateDatabaseIfNotExistsAsync(ResourceNames.CosmosDatabase);
        var createdAnew = response.StatusCode == System.Net.HttpStatusCode.Created;
        foreach (var (name, partitionKey) in ResourceNames.CosmosContainers)
        {
            var properties = new ContainerProperties(name, partitionKey)
            {
                // As in Bicep: time to live on, no default, so audit entries expire by their own ttl (Audit__RetentionDays).
                DefaultTimeToLive = name == ResourceNames.AuditContainer ? -1 : null,
            };
            if (name == ResourceNames.CustomersContainer)
            {
                properties.IndexingPolicy = CustomerIndexing.Policy();
            }
            var container = await response.Database.CreateContainerIfNotExistsAsync(properties);
            createdAnew |= container.StatusCode == System.Net.HttpStatusCode.Created;
        }
        var lostData = createdAnew && _created;
        _created = true;
        if (lostData)
        {
            // The server came back empty: whatever was written before is gone, so work in flight (a drop half applied,
            // a ledger entry) must start again rather than carry on as if its earlier writes were there. Callers waiting
            // now fail once (a drop is retried, an API call answers 503); the next call finds the store ready.
            throw new DependencyUnavailableException("customer store came back empty and was created again: the operation must start over");
        }
    }
}
