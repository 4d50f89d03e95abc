using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;

namespace iCrm.Functions.Api;

public static class CustomerEndpoints
{
    public static RouteGroupBuilder MapCustomerEndpoints(this RouteGroupBuilder api)
    {
        var customers = api.MapGroup("/customers").WithTags("Customers");

        customers.MapGet("/", async (CustomerQuery query, string? segment, double? minChurn, double? minClv, string? sort,
            int? pageSize, string? continuationToken, CancellationToken ct) =>
        {
            var size = pageSize ?? RequestLimits.DefaultPageSize;
            if (RequestLimits.CheckPageSize(size) is { } sizeError)
            {
                return ApiProblems.BadRequest(sizeError);
            }
            if (minChurn is < 0 or > 1 || minChurn is double.NaN)
            {
                return ApiProblems.BadRequest("minChurn is a probability between 0 and 1.");
            }
            if (minClv is < 0 || minClv is double.NaN)
            {
                return ApiProblems.BadRequest("minClv must be 0 or more.");
            }
            if (segment is not null && (segment.Length is 0 or > 64))
            {
                return ApiProblems.BadRequest("segment must be 1-64 characters.");
            }
            CustomerSort order;
            switch (sort?.ToLowerInvariant())
            {
                case null or "": order = CustomerSort.None; break;
                case "churn": order = CustomerSort.Churn; break;
                case "clv": order = CustomerSort.Clv; break;
                default: return ApiProblems.BadRequest("sort must be 'churn' (highest risk first) or 'clv' (highest value first).");
            }
            if (continuationToken is { Length: > 4096 })
            {
                return ApiProblems.BadRequest("continuationToken is too long.");
            }
            try
            {
                var (items, next, scanned) = await query.ListAsync(new CustomerFilter(segment, minChurn, minClv), order, size, continuationToken, ct);
                return Results.Ok(new CustomerPage([.. items.Select(CustomerView.From)], next, scanned));
            }
            catch (InvalidTokenException e)
            {
                return ApiProblems.BadRequest(e.Message);
            }
        }).WithName("ListCustomers")
            .WithSummary("Lists customer profiles, filtered by the predictions written back by the last training run.")
            .WithDescription("Filters (`segment`, `minChurn`, `minClv`) scan the store page by page: one request reads at most " +
                $"{CustomerQuery.MaxScannedPerRequest:N0} profiles, so a page may hold fewer than `pageSize` items and still carry a " +
                "`continuationToken`; only a null token means the end. `sort=churn|clv` reads every profile (top-k in memory) and pages " +
                $"by offset up to {CustomerQuery.MaxSortWindow:N0} items. `pageSize` is {RequestLimits.MinPageSize}-{RequestLimits.MaxPageSize} (default {RequestLimits.DefaultPageSize}). " +
                "Pass the returned token with the same filters to get the next page.")
            .Produces<CustomerPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

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
        }).WithName("GetCustomer")
            .WithSummary("The 360° profile of a customer.")
            .WithDescription("A merged-away id answers 200 with the surviving profile and a `Content-Location` header naming it.")
            .Produces<CustomerView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

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
        }).WithName("GetCustomerBySource")
            .WithSummary("Finds a profile by a source system's own customer id.")
            .Produces<CustomerView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

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
        }).WithName("GetCustomerScores")
            .WithSummary("Live scores from the current champion models, with the reasons behind them.")
            .WithDescription("Churn probability, band and top factors; lifetime value; RFM and behavioural segment; sentiment trend; " +
                "the model versions that produced them. Kinds without a champion are listed in `unavailable`; 503 when no kind has one.")
            .Produces<CustomerScores>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        customers.MapGet("/{id}/recommendations", async (string id, int? top, CustomerLookup lookup, ICustomerScoring scoring, TimeProvider time, CancellationToken ct) =>
        {
            if (!CustomerLookup.IsValidId(id))
            {
                return ApiProblems.InvalidId(id);
            }
            var count = top ?? 10;
            if (count is < RequestLimits.MinTop or > RequestLimits.MaxTop)
            {
                return ApiProblems.BadRequest($"top must be between {RequestLimits.MinTop} and {RequestLimits.MaxTop}.");
            }
            var (profile, _) = await lookup.FindAsync(id, ct);
            if (profile is null)
            {
                return ApiProblems.NotFound($"No customer with id '{id}'.");
            }
            var scores = await scoring.ScoreAsync(profile, time.GetUtcNow(), new ScoreRequest(Recommendations: true, Top: count), ct);
            if (scores.Recommendations is null || !scores.ModelVersions.TryGetValue(ModelKinds.Recommendations, out var version))
            {
                return ApiProblems.Unavailable(scores.Unavailable.GetValueOrDefault(ModelKinds.Recommendations)
                    ?? "No recommendations model has been trained yet: run training (POST /api/train) first.");
            }
            return Results.Ok(new RecommendationList(profile.Id, version, scores.Recommendations));
        }).WithName("GetCustomerRecommendations")
            .WithSummary("Products to recommend to a customer, each with a score and a reason (popular items for customers with no history).")
            .Produces<RecommendationList>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return api;
    }
}
