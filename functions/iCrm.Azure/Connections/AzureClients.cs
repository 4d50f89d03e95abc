using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using iCrm.Azure.Health;
using iCrm.Azure.Store;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace iCrm.Azure.Connections;

/// <summary>
/// The Azure clients, built by Microsoft.Extensions.Azure from the same connection settings the Functions host reads:
/// a connection string as the value of <c>IcrmStorage</c> / <c>IcrmCosmos</c> locally, identity-based settings
/// (<c>__blobServiceUri</c>, <c>__queueServiceUri</c>, <c>__accountEndpoint</c>, <c>__credential</c>, <c>__clientId</c>)
/// in Azure, where one managed-identity credential serves every client.
/// </summary>
public static class AzureClients
{
    public static IServiceCollection AddIcrmAzureClients(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section)
            .PostConfigure<IConfiguration>((o, config) => o.ConnectionString = Value(config, StorageOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>>(new OptionsProblems<StorageOptions>(o => o.Problems()));
        services.AddOptions<CosmosStoreOptions>().BindConfiguration(CosmosStoreOptions.Section)
            .PostConfigure<IConfiguration>((o, config) => o.ConnectionString = Value(config, CosmosStoreOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CosmosStoreOptions>>(new OptionsProblems<CosmosStoreOptions>(o => o.Problems()));

        services.TryAddSingleton<IcrmCredentials>();
        services.AddAzureClients(clients =>
        {
            clients.UseCredential(sp => sp.GetRequiredService<IcrmCredentials>().For(StorageOptions.Section));
            // Azure.Core retries connection failures, 408, 429, 500, 502, 503 and 504 with exponential backoff.
            clients.ConfigureDefaults(o =>
            {
                o.Retry.Mode = RetryMode.Exponential;
                o.Retry.MaxRetries = 5;
                o.Retry.Delay = TimeSpan.FromMilliseconds(400);
                o.Retry.MaxDelay = TimeSpan.FromSeconds(15);
            });
            clients.AddClient<BlobServiceClient, BlobClientOptions>((options, credential, sp) =>
                sp.GetRequiredService<IOptions<StorageOptions>>().Value is { ConnectionString: { Length: > 0 } connection }
                    ? new BlobServiceClient(connection, options)
                    : new BlobServiceClient(sp.GetRequiredService<IOptions<StorageOptions>>().Value.BlobServiceUri, credential, options));
            clients.AddClient<QueueServiceClient, QueueClientOptions>((options, credential, sp) =>
                sp.GetRequiredService<IOptions<StorageOptions>>().Value is { ConnectionString: { Length: > 0 } connection }
                    ? new QueueServiceClient(connection, options)
                    : new QueueServiceClient(sp.GetRequiredService<IOptions<StorageOptions>>().Value.QueueServiceUri, credential, options))
                // Event Grid writes plain JSON to the queue; the host's queue extension reads it with messageEncoding none.
                .ConfigureOptions(o => o.MessageEncoding = QueueMessageEncoding.None);
        });

        services.TryAddSingleton<StoreState>();
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CosmosStoreOptions>>().Value;
            var handlers = new List<RequestHandler>
            {
                new TransientRetryHandler(options, sp.GetRequiredService<StoreState>(), sp.GetRequiredService<TimeProvider>()),
            };
            handlers.AddRange(sp.GetServices<CosmosHandlerFactory>().Select(f => f.Create()));
            return CosmosClients.Create(options, () => sp.GetRequiredService<IcrmCredentials>().For(CosmosStoreOptions.Section), handlers);
        });
        return services;
    }

    /// <summary>The value of the section itself (<c>IcrmStorage=UseDevelopmentStorage=true</c>), which binding skips.</summary>
    private static string? Value(IConfiguration config, string section) =>
        config.GetSection(section).Value is { Length: > 0 } value ? value : null;
}

/// <summary>Adds a handler to the Cosmos client's pipeline, inside iCrm's retries (request counting, fault injection).</summary>
public sealed record CosmosHandlerFactory(Func<RequestHandler> Create);

/// <summary>
/// One credential per identity: every section that names the same <c>__credential</c> and <c>__clientId</c> (in Azure,
/// storage, Cosmos DB and Language all use the app's user-assigned identity) shares a single token cache.
/// </summary>
public sealed class IcrmCredentials(AzureComponentFactory factory, IConfiguration config)
{
    private readonly ConcurrentDictionary<(string Kind, string ClientId), TokenCredential> _byIdentity = new();

    public TokenCredential For(string section)
    {
        var settings = config.GetSection(section);
        var kind = settings["credential"]?.Trim().ToLowerInvariant() ?? "";
        var clientId = settings["clientId"]?.Trim() ?? "";
        return _byIdentity.GetOrAdd((kind, clientId), key => key.Kind.Length == 0
            // Without a credential setting: DefaultAzureCredential (a developer's sign-in against real Azure resources).
            ? new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = key.ClientId.Length > 0 ? key.ClientId : null })
            : factory.CreateTokenCredential(settings));
    }
}

/// <summary>Start-up validation that lists every problem of an options class, not just the first.</summary>
public sealed class OptionsProblems<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options) =>
        problems(options).ToList() is { Count: > 0 } found ? ValidateOptionsResult.Fail(found) : ValidateOptionsResult.Success;
}
