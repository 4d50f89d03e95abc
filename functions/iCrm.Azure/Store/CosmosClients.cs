using System.Net;
using Azure.Core;
using iCrm.Azure.Connections;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

/// <summary>Builds the Cosmos client (not an Azure.Core client, so Microsoft.Extensions.Azure cannot) from <see cref="CosmosStoreOptions"/>.</summary>
public static class CosmosClients
{
    public static CosmosClient Create(CosmosStoreOptions settings, Func<TokenCredential> credential, IEnumerable<RequestHandler> handlers)
    {
        var options = new CosmosClientOptions
        {
            UseSystemTextJsonSerializerWithOptions = null,
            Serializer = new CosmosJsonSerializer(),
            AllowBulkExecution = settings.AllowBulk,
            // The SDK's own 429 retries (honouring retry-after) run inside iCrm's TransientRetryHandler.
            MaxRetryAttemptsOnRateLimitedRequests = 9,
            MaxRetryWaitTimeOnRateLimitedRequests = TimeSpan.FromSeconds(30),
            RequestTimeout = settings.RequestTimeout,
        };
        // Handlers run in list order, outermost first: iCrm's retries wrap whatever the caller adds.
        foreach (var handler in handlers)
        {
            options.CustomHandlers.Add(handler);
        }
        if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            if (ParseEndpoint(settings.ConnectionString) is { } endpoint && IsLoopback(endpoint))
            {
                // The local Cosmos-protocol server speaks only the gateway protocol, with a self-signed certificate.
                options.ConnectionMode = ConnectionMode.Gateway;
                options.LimitToEndpoint = true;
                options.HttpClientFactory = () => new HttpClient(new SocketsHttpHandler
                {
                    SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    // A restarted server must be reachable again quickly: do not wait out the OS's connect timeout.
                    ConnectTimeout = TimeSpan.FromSeconds(5),
                    MaxConnectionsPerServer = 64,
                });
            }
            return new CosmosClient(settings.ConnectionString, options);
        }
        return new CosmosClient(settings.AccountEndpoint, credential(), options);
    }

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
