using System.Text.Json;
using iCrm.Core.Ingestion;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Functions.Invocation;

/// <summary>The result of one invocation: the host's response body, and whether it succeeded (non-2xx makes the host retry).</summary>
public sealed record InvocationResult(bool Succeeded, InvocationResponse Response);

/// <summary>
/// Runs the non-HTTP functions. The host's POST <c>/{FunctionName}</c> and the local trigger runner both come through
/// here, so local runs exercise the same code path as Azure.
/// </summary>
public sealed class FunctionInvoker(IngestionPipeline ingestion, TrainingRunner training, TimeProvider time, ILogger<FunctionInvoker> log)
{
    public Task<InvocationResult> InvokeAsync(string functionName, InvocationRequest request, CancellationToken cancellationToken) =>
        functionName switch
        {
            FunctionNames.Ingest => IngestAsync(request, cancellationToken),
            FunctionNames.Train => TrainAsync(cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(functionName), functionName, "Unknown function."),
        };

    private async Task<InvocationResult> IngestAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        var response = new InvocationResponse();
        if (!TryGetMessage(request, out var message))
        {
            response.Logs.Add("Ingest: the invocation carries no queue message in Data.");
            return new InvocationResult(false, response);
        }
        IReadOnlyList<CreatedBlob> blobs;
        try
        {
            blobs = BlobCreatedEvents.Parse(message);
        }
        catch (Exception e) when (e is InvalidEventException or JsonException)
        {
            response.Logs.Add($"Ingest: unreadable event: {e.Message}");
            return new InvocationResult(false, response);
        }
        var reports = new List<object>();
        foreach (var blob in blobs)
        {
            if (blob.Container != iCrm.Azure.ResourceNames.DropsContainer)
            {
                response.Logs.Add($"Ingest: ignored a blob outside '{iCrm.Azure.ResourceNames.DropsContainer}'.");
                continue;
            }
            try
            {
                var report = await ingestion.IngestAsync(blob.Path, cancellationToken);
                Log.DropIngested(log, report.Id, report.Status.ToString(), report.RowsRead, report.RowsAccepted, report.RowsRejected, report.DuplicatesSkipped);
                response.Logs.Add($"Ingest: drop {report.Id} {report.Status}: read {report.RowsRead}, accepted {report.RowsAccepted}, rejected {report.RowsRejected}, duplicates {report.DuplicatesSkipped}.");
                reports.Add(new { dropId = report.Id, status = report.Status.ToString(), report.RowsRead, report.RowsAccepted, report.RowsRejected, report.DuplicatesSkipped });
            }
            catch (DropNotFoundException e)
            {
                // Deleted before we got to it: nothing to ingest, and retrying will not bring it back.
                response.Logs.Add($"Ingest: {e.Message}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.DropFailed(log, e.GetType().Name);
                response.Logs.Add($"Ingest failed: {e.GetType().Name}: {e.Message}");
                return new InvocationResult(false, response);
            }
        }
        response.ReturnValue = reports;
        return new InvocationResult(true, response);
    }

    private async Task<InvocationResult> TrainAsync(CancellationToken cancellationToken)
    {
        var run = new TrainingRunRecord
        {
            RunId = Guid.NewGuid().ToString("N"),
            Trigger = "timer",
            RequestedAt = time.GetUtcNow(),
            AsOf = time.GetUtcNow(),
        };
        var result = await training.RunAsync(run, cancellationToken);
        var response = new InvocationResponse
        {
            ReturnValue = new { result.RunId, status = result.Status.ToString(), result.Error },
            Logs = { $"Train: run {result.RunId} {result.Status}" + (result.Error is null ? "" : $": {result.Error}") },
        };
        return new InvocationResult(result.Status is TrainingRunStatus.Succeeded or TrainingRunStatus.Skipped, response);
    }

    /// <summary>The queue message is the one entry of Data (its key is the binding name); fields in Metadata are ignored.</summary>
    private static bool TryGetMessage(InvocationRequest request, out JsonElement message)
    {
        foreach (var (_, value) in request.Data)
        {
            message = value;
            return value.ValueKind is JsonValueKind.String or JsonValueKind.Object or JsonValueKind.Array;
        }
        message = default;
        return false;
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Drop {DropId} {Status}: read {Read}, accepted {Accepted}, rejected {Rejected}, duplicates {Duplicates}")]
    public static partial void DropIngested(ILogger logger, string dropId, string status, long read, long accepted, long rejected, long duplicates);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Drop ingestion failed with {ExceptionType}; the host will retry")]
    public static partial void DropFailed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Local trigger: message {MessageId} moved to the poison queue after {DequeueCount} attempts")]
    public static partial void MovedToPoison(ILogger logger, string messageId, long dequeueCount);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Local trigger: next training at {Next}")]
    public static partial void NextTraining(ILogger logger, DateTimeOffset next);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Local trigger {Trigger} failed with {ExceptionType}: {Message}")]
    public static partial void LocalTriggerFailed(ILogger logger, string trigger, string exceptionType, string message);
}
