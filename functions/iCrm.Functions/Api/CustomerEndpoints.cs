using iCrm.Core.Storage;
using iCrm.Ml.Scoring;

namespace iCrm.Functions.Api;

public static class CustomerEndpoints
{
    public static RouteGroupBuilder MapCustomerEndpoints(this RouteGroupBuilder api)
    {
        var customers = api.MapGroup("/customers").WithTags("Customers");

        customers.MapGet("/", async (ICustomerStore store, int? pageSize, string? continuationToken, CancellationToken ct) =>
        {
            var size = pageSize ?? 50;
            if (size is < 1 or > 500)
            {
                return ApiProblems.BadRequest("pageSize must be between 1 and 500.");
            }
            var page = await store.ListAsync(size, continuationToken, ct);
            return Results.Ok(new { items = page.Items.Select(CustomerView.From), continuationToken = page.ContinuationToken });
        }).WithName("ListCustomers").WithSummary("Lists unified customer profiles, page by page.");

        customers.MapGet("/{id}", async (string id, CustomerLookup lookup, HttpContext http, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(id))
            {
                return ApiProblems.InvalidId(id);
            }
            var (profile, followed) = await lookup.FindAsync(id, ct);
            if (profile is null)
            {
                return ApiProblems.NotFound($"No customer with id '{id}'.");
            }
            if (followed)
            {
                http.Response.Headers.ContentLocation = $"/api/customers/{profile.Id}";
            }
            return Results.Ok(CustomerView.From(profile));
        }).WithName("GetCustomer").WithSummary("The 360° profile of a customer (a merged-away id answers with the survivor).");

        customers.MapGet("/by-source/{source}/{sourceId}", async (string source, string sourceId, CustomerLookup lookup, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(source) || sourceId.Length is 0 or > 128)
            {
                return ApiProblems.BadRequest("source must be 1-64 letters, digits, '-' or '_', and sourceId 1-128 characters.");
            }
            var id = await lookup.FindIdBySourceAsync(source, sourceId, ct);
            var (profile, _) = id is null ? (null, false) : await lookup.FindAsync(id, ct);
            return profile is null
                ? ApiProblems.NotFound($"No customer is known to source '{source}' by that id.")
                : Results.Ok(CustomerView.From(profile));
        }).WithName("GetCustomerBySource").WithSummary("Finds a profile by a source system's own customer id.");

        customers.MapGet("/{id}/scores", async (string id, CustomerLookup lookup, ICustomerScoring scoring, TimeProvider time, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(id))
            {
                return ApiProblems.InvalidId(id);
            }
            var (profile, _) = await lookup.FindAsync(id, ct);
            if (profile is null)
            {
                return ApiProblems.NotFound($"No customer with id '{id}'.");
            }
            var scores = await scoring.ScoreAsync(profile, time.GetUtcNow(), new ScoreRequest(), ct);
            return scores.ModelVersions.Count == 0
                ? ApiProblems.Unavailable(string.Join(" ", scores.Unavailable.Values))
                : Results.Ok(scores);
        }).WithName("GetCustomerScores").WithSummary("Live scores from the current champion models, with the reasons behind them.");

        return api;
    }
}
