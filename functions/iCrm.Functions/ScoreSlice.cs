using iCrm.Azure;
using iCrm.Azure.Storage;
using iCrm.Ml.Scoring;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions;

/// <summary>
/// Scores one slice of the store after a training run and writes its predictions back (queue <c>score-slices</c>, one
/// message per slice, sent by the run). A thin adapter over <see cref="SliceScorer"/>, which is idempotent: a re-delivered
/// message writes nothing. An exception fails the invocation: the queue extension retries it (host.json
/// <c>maxDequeueCount</c>, 5 attempts) and then moves it to <c>score-slices-poison</c>. Locally the score-slice runner
/// plays the extension with the same retries and poison queue.
/// </summary>
public sealed class ScoreSlice(SliceScorer scorer, ILogger<ScoreSlice> log)
{
    /// <summary>Attempts before a slice is poisoned (host.json <c>extensions.queues.maxDequeueCount</c>).</summary>
    public const int MaxAttempts = 5;

    /// <param name="dequeueCount">The delivery's attempt number (the queue trigger's <c>DequeueCount</c> metadata): when the
    /// last attempt fails, the run is marked failed before the message goes to the poison queue.</param>
    [Function(nameof(ScoreSlice))]
    public async Task Run([QueueTrigger(ResourceNames.ScoreSlicesQueue, Connection = SettingNames.StoragePrefix)] string message, long dequeueCount,
        CancellationToken cancellationToken)
    {
        ScoreSliceMessage? slice;
        try
        {
            slice = StorageQueueScoreSlices.Decode(message);
        }
        catch (System.Text.Json.JsonException)
        {
            slice = null;
        }
        var problem = slice is null ? "not a score-slices message" : slice.Problem();
        if (slice is null || problem is not null)
        {
            // Retrying cannot mend a malformed message: it is dropped with a log line (no customer data in it).
            Log.MalformedSlice(log, problem ?? "");
            return;
        }
        ScoringTally? tally;
        try
        {
            tally = await scorer.ScoreAsync(slice, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException && dequeueCount >= MaxAttempts)
        {
            await scorer.AbandonAsync(slice, $"{e.GetType().Name}: {e.Message}", cancellationToken);
            throw;
        }
        Log.SliceScored(log, slice.RunId, slice.Slice + 1, slice.Slices, tally?.Customers ?? 0, tally?.Written ?? 0, tally is null);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Run {RunId} slice {Slice}/{Slices}: {Customers} customers, {Written} predictions written (already done before: {AlreadyDone})")]
    public static partial void SliceScored(ILogger logger, string runId, int slice, int slices, long customers, long written, bool alreadyDone);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Dropped a score-slices message: {Problem}")]
    public static partial void MalformedSlice(ILogger logger, string problem);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Local trigger: score-slices message {MessageId} moved to the poison queue after {Attempts} attempts")]
    public static partial void SliceMovedToPoison(ILogger logger, string messageId, long attempts);
}
