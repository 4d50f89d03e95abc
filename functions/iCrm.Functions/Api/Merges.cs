using iCrm.Core.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>Identity resolution's held-back pairs: what the matcher did not merge because strong identifiers disagreed.</summary>
public sealed class Merges(IMergeReviewStore reviews)
{
    [Function("ListMerges")]
    [RequiresRole(ApiRole.Admin, ApiRole.Privacy)]
    [Tags("Identity")]
    [EndpointSummary("Candidate pairs held back for review instead of merged (status=review), with field-by-field evidence, page by page.")]
    [QueryParameter("status", typeof(string), "review (default).")]
    [QueryParameter("pageSize", typeof(int), "Items per page, 1-500 (default 50).")]
    [QueryParameter("continuationToken", typeof(string), "The token of the previous page.")]
    [ProducesResponseType<MergeReviewPage>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    public async Task<IResult> ListMerges(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "merges")] HttpRequest req, CancellationToken ct)
    {
        if (QueryParameters.Int(req, "pageSize", out var pageSize) is { } typeError)
        {
            return typeError;
        }
        var listing = await new MergeReviewQuery(reviews).ListAsync(
            QueryParameters.String(req, "status"), pageSize, QueryParameters.String(req, "continuationToken"), ct);
        return listing.Page is { } page ? Results.Ok(page) : ApiProblems.BadRequest(listing.Error!);
    }
}
