using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using iCrm.Azure;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.LocalTriggers;

/// <summary>
/// Locally plays Event Grid and the blob extension: lists <c>drops</c> and calls <see cref="Ingest"/> with a
/// <see cref="BlobClient"/> for every blob version it has not delivered yet, as a BlobCreated event would. A failed
/// invocation is retried after <see cref="LocalTriggerOptions.RetryDelay"/>; after
/// <see cref="LocalTriggerOptions.MaxAttempts"/> attempts the blob goes to <see cref="Ingest.PoisonQueue"/> with the
/// message the blob extension writes. A drop already ingested is skipped by the pipeline (same drop id), so delivering
/// blobs again after a restart is harmless, as a redelivered event is in Azure.
/// </summary>
public sealed class DropWatcher(BlobServiceClient blobs, QueueServiceClient queues, IServiceProvider services, IOptions<LocalTriggerOptions> options,
    TimeProvider time, ILogger<DropWatcher> log) : BackgroundService
{
    private sealed record Retry(int Attempts, DateTimeOffset Due);

    private readonly HashSet<string> _delivered = [];
    private readonly Dictionary<string, Retry> _retries = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var container = blobs.GetBlobContainerClient(ResourceNames.DropsContainer);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await container.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                await foreach (var blob in container.GetBlobsAsync(cancellationToken: stoppingToken))
                {
                    var version = $"{blob.Name}|{blob.Properties.ETag}";
                    if (_delivered.Contains(version) || (_retries.TryGetValue(version, out var retry) && retry.Due > time.GetUtcNow()))
                    {
                        continue;
                    }
                    await DeliverAsync(container.GetBlobClient(blob.Name), blob, version, retry?.Attempts ?? 0, settings, stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LocalTriggerFailed(log, nameof(DropWatcher), e.GetType().Name, e.Message);
            }
            await Task.Delay(settings.DropPollInterval, time, stoppingToken);
        }
    }

    private async Task DeliverAsync(BlobClient client, BlobItem blob, string version, int attempts, LocalTriggerOptions settings, CancellationToken cancellationToken)
    {
        // The trigger's path is drops/{source}/{entity}/{name}: blobs outside that shape trigger nothing in Azure either.
        var parts = blob.Name.Split('/', 3);
        if (parts.Length < 3 || parts.Any(p => p.Length == 0))
        {
            _delivered.Add(version);
            return;
        }
        try
        {
            await using var scope = services.CreateAsyncScope();
            var ingest = ActivatorUtilities.CreateInstance<Ingest>(scope.ServiceProvider);
            await ingest.Run(client, parts[0], parts[1], parts[2], cancellationToken);
            _delivered.Add(version);
            _retries.Remove(version);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            attempts++;
            if (attempts < settings.MaxAttempts)
            {
                _retries[version] = new Retry(attempts, time.GetUtcNow() + settings.RetryDelay);
                return;
            }
            var poison = queues.GetQueueClient(Ingest.PoisonQueue);
            await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            await poison.SendMessageAsync(PoisonMessage(blob), cancellationToken);
            Log.MovedToPoison(log, blob.Name, attempts);
            _delivered.Add(version);
            _retries.Remove(version);
        }
    }

    /// <summary>The message the blob extension writes to its poison queue: which function, which blob, which version.</summary>
    public static string PoisonMessage(BlobItem blob) => JsonSerializer.Serialize(new
    {
        Type = "BlobTrigger",
        FunctionId = $"Host.Functions.{nameof(Ingest)}",
        BlobType = "BlockBlob",
        ContainerName = ResourceNames.DropsContainer,
        BlobName = blob.Name,
        ETag = blob.Properties.ETag?.ToString(),
    });
}
