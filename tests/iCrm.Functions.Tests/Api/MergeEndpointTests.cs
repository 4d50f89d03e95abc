using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Storage;

namespace iCrm.Functions.Tests.Api;

/// <summary>GET /api/merges?status=review: the pairs identity resolution held back, with their evidence, paged.</summary>
public sealed class MergeEndpointTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private async Task AddReviewsAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await _app.Reviews.UpsertAsync(new MergeReview
            {
                Id = MergeReview.IdFor($"src:{i:D4}", "c_candidate"),
                RecordKey = $"src:{i:D4}",
                CustomerId = $"c_{i:D4}",
                CandidateId = "c_candidate",
                Reason = "ConflictingIdentifiers",
                Score = 21.5,
                Evidence = [new MergeReviewEvidence("Surname", "Exact", 7.23), new MergeReviewEvidence("Email", "Disagree", -3.52)],
                DropId = "d1",
                At = DateTimeOffset.UnixEpoch.AddMinutes(i),
            });
        }
    }

    [Fact]
    public async Task Review_candidates_are_listed_newest_first_with_their_evidence_page_by_page()
    {
        await AddReviewsAsync(3);
        var client = _app.CreateClient();

        var first = (await client.GetFromJsonAsync<JsonObject>("/api/merges?status=review&pageSize=2"))!;
        var items = first["items"]!.AsArray();
        Assert.Equal(["c_0002", "c_0001"], items.Select(i => i!["customerId"]!.GetValue<string>()));
        Assert.Equal("ConflictingIdentifiers", items[0]!["reason"]!.GetValue<string>());
        Assert.Equal("Disagree", items[0]!["evidence"]![1]!["level"]!.GetValue<string>());
        var token = first["continuationToken"]!.GetValue<string>();

        var second = (await client.GetFromJsonAsync<JsonObject>($"/api/merges?status=review&pageSize=2&continuationToken={Uri.EscapeDataString(token)}"))!;
        Assert.Equal(["c_0000"], second["items"]!.AsArray().Select(i => i!["customerId"]!.GetValue<string>()));
        Assert.Null(second["continuationToken"]);
    }

    [Theory]
    [InlineData("/api/merges?status=merged", "status must be one of")]
    [InlineData("/api/merges?status=review&pageSize=0", "pageSize must be between")]
    [InlineData("/api/merges?status=review&continuationToken=nope", "continuationToken")]
    public async Task Bad_listing_requests_are_400_problem_details(string url, string detail)
    {
        var problem = await (await _app.CreateClient().GetAsync(url)).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(detail, problem.Detail());
    }
}
