using iCrm.Azure.Store;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Functions.Api;

public static class OperationsEndpoints
{
    public static RouteGroupBuilder MapOperationsEndpoints(this RouteGroupBuilder api)
    {
        var ingestions = api.MapGroup("/ingestions").WithTags("Ingestion");
        ingestions.MapGet("/", async (IIngestionLedger ledger, int? pageSize, string? continuationToken, CancellationToken ct) =>
        {
            var size = pageSize ?? 50;
            if (size is < 1 or > 500)
            {
                return ApiProblems.BadRequest("pageSize must be between 1 and 500.");
            }
            var page = await ledger.ListAsync(size, continuationToken, ct);
            return Results.Ok(new { items = page.Items, continuationToken = page.ContinuationToken });
        }).WithName("ListIngestions").WithSummary("Drop reports, newest first.");
        ingestions.MapGet("/{id}", async (string id, IIngestionLedger ledger, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(id))
            {
                return ApiProblems.InvalidId(id);
            }
            var report = await ledger.GetAsync(id, ct);
            return report is null ? ApiProblems.NotFound($"No drop with id '{id}'.") : Results.Ok(report.Value);
        }).WithName("GetIngestion").WithSummary("The report of one drop: counts, rejections by reason, timings.");

        var models = api.MapGroup("/models").WithTags("Models");
        models.MapGet("/", async (IModelRegistry registry, CancellationToken ct) =>
        {
            var kinds = new List<object>();
            foreach (var kind in ModelKinds.All)
            {
                var champion = await registry.GetChampionAsync(kind, ct);
                kinds.Add(new { kind, champion = champion?.Value });
            }
            return Results.Ok(new { items = kinds });
        }).WithName("ListModels").WithSummary("Every model kind with its current champion.");
        models.MapGet("/{kind}", async (string kind, IModelRegistry registry, CancellationToken ct) =>
        {
            if (!ModelKinds.All.Contains(kind))
            {
                return ApiProblems.NotFound($"Unknown model kind '{kind}'. Kinds: {string.Join(", ", ModelKinds.All)}.");
            }
            var champion = await registry.GetChampionAsync(kind, ct);
            var versions = await registry.ListVersionsAsync(kind, ct);
            var card = champion is null ? null : await registry.GetCardAsync(kind, champion.Value.Version, ct);
            return Results.Ok(new { kind, champion = champion?.Value, card, versions });
        }).WithName("GetModel").WithSummary("A model kind: champion, its model card, and all versions.");

        var train = api.MapGroup("/train").WithTags("Training");
        train.MapPost("/", async (TrainRequest? request, TrainingJobs jobs, TrainingRunner runner, TimeProvider time) =>
        {
            var kinds = request?.Kinds ?? [];
            var unknown = kinds.Where(k => !runner.AvailableKinds.Contains(k)).ToList();
            if (unknown.Count > 0)
            {
                return ApiProblems.BadRequest($"Unknown model kinds: {string.Join(", ", unknown)}. Available: {string.Join(", ", runner.AvailableKinds)}.");
            }
            if (request?.AsOf is { } asOf && asOf > time.GetUtcNow())
            {
                return ApiProblems.BadRequest("asOf must not be in the future.");
            }
            var run = await jobs.StartAsync(request?.AsOf ?? time.GetUtcNow(), kinds);
            return Results.Accepted($"/api/train/{run.RunId}", new { runId = run.RunId, status = run.Status.ToString(), statusUrl = $"/api/train/{run.RunId}" });
        }).RequireAdminKey().WithName("StartTraining").WithSummary("Starts a training run (admin); answers 202 with a run id and a status URL.");
        train.MapGet("/{runId}", async (string runId, ITrainingRunLog runs, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(runId))
            {
                return ApiProblems.InvalidId(runId);
            }
            var run = await runs.GetAsync(runId, ct);
            return run is null ? ApiProblems.NotFound($"No training run '{runId}'.") : Results.Ok(run);
        }).WithName("GetTrainingRun").WithSummary("Progress and outcome of a training run.");

        return api;
    }

    public static void MapHealthEndpoint(this RouteGroupBuilder api) =>
        api.MapGet("/health", async (CosmosContainers cosmos, IModelRegistry registry, CancellationToken ct) =>
        {
            var checks = new Dictionary<string, string>();
            try
            {
                await cosmos.EnsureCreatedAsync(ct);
                await cosmos.Database.ReadAsync(cancellationToken: ct);
                checks["store"] = "ok";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                checks["store"] = $"unavailable: {e.GetType().Name}";
            }
            try
            {
                await registry.ListVersionsAsync(ModelKinds.Churn, ct);
                checks["registry"] = "ok";
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                checks["registry"] = $"unavailable: {e.GetType().Name}";
            }
            var healthy = checks.Values.All(v => v == "ok");
            return Results.Json(new { status = healthy ? "healthy" : "unhealthy", checks },
                statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).WithTags("Health").WithName("Health").WithSummary("Readiness of the customer store and the model registry (anonymous).");
}

/// <summary>Body of POST /api/train: optional cut-off date (backtests) and model kinds (default all).</summary>
public sealed record TrainRequest(DateTimeOffset? AsOf, List<string>? Kinds);
