using Azure.Storage.Blobs;
using iCrm.Azure;
using iCrm.Core.Ingestion;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions;

/// <summary>
/// Ingests a drop when Event Grid reports a new blob under <c>drops/{source}/{entity}/{name}</c>. A thin adapter: the
/// ingestion pipeline computes the drop id from the blob's ETag, skips a drop it has already finished, streams the blob,
/// writes the report and the quarantine, and records each attempt. An exception fails the invocation: the blob extension
/// retries it (host.json <c>extensions.queues.maxDequeueCount</c>, 5 attempts) and then writes the blob's name to its
/// poison queue <see cref="PoisonQueue"/>. Locally the drop watcher plays Event Grid with the same retries and queue.
/// </summary>
public sealed class Ingest(IngestionPipeline pipeline, ILogger<Ingest> log)
{
    /// <summary>The blob extension's poison queue (fixed by the extension, in the storage account of the trigger's connection).</summary>
    public const string PoisonQueue = "webjobs-blobtrigger-poison";

    /// <summary>Attempts before a drop is poisoned (the extension's default, host.json <c>maxDequeueCount</c>).</summary>
    public const int MaxAttempts = 5;

    public const string BlobPath = ResourceNames.DropsContainer + "/{source}/{entity}/{name}";

    [Function(nameof(Ingest))]
    public async Task<IngestionReport?> Run(
        [BlobTrigger(BlobPath, Source = BlobTriggerSource.EventGrid, Connection = SettingNames.StoragePrefix)] BlobClient blob,
        string source, string entity, string name, CancellationToken cancellationToken)
    {
        // The client is only an address here: the pipeline opens the blob itself, at the ETag it computed the drop id
        // from, and streams it (a drop can be gigabytes).
        if (blob.BlobContainerName != ResourceNames.DropsContainer)
        {
            Log.IgnoredBlob(log, blob.BlobContainerName);
            return null;
        }
        try
        {
            var report = await pipeline.IngestAsync(blob.Name, cancellationToken);
            Log.DropIngested(log, report.Id, source, entity, report.Status.ToString(), report.RowsRead, report.RowsAccepted, report.RowsRejected, report.DuplicatesSkipped);
            return report;
        }
        catch (DropNotFoundException)
        {
            // Deleted before we got to it: nothing to ingest, and retrying will not bring it back.
            Log.DropGone(log, source, entity);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.DropFailed(log, e.GetType().Name);
            throw;
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Drop {DropId} ({Source}/{Entity}) {Status}: read {Read}, accepted {Accepted}, rejected {Rejected}, duplicates {Duplicates}")]
    public static partial void DropIngested(ILogger logger, string dropId, string source, string entity, string status, long read, long accepted, long rejected, long duplicates);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Drop ingestion failed with {ExceptionType}; the blob extension retries it")]
    public static partial void DropFailed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Local trigger: drop {BlobName} moved to the poison queue after {Attempts} attempts")]
    public static partial void MovedToPoison(ILogger logger, string blobName, int attempts);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Local trigger: next training at {Next}")]
    public static partial void NextTraining(ILogger logger, DateTimeOffset next);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Local trigger {Trigger} failed with {ExceptionType}: {Message}")]
    public static partial void LocalTriggerFailed(ILogger logger, string trigger, string exceptionType, string message);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Drop under {Source}/{Entity} no longer exists; nothing to ingest")]
    public static partial void DropGone(ILogger logger, string source, string entity);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Ignored a blob in container {Container}")]
    public static partial void IgnoredBlob(ILogger logger, string container);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Training run {RunId} ({Trigger}) {Status}")]
    public static partial void TrainingFinished(ILogger logger, string runId, string trigger, string status);
}
