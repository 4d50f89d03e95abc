using iCrm.Azure.Store;
using iCrm.Core.Ingestion;
using iCrm.Core.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>Drop reports: what each ingested file did (counts, rejections by reason, timings).</summary>
public sealed class Ingestions(IIngestionLedger ledger)
{
    [Function("ListIngestions")]
    [RequiresRole(ApiRole.Reader, ApiRole.Admin)]
    [Tags("Ingestion")]
    [EndpointSummary("Drop reports, page by page.")]
    [QueryParameter("pageSize", typeof(int), "Items per page, 1-500 (default 50).")]
    [QueryParameter("continuationToken", typeof(string), "The token of the previous page.")]
    [ProducesResponseType<IngestionPage>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    public async Task<IResult> ListIngestions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ingestions")] HttpRequest req, CancellationToken ct)
    {
        if (QueryParameters.Int(req, "pageSize", out var pageSize) is { } typeError)
        {
            return typeError;
        }
        if (PageTokens.TryReadPage(pageSize, QueryParameters.String(req, "continuationToken"), out var size, out var storeToken) is { } pageError)
        {
            return ApiProblems.BadRequest(pageError);
        }
        var page = await ledger.ListAsync(size, storeToken, ct);
        return Results.Ok(new IngestionPage(page.Items, PageTokens.Encode(page.ContinuationToken)));
    }

    [Function("GetIngestion")]
    [RequiresRole(ApiRole.Reader, ApiRole.Admin)]
    [Tags("Ingestion")]
    [EndpointSummary("The report of one drop: counts, rejections by reason, timings.")]
    [ProducesResponseType<IngestionReport>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetIngestion(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ingestions/{id}")] HttpRequest req, string id, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(id))
        {
            return ApiProblems.InvalidId(id);
        }
        var report = await ledger.GetAsync(id, ct);
        return report is null ? ApiProblems.NotFound($"No drop with id '{id}'.") : Results.Ok(report.Value);
    }
}
