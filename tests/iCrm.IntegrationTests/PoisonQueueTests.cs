using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Azure;
using iCrm.Azure.Storage;
using iCrm.Core.Drops;
using iCrm.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.IntegrationTests;

public sealed class PoisonQueueTests : IDisposable
{
    private readonly LocalAppFactory _app = new() { ConfigureServices = services => services.AddSingleton<IDropSource>(sp => new UnreadableDrops(new BlobDropSource(sp.GetRequiredService<global::Azure.Storage.Blobs.BlobServiceClient>()))) };

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_drop_that_fails_every_time_is_retried_then_poisoned_and_the_ledger_says_why()
    {
        // The blob extension's poison queue, which the local drop watcher writes to as the extension does in Azure.
        var poison = LocalStack.Queues().GetQueueClient(iCrm.Functions.Ingest.PoisonQueue);
        await poison.CreateIfNotExistsAsync();
        await poison.ClearMessagesAsync();
        var client = _app.CreateClient();
        var name = $"web/orders/{LocalStack.Unique()}-{UnreadableDrops.Marker}.csv";
        var drops = LocalStack.Blobs().GetBlobContainerClient(ResourceNames.DropsContainer);
        await drops.CreateIfNotExistsAsync();
        // The blob exists, but streaming it fails on every attempt (an injected I/O fault: a corrupt archive is not retried,
        // it fails the drop at once with its reason).
        var uploaded = await drops.GetBlobClient(name).UploadAsync(BinaryData.FromString("order_id,customer_id,order_date,amount\n1,2,2025-01-01,3\n"));
        var dropId = DropId.Compute(ResourceNames.DropsContainer, name, uploaded.Value.ETag.ToString());

        var deadline = DateTime.UtcNow.AddSeconds(120);
        JsonNode? report = null;
        while (DateTime.UtcNow < deadline)
        {
            // Read by id: a list page may not reach this drop when the local store holds many earlier reports.
            var response = await client.GetAsync($"/api/ingestions/{dropId}");
            report = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
            if (report?["attempts"]?.GetValue<int>() >= 5 && report["status"]!.GetValue<string>() == "failed")
            {
                break;
            }
            await Task.Delay(500);
        }

        Assert.NotNull(report);
        Assert.Equal($"drops/{name}", report["blobPath"]!.GetValue<string>());
        Assert.Equal("failed", report["status"]!.GetValue<string>());
        Assert.Equal(5, report["attempts"]!.GetValue<int>());
        Assert.Contains("IOException", report["error"]!.GetValue<string>());
        var poisoned = await Eventually(async () =>
        {
            var messages = (await poison.PeekMessagesAsync(32)).Value;
            return messages.Any(m => m.Body.ToString().Contains(name, StringComparison.Ordinal)
                && m.Body.ToString().Contains("Host.Functions.Ingest", StringComparison.Ordinal));
        });
        Assert.True(poisoned, "the blob should be in webjobs-blobtrigger-poison");
    }

    private static async Task<bool> Eventually(Func<Task<bool>> probe)
    {
        for (var i = 0; i < 60; i++)
        {
            if (await probe())
            {
                return true;
            }
            await Task.Delay(500);
        }
        return false;
    }

    /// <summary>The real blob drop source, except that a blob whose name carries <see cref="Marker"/> cannot be streamed.</summary>
    private sealed class UnreadableDrops(IDropSource inner) : IDropSource
    {
        public const string Marker = "unreadable";

        public Task<DropBlob?> GetAsync(string path, CancellationToken cancellationToken = default) => inner.GetAsync(path, cancellationToken);

        public Task<Stream> OpenReadAsync(DropBlob blob, CancellationToken cancellationToken = default) =>
            blob.Path.Contains(Marker, StringComparison.Ordinal)
                ? throw new IOException("injected: the blob could not be streamed")
                : inner.OpenReadAsync(blob, cancellationToken);
    }
}
