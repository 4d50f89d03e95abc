using iCrm.Core.Storage;

namespace iCrm.Functions.Api;

/// <summary>A page of review candidates; <c>continuationToken</c> is null on the last page.</summary>
public sealed record MergeReviewPage(IReadOnlyList<MergeReview> Items, string? ContinuationToken);

/// <summary>The outcome of a listing: a page, or what is wrong with the request (for a 400 ProblemDetails).</summary>
public sealed record MergeReviewListing(MergeReviewPage? Page, string? Error);

/// <summary>
/// <c>GET /api/merges?status=review</c>: the pairs the matcher held back instead of merging, with their evidence, newest
/// first. All the logic of the endpoint lives here (checks, paging tokens), so any host can call it.
/// </summary>
public sealed class MergeReviewQuery(IMergeReviewStore reviews)
{
    /// <summary>The statuses that can be listed; <c>review</c> (nobody has decided yet) is the default.</summary>
    public static readonly IReadOnlyList<string> Statuses = [MergeReview.ReviewStatus];

    public async Task<MergeReviewListing> ListAsync(string? status, int? pageSize, string? continuationToken, CancellationToken cancellationToken)
    {
        status ??= MergeReview.ReviewStatus;
        if (!Statuses.Contains(status))
        {
            return new MergeReviewListing(null, $"status must be one of: {string.Join(", ", Statuses)}.");
        }
        if (PageTokens.TryReadPage(pageSize, continuationToken, out var size, out var storeToken) is { } pageError)
        {
            return new MergeReviewListing(null, pageError);
        }
        var page = await reviews.ListAsync(status, size, storeToken, cancellationToken);
        return new MergeReviewListing(new MergeReviewPage(page.Items, PageTokens.Encode(page.ContinuationToken)), null);
    }
}
