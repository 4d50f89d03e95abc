using iCrm.Ml.Registry;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>The model registry: champions, model cards, versions, and the segment summaries the last run stored.</summary>
public sealed class Models(IModelRegistry registry)
{
    [Function("ListModels")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Admin)]
    [Tags("Models")]
    [EndpointSummary("Every model kind with its current champion (null when none is trained yet).")]
    [ProducesResponseType<ModelList>(StatusCodes.Status200OK)]
    public async Task<IResult> ListModels(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models")] HttpRequest req, CancellationToken ct)
    {
        var kinds = new List<ModelKindStatus>();
        foreach (var kind in ModelKinds.All)
        {
            var champion = await registry.GetChampionAsync(kind, ct);
            kinds.Add(new ModelKindStatus(kind, champion?.Value));
        }
        return Results.Ok(new ModelList(kinds));
    }

    [Function("GetModel")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Admin)]
    [Tags("Models")]
    [EndpointSummary("A model kind: champion, its model card, and all versions.")]
    [ProducesResponseType<ModelDetails>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetModel(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "models/{kind}")] HttpRequest req, string kind, CancellationToken ct)
    {
        if (!ModelKinds.All.Contains(kind))
        {
            return ApiProblems.NotFound($"Unknown model kind '{(kind.Length > 40 ? kind[..40] : kind)}'. Kinds: {string.Join(", ", ModelKinds.All)}.");
        }
        var champion = await registry.GetChampionAsync(kind, ct);
        var versions = await registry.ListVersionsAsync(kind, ct);
        var card = champion is null ? null : await registry.GetCardAsync(kind, champion.Value.Version, ct);
        return Results.Ok(new ModelDetails(kind, champion?.Value, card, versions));
    }

    [Function("ListSegments")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer)]
    [Tags("Segments")]
    [EndpointSummary("Size, value and churn rate per RFM segment and behavioural cluster, as stored by the last training run.")]
    [ProducesResponseType<SegmentsResponse>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> ListSegments(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "segments")] HttpRequest req, CancellationToken ct)
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
    }
}
