using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using iCrm.Azure;
using iCrm.Azure.Connections;
using iCrm.Core.Ingestion;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace iCrm.IntegrationTests;

/// <summary>
/// The local Cosmos server is killed and started again (empty, as it keeps data in memory) in the middle of a drop,
/// while the same app keeps running: the drop fails once or completes, is retried as the queue would, and the profiles
/// end up equal to a clean run's — without restarting the app.
/// </summary>
public sealed class StoreRestartTests
{
    private const int Customers = 400;

    [Fact]
    public async Task A_store_restarted_empty_mid_drop_heals_without_an_app_restart_and_ends_equal_to_a_clean_run()
    {
        var source = "r" + LocalStack.Unique();
        var paths = await UploadDropsAsync(source);

        Dictionary<string, string> healed;
        var port = FreePort();
        using (var server = CosmosServer.Start(port))
        {
            var writes = new WriteTrigger(threshold: Customers / 2);
            using var host = Host(port, writes);
            var pipeline = host.Services.GetRequiredService<IngestionPipeline>();
            var customersDrop = Task.Run(() => IngestWithRetriesAsync(pipeline, paths[0]));

            await Task.WhenAny(writes.Reached, customersDrop).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.False(customersDrop.IsCompleted, $"the drop ended before the server was restarted, after {writes.Count} profile writes: {customersDrop.Exception}" +
                System.Text.Json.JsonSerializer.Serialize((await host.Services.GetRequiredService<IIngestionLedger>().ListAsync(10, null)).Items));
            server.Kill();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            server.Restart();

            await customersDrop;
            await IngestWithRetriesAsync(pipeline, paths[1]);
            var state = host.Services.GetRequiredService<iCrm.Azure.Health.StoreState>();
            Assert.True(state.Generation > 0, "the app saw the server go away");
            Assert.Null(state.Failure.Reason); // and come back
            healed = await SnapshotAsync(host.Services);
        }

        Dictionary<string, string> clean;
        var cleanPort = FreePort();
        using (CosmosServer.Start(cleanPort))
        {
            using var host = Host(cleanPort, writes: null);
            var pipeline = host.Services.GetRequiredService<IngestionPipeline>();
            Assert.Equal(1, await IngestWithRetriesAsync(pipeline, paths[0]));
            Assert.Equal(1, await IngestWithRetriesAsync(pipeline, paths[1]));
            clean = await SnapshotAsync(host.Services);
        }

        Assert.Equal(Customers, clean.Count);
        Assert.Equal(clean.Keys.Order(), healed.Keys.Order());
        foreach (var (id, profile) in clean)
        {
            Assert.Equal(profile, healed[id]);
        }
    }

