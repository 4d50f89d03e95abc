using iCrm.Azure.Connections;
using iCrm.Azure.Health;
using iCrm.Azure.Store;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

// Tests share one Azurite and one Cosmos server: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace iCrm.IntegrationTests;

/// <summary>
/// Connection settings of the local stack (infra/local/start.sh). Defaults are the standard local ports; the
/// environment variables <c>IcrmStorage</c> and <c>IcrmCosmos</c> override them, as they do for the app.
/// </summary>
public static class LocalStack
{
    public const string PiiKey = "integration-test-pii-key-0123456789";

    public static string Storage => iCrm.Testing.LocalStackSettings.Storage;

    public static string Cosmos => iCrm.Testing.LocalStackSettings.Cosmos;

    public static IConfiguration Configuration { get; } = new ConfigurationBuilder().AddInMemoryCollection(Settings()).Build();

    public static Dictionary<string, string?> Settings() => new()
    {
        ["IcrmStorage"] = Storage,
        ["IcrmCosmos"] = Cosmos,
        ["IcrmCosmos:createIfMissing"] = "true",
        ["Security:PiiKey"] = PiiKey,
    };

    /// <summary>The clients as the app builds them (Microsoft.Extensions.Azure, the same settings).</summary>
    private static readonly Lazy<ServiceProvider> Clients = new(() => AzureClientsFor(Configuration));

    public static ServiceProvider AzureClientsFor(IConfiguration configuration, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(configuration);
        services.AddIcrmAzureClients();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    public static BlobServiceClient Blobs() => Clients.Value.GetRequiredService<BlobServiceClient>();

    public static QueueServiceClient Queues() => Clients.Value.GetRequiredService<QueueServiceClient>();

    public static CosmosContainers CosmosContainers() =>
        new(Clients.Value.GetRequiredService<CosmosClient>(), Options.Create(new CosmosStoreOptions { CreateIfMissing = true }),
            Clients.Value.GetRequiredService<StoreState>());

    /// <summary>A run-unique suffix so tests sharing the stack never see each other's data.</summary>
    public static string Unique() => Guid.NewGuid().ToString("N")[..10];
}
