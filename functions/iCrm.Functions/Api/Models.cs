using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Segments;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>The model registry: champions, model cards, versions, and the segment summaries the last run stored.</summary>
public sealed class Models(IModelRegistry registry, IScoringResults scoring)
{
    [Function("ListModels")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Admin)]
    [Tags("Models")]
    [EndpointSummary("Every model kind with its current champion (null when none is trained yet).")]
    [ProducesResponseType<ModelList>(StatusCodes.Status200OK)]
    public async Task<IResult> ListModels(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "models")] HttpRequest req, CancellationToken ct)
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
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "models/{kind}")] HttpRequest req, string kind, CancellationToken ct)
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

    /// <summary>The RFM segments' plain-language descriptions, and the segment of customers with no purchase yet.</summary>
    private static readonly IReadOnlyDictionary<string, string> SegmentDescriptions = new Dictionary<string, string>(RfmModel.SegmentDescriptions, StringComparer.Ordinal)
    {
        [SegmentsKind.ProspectSegment] = "No purchase yet: known from sign-ups, events or feedback only. RFM says nothing about them until a first order.",
    };

    [Function("ListSegments")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer)]
    [Tags("Segments")]
    [EndpointSummary("Size, value and churn rate per RFM segment and behavioural cluster, as stored by the last training run, with the RFM grid of the last write-back.")]
    [EndpointDescription("`rfmSummaries` and `clusterSummaries` come from the segments champion's model card (value = spend in the last 365 days, " +
        "churn rate = share who bought nothing in the last 90 days). `descriptions` says in plain words what each RFM segment means. " +
        "`rfmGrid` is the recency score × frequency score grid (1-5 each) the last completed write-back tallied over every slice " +
        "(`models/runs/{runId}/summary.json`): customers, average predicted 12-month value (CLV) and mean churn probability per cell, " +
        "and the RFM segments a cell's customers can be in (the segment also depends on the monetary score); null before a write-back " +
        "completed. `GET /api/customers?recency=R&frequency=F` lists a cell's customers.")]
    [ProducesResponseType<SegmentsResponse>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> ListSegments(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "segments")] HttpRequest req, CancellationToken ct)
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
        var latest = await scoring.GetLatestSummaryAsync(ct);
        return Results.Ok(new SegmentsResponse(champion.Value.Version, champion.Value.PromotedAt,
            details["rfmSummaries"]?.DeepClone(), details["clusterSummaries"]?.DeepClone(), details,
            SegmentDescriptions, latest is null ? null : RfmGrid.From(latest)));
    }
}