    /// <summary>As the queue trigger does: a failed drop is tried again (here at once), at most five times.</summary>
    private static async Task<int> IngestWithRetriesAsync(IngestionPipeline pipeline, string path)
    {
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            try
            {
                if ((await pipeline.IngestAsync(path)).Status == IngestionStatus.Completed)
                {
                    return attempt;
                }
            }
            catch (Exception) when (attempt < 5)
            {
                // retried, as the host retries a failed invocation
            }
        }
        throw new InvalidOperationException($"{path} did not complete in 5 attempts");
    }

    private static async Task<Dictionary<string, string>> SnapshotAsync(IServiceProvider services)
    {
        var profiles = new Dictionary<string, string>();
        await foreach (var p in services.GetRequiredService<ICustomerStore>().ReadAllAsync())
        {
            profiles[p.Id] = string.Join('|',
                string.Join(',', p.Identities.Select(i => $"{i.Source}:{i.SourceId}").Order()),
                p.Contact.Email, p.Contact.FirstName, p.Contact.City,
                p.Orders.Count, p.Orders.Sum(o => o.Amount));
        }
        return profiles;
    }

    private static async Task<string[]> UploadDropsAsync(string source)
    {
        var customers = new StringBuilder("customer_id,first_name,last_name,email,city\n");
        var orders = new StringBuilder("order_id,line,customer_id,order_date,product_id,quantity,unit_price,channel,returned\n");
        for (var i = 0; i < Customers; i++)
        {
            // Names far apart (random letters): people who share nothing must not look like namesakes to the matcher.
            customers.Append(FormattableString.Invariant($"C{i},{Letters(i, 0)},{Letters(i, 8)},{Letters(i, 16).ToLowerInvariant()}@example.com,City{i % 7}\n"));
            orders.Append(FormattableString.Invariant($"O{i},1,C{i},2025-0{1 + (i % 9)}-1{i % 10},P{i % 13},{1 + (i % 3)},{10 + (i % 17)}.50,web,false\n"));
        }
        var drops = LocalStack.Blobs().GetBlobContainerClient(ResourceNames.DropsContainer);
        await drops.CreateIfNotExistsAsync();
        var paths = new[] { $"{source}/customers/c.csv", $"{source}/orders/o.csv" };
        await drops.GetBlobClient(paths[0]).UploadAsync(BinaryData.FromString(customers.ToString()), overwrite: true);
        await drops.GetBlobClient(paths[1]).UploadAsync(BinaryData.FromString(orders.ToString()), overwrite: true);
        return paths;
    }

    private static string Letters(int seed, int offset)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(seed));
        var letters = new char[8];
        for (var k = 0; k < letters.Length; k++)
        {
            letters[k] = (char)((k == 0 ? 'A' : 'a') + hash[offset + k] % 26);
        }
        return new string(letters);
    }

    private static IHost Host(int cosmosPort, WriteTrigger? writes)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(LocalStack.Settings())
        {
            ["IcrmCosmos"] = $"AccountEndpoint=https://127.0.0.1:{cosmosPort}/;AccountKey=bG9jYWw=;",
            ["IcrmCosmos:maxRetries"] = "10",
            ["IcrmCosmos:retryBaseDelay"] = "00:00:00.1",
            ["Ingestion:ChunkSize"] = "20",
            ["Ingestion:WriteConcurrency"] = "4",
        });
        builder.AddIcrmServices();
        if (writes is not null)
        {
            builder.Services.AddSingleton(new CosmosHandlerFactory(() => writes));
        }
        return builder.Build();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Signals once the store has taken this many item writes (the drop is under way).</summary>
    private sealed class WriteTrigger(int threshold) : RequestHandler
    {
        private int _writes;
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reached => _reached.Task;

        public int Count => _writes;

        public override Task<ResponseMessage> SendAsync(RequestMessage request, CancellationToken cancellationToken)
        {
            if ((request.Method == HttpMethod.Post || request.Method == HttpMethod.Put)
                && request.RequestUri?.OriginalString.Contains("colls/customers", StringComparison.Ordinal) == true
                && Interlocked.Increment(ref _writes) == threshold)
            {
                _reached.TrySetResult();
            }
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A Cosmos-protocol server of this test's own (infra/local/cosmos-server.mjs) on a port of its own.</summary>
    private sealed class CosmosServer : IDisposable
    {
        private readonly int _port;
        private Process _process;

        private CosmosServer(int port)
        {
            _port = port;
            _process = Launch(port);
        }

        public static CosmosServer Start(int port) => new(port);

        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            _process.Dispose();
        }

        public void Restart() => _process = Launch(_port);

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    Kill();
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
        }

        private static Process Launch(int port)
        {
            var script = Script();
            var process = Process.Start(new ProcessStartInfo("node", [script, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                WorkingDirectory = Path.GetDirectoryName(script)!,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    using var probe = new TcpClient();
                    probe.Connect(IPAddress.Loopback, port);
                    return process;
                }
                catch (SocketException)
                {
                    Thread.Sleep(100);
                }
            }
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"the Cosmos server did not listen on {port}: {process.StandardError.ReadToEnd()}");
        }

        private static string Script()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "infra", "local", "cosmos-server.mjs");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
            throw new InvalidOperationException("infra/local/cosmos-server.mjs not found above the test's directory");
        }
    }
}
