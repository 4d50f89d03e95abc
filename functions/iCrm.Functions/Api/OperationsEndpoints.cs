using System.Text.Json.Nodes;
using iCrm.Azure.Health;
using iCrm.Core.Ingestion;
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
            var size = pageSize ?? RequestLimits.DefaultPageSize;
            if (RequestLimits.CheckPageSize(size) is { } sizeError)
            {
                return ApiProblems.BadRequest(sizeError);
            }
            string? storeToken;
            try
            {
                storeToken = continuationToken is null ? null : PageTokens.Decode(continuationToken);
            }
            catch (InvalidTokenException e)
            {
                return ApiProblems.BadRequest(e.Message);
            }
            var page = await ledger.ListAsync(size, storeToken, ct);
            return Results.Ok(new IngestionPage(page.Items, PageTokens.Encode(page.ContinuationToken)));
        }).WithName("ListIngestions")
            .WithSummary("Drop reports, page by page.")
            .Produces<IngestionPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        ingestions.MapGet("/{id}", async (string id, IIngestionLedger ledger, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(id))
            {
                return ApiProblems.InvalidId(id);
            }
            var report = await ledger.GetAsync(id, ct);
            return report is null ? ApiProblems.NotFound($"No drop with id '{id}'.") : Results.Ok(report.Value);
        }).WithName("GetIngestion")
            .WithSummary("The report of one drop: counts, rejections by reason, timings.")
            .Produces<IngestionReport>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        var models = api.MapGroup("/models").WithTags("Models");
        models.MapGet("/", async (IModelRegistry registry, CancellationToken ct) =>
        {
            var kinds = new List<ModelKindStatus>();
            foreach (var kind in ModelKinds.All)
            {
                var champion = await registry.GetChampionAsync(kind, ct);
                kinds.Add(new ModelKindStatus(kind, champion?.Value));
            }
            return Results.Ok(new ModelList(kinds));
        }).WithName("ListModels")
            .WithSummary("Every model kind with its current champion (null when none is trained yet).")
            .Produces<ModelList>();
        models.MapGet("/{kind}", async (string kind, IModelRegistry registry, CancellationToken ct) =>
        {
            if (!ModelKinds.All.Contains(kind))
            {
                return ApiProblems.NotFound($"Unknown model kind '{(kind.Length > 40 ? kind[..40] : kind)}'. Kinds: {string.Join(", ", ModelKinds.All)}.");
            }
            var champion = await registry.GetChampionAsync(kind, ct);
            var versions = await registry.ListVersionsAsync(kind, ct);
            var card = champion is null ? null : await registry.GetCardAsync(kind, champion.Value.Version, ct);
            return Results.Ok(new ModelDetails(kind, champion?.Value, card, versions));
        }).WithName("GetModel")
            .WithSummary("A model kind: champion, its model card, and all versions.")
            .Produces<ModelDetails>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/segments", async (IModelRegistry registry, CancellationToken ct) =>
        {
            var champion = await registry.GetChampionAsync(ModelKinds.Segments, ct);
            if (champion is null)
            {
                return ApiProblems.Unavailable("No segments model has been trained yet: run training (POST /api/train) first.");
            }
            var card = await registry.GetCardAsync(ModelKinds.Segments, champion.Value.Version, ct);
            if (card?.Details is not { } details)
            {
                return ApiProblems.Unavailable($"The segments champion {champion.Value.Version} stores no segment summaries.");
            }
            return Results.Ok(new SegmentsResponse(champion.Value.Version, champion.Value.PromotedAt,
                details["rfmSummaries"]?.DeepClone(), details["clusterSummaries"]?.DeepClone(), details));
        }).WithTags("Segments").WithName("ListSegments")
            .WithSummary("Size, value and churn rate per RFM segment and behavioural cluster, as stored by the last training run.")
            .Produces<SegmentsResponse>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        var train = api.MapGroup("/train").WithTags("Training");
        train.MapPost("/", async (HttpRequest http, TrainingJobs jobs, TrainingRunner runner, ITrainingLease lease, TimeProvider time) =>
        {
            var (request, problem) = await JsonBody.ReadAsync<TrainRequest>(http, optional: true);
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
        }).RequireAdminKey().WithName("StartTraining")
            .WithSummary("Starts a training run (admin); answers 202 with a run id and a status URL.")
            .WithDescription("Optional body `{\"asOf\": \"2025-01-01T00:00:00Z\", \"kinds\": [\"churn\"]}`. 409 while another run is in progress.")
            .Accepts<TrainRequest>("application/json")
            .Produces<TrainingStarted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict);
        train.MapGet("/{runId}", async (string runId, ITrainingRunLog runs, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(runId))
            {
                return ApiProblems.InvalidId(runId);
            }
            var run = await runs.GetAsync(runId, ct);
            return run is null ? ApiProblems.NotFound($"No training run '{runId}'.") : Results.Ok(run);
        }).WithName("GetTrainingRun")
            .WithSummary("Progress and outcome of a training run.")
            .Produces<TrainingRunRecord>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return api;
    }

    public static void MapHealthEndpoint(this RouteGroupBuilder api) =>
        api.MapGet("/health", async (DependencyHealth health, CancellationToken ct) =>
        {
            var checks = await health.CheckAsync(ct);
            var healthy = checks.All(c => c.Healthy);
            return Results.Json(new HealthReport(healthy ? "healthy" : "unhealthy", checks.ToDictionary(c => c.Name, c => c.Status)),
                statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        }).WithTags("Health").WithName("Health")
            .WithSummary("Readiness of the customer store and the model registry (anonymous).")
            .Produces<HealthReport>()
            .Produces<HealthReport>(StatusCodes.Status503ServiceUnavailable);
}

/// <summary>Body of POST /api/train: optional cut-off date (backtests) and model kinds (default all).</summary>
public sealed record TrainRequest(DateTimeOffset? AsOf, List<string>? Kinds);
