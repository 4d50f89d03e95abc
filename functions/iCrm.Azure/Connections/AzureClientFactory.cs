using System.Net;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;

namespace iCrm.Azure.Connections;

/// <summary>
/// Builds the Azure clients from the connection settings the Functions host also reads:
/// a connection string under the prefix itself (local), or identity-based <c>{prefix}__serviceUri</c>-style keys (Azure).
/// </summary>
public static class AzureClientFactory
{
    public static BlobServiceClient CreateBlobServiceClient(IConfiguration config)
    {
        var prefix = SettingNames.StoragePrefix;
        var connectionString = config[prefix];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new BlobServiceClient(connectionString);
        }
        var uri = Required(config, $"{prefix}:blobServiceUri", $"{prefix}__blobServiceUri");
        return new BlobServiceClient(new Uri(uri), CreateCredential(config, prefix));
    }

    public static QueueServiceClient CreateQueueServiceClient(IConfiguration config)
    {
        var prefix = SettingNames.StoragePrefix;
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        var connectionString = config[prefix];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new QueueServiceClient(connectionString, options);
        }
        var uri = Required(config, $"{prefix}:queueServiceUri", $"{prefix}__queueServiceUri");
        return new QueueServiceClient(new Uri(uri), CreateCredential(config, prefix), options);
    }

    public static CosmosClient CreateCosmosClient(IConfiguration config, bool allowBulk, params RequestHandler[] handlers)
    {
        var prefix = SettingNames.CosmosPrefix;
        var options = new CosmosClientOptions
        {
            UseSystemTextJsonSerializerWithOptions = null,
            Serializer = new CosmosJsonSerializer(),
            AllowBulkExecution = allowBulk,
            MaxRetryAttemptsOnRateLimitedRequests = 9,
            MaxRetryWaitTimeOnRateLimitedRequests = TimeSpan.FromSeconds(30),
        };
        foreach (var handler in handlers)
        {
            options.CustomHandlers.Add(handler);
        }
        var connectionString = config[prefix];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            var endpoint = ParseEndpoint(connectionString);
            if (endpoint is not null && IsLoopback(endpoint))
            {
                // The local Cosmos-protocol server speaks only the gateway protocol, with a self-signed certificate.
                options.ConnectionMode = ConnectionMode.Gateway;
                options.LimitToEndpoint = true;
                options.HttpClientFactory = () => new HttpClient(new SocketsHttpHandler
                {
                    SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    MaxConnectionsPerServer = 64,
                });
            }
            return new CosmosClient(connectionString, options);
        }
        var accountEndpoint = Required(config, $"{prefix}:accountEndpoint", $"{prefix}__accountEndpoint");
        return new CosmosClient(accountEndpoint, CreateCredential(config, prefix), options);
    }

    /// <summary>ManagedIdentityCredential when <c>{prefix}__credential=managedidentity</c>, else DefaultAzureCredential.</summary>
    public static TokenCredential CreateCredential(IConfiguration config, string prefix)
    {
        var kind = config[$"{prefix}:credential"];
        var clientId = config[$"{prefix}:clientId"];
        if (string.Equals(kind, "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return string.IsNullOrWhiteSpace(clientId)
                ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
        }
        return new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = string.IsNullOrWhiteSpace(clientId) ? null : clientId,
        });
    }

    private static string Required(IConfiguration config, string key, string settingName) =>
        config[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"Setting '{settingName}' (or a connection string in '{settingName.Split("__")[0]}') is required but missing.");

    private static Uri? ParseEndpoint(string connectionString)
    {
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq > 0 && part[..eq].Trim().Equals("AccountEndpoint", StringComparison.OrdinalIgnoreCase))
            {
                return Uri.TryCreate(part[(eq + 1)..].Trim(), UriKind.Absolute, out var uri) ? uri : null;
            }
        }
        return null;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip));
}
