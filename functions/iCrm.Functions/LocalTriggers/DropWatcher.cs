using System.Text.Json;
using Azure.Storage.Blobs;
using iCrm.Azure;
using iCrm.Azure.Storage;
using iCrm.Functions.Invocation;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.LocalTriggers;

/// <summary>
/// Locally stands in for Event Grid: lists <c>drops</c> and sends a BlobCreated event (Event Grid schema, plain JSON)
/// to <c>ingest-events</c> for every blob version it has not announced yet. A drop already ingested is skipped by the
/// pipeline (same drop id), so announcing blobs again after a restart is harmless.
/// </summary>
public sealed class DropWatcher(BlobServiceClient blobs, IngestQueue queue, IOptions<LocalTriggerOptions> options, ILogger<DropWatcher> log)
    : BackgroundService
{
    private readonly HashSet<string> _announced = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var container = blobs.GetBlobContainerClient(ResourceNames.DropsContainer);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await container.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                await queue.EnsureCreatedAsync(stoppingToken);
                await foreach (var blob in container.GetBlobsAsync(cancellationToken: stoppingToken))
                {
                    var version = $"{blob.Name}|{blob.Properties.ETag}";
                    if (_announced.Contains(version))
                    {
                        continue;
                    }
                    await queue.SendAsync(CreateEvent(container.GetBlobClient(blob.Name).Uri, blob.Name, blob.Properties.ContentLength ?? 0), stoppingToken);
                    _announced.Add(version);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LocalTriggerFailed(log, nameof(DropWatcher), e.GetType().Name, e.Message);
            }
            await Task.Delay(options.Value.DropPollInterval, stoppingToken);
        }
    }

    public static string CreateEvent(Uri blobUri, string blobName, long length) => JsonSerializer.Serialize(new
    {
        id = Guid.NewGuid().ToString(),
        topic = "/local/azurite",
        subject = $"/blobServices/default/containers/{ResourceNames.DropsContainer}/blobs/{blobName}",
        eventType = BlobCreatedEvents.EventType,
        eventTime = DateTimeOffset.UtcNow,
        dataVersion = "",
        metadataVersion = "1",
        data = new { api = "PutBlob", contentLength = length, blobType = "BlockBlob", url = blobUri.ToString() },
    });
}
