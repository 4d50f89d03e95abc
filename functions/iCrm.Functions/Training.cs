using iCrm.Functions.Api;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions;

/// <summary>Trains every model kind on the schedule <c>TRAIN_SCHEDULE</c> (NCRONTAB with seconds, UTC), and on demand
/// over HTTP (202 + a status URL: HTTP responses are cut after about 230 s in Azure).</summary>
public sealed class Training(TrainingRunner runner, TrainingJobs jobs, ITrainingRunLog runs, ITrainingLease lease, iCrm.Ml.Scoring.IScoringResults slices,
    TimeProvider time, ILogger<Training> log)
{
    [Function("Train")]
    public async Task<TrainingRunRecord> Train([TimerTrigger("%" + iCrm.Azure.SettingNames.TrainSchedule + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var run = new TrainingRunRecord { RunId = Guid.NewGuid().ToString("N"), Trigger = "timer", RequestedAt = now, AsOf = now };
        var result = await runner.RunAsync(run, cancellationToken);
        Log.TrainingFinished(log, result.RunId, run.Trigger, result.Status.ToString());
        // A failed run fails the invocation, so the host records it as failed (the next occurrence tries again). A run
        // still running has trained its models and handed the write-back to the score-slices queue.
        return result.Status is TrainingRunStatus.Succeeded or TrainingRunStatus.Skipped or TrainingRunStatus.Running
            ? result
            : throw new InvalidOperationException($"Training run {result.RunId} {result.Status}: {result.Error}");
    }

    [Function("StartTraining")]
    [RequiresRole(ApiRole.Admin)]
    [Tags("Training")]
    [EndpointSummary("Starts a training run (admin); answers 202 with a run id and a status URL.")]
    [EndpointDescription("Optional body `{\"asOf\": \"2025-01-01T00:00:00Z\", \"kinds\": [\"churn\"]}`. 409 while another run is in progress.")]
    [Consumes(typeof(TrainRequest), "application/json")]
    [ProducesResponseType<TrainingStarted>(StatusCodes.Status202Accepted)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status403Forbidden)]
    [ProducesProblem(StatusCodes.Status409Conflict)]
    public async Task<IResult> StartTraining(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "train")] HttpRequest req)
    {
        var (request, problem) = await JsonBody.ReadAsync<TrainRequest>(req, optional: true);
        if (problem is not null)
        {
            return problem;
        }
        var kinds = request?.Kinds ?? [];
        var unknown = kinds.Where(k => !runner.AvailableKinds.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            return ApiProblems.BadRequest($"Unknown model kinds: {string.Join(", ", unknown.Select(k => k.Length > 40 ? k[..40] : k))}. Available: {string.Join(", ", runner.AvailableKinds)}.");
        }
        if (request?.AsOf is { } asOf && asOf > time.GetUtcNow())
        {
            return ApiProblems.BadRequest("asOf must not be in the future.");
        }
        // A quick look at the lease: the run takes it again itself, so a race here only turns into a skipped run.
        await using (var probe = await lease.TryAcquireAsync())
        {
            if (probe is null)
            {
                return ApiProblems.Conflict("A training run is already in progress (it holds the lease on models/train.lock); try again when it has finished.");
            }
        }
        var run = await jobs.StartAsync(request?.AsOf ?? time.GetUtcNow(), kinds);
        var statusUrl = $"/api/train/{run.RunId}";
        return Results.Accepted(statusUrl, new TrainingStarted(run.RunId, run.Status.ToString(), statusUrl));
    }

    [Function("GetTrainingRun")]
    [RequiresRole(ApiRole.Admin)]
    [Tags("Training")]
    [EndpointSummary("Progress and outcome of a training run.")]
    [EndpointDescription("`scoring` shows the fan-out write-back after the models: slices done / total, and the totals once the last slice reported.")]
    [ProducesResponseType<TrainingRunRecord>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetTrainingRun(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "train/{runId}")] HttpRequest req, string runId, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(runId))
        {
            return ApiProblems.InvalidId(runId);
        }
        var run = await runs.GetAsync(runId, ct);
        if (run?.Scoring is { CompletedAt: null } scoring)
        {
            // Slices report to their own blobs (no write contention on the record): count them.
            scoring.SlicesDone = Math.Min(scoring.Slices, await slices.CountSlicesAsync(run.RunId, ct));
        }
        return run is null ? ApiProblems.NotFound($"No training run '{runId}'.") : Results.Ok(run);
    }
}

/// <summary>Body of POST /api/train: optional cut-off date (backtests) and model kinds (default all).</summary>
public sealed record TrainRequest(DateTimeOffset? AsOf, List<string>? Kinds);
