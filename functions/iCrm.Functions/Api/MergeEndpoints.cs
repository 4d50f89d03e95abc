using iCrm.Core.Storage;

namespace iCrm.Functions.Api;

/// <summary>Merge review: what identity resolution held back. A thin adapter over <see cref="MergeReviewQuery"/>.</summary>
public static class MergeEndpoints
{
    public static RouteGroupBuilder MapMergeEndpoints(this RouteGroupBuilder api)
    {
        api.MapGroup("/merges").WithTags("Identity").MapGet("/", async (IMergeReviewStore reviews, string? status, int? pageSize,
            string? continuationToken, CancellationToken ct) =>
        {
            var listing = await new MergeReviewQuery(reviews).ListAsync(status, pageSize, continuationToken, ct);
            return listing.Page is { } page ? Results.Ok(page) : ApiProblems.BadRequest(listing.Error!);
        }).WithName("ListMerges")
            .WithSummary("Candidate pairs held back for review instead of merged (status=review), with field-by-field evidence, page by page.")
            .Produces<MergeReviewPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return api;
    }
}
