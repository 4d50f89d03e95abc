using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>Customer profiles: listing for action, lookup by id or source id, live scores and recommendations.</summary>
public sealed class Customers(CustomerLookup lookup, CustomerQuery query, ICustomerScoring scoring, ReadAudit audit, TimeProvider time)
{
    public static string ListDescription { get; } =
        "Filters (`segment`, `minChurn`, `minClv`) scan the store page by page: one request reads at most " +
        $"{CustomerQuery.MaxScannedPerRequest:N0} profiles, so a page may hold fewer than `pageSize` items and still carry a " +
        "`continuationToken`; only a null token means the end. `sort=churn|clv` reads every profile (top-k in memory) and pages " +
        $"by offset up to {CustomerQuery.MaxSortWindow:N0} items. `pageSize` is {RequestLimits.MinPageSize}-{RequestLimits.MaxPageSize} (default {RequestLimits.DefaultPageSize}). " +
        "Pass the returned token with the same filters to get the next page.";

    [Function("ListCustomers")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer)]
    [Tags("Customers")]
    [EndpointSummary("Lists customer profiles, filtered by the predictions written back by the last training run.")]
    [DescriptionFrom(typeof(Customers), nameof(ListDescription))]
    [QueryParameter("segment", typeof(string), "Only customers in this RFM segment or behavioural cluster (1-64 characters).")]
    [QueryParameter("minChurn", typeof(double), "Only customers whose churn probability is at least this (0-1).")]
    [QueryParameter("minClv", typeof(double), "Only customers whose 12-month value is at least this.")]
    [QueryParameter("sort", typeof(string), "`churn` (highest risk first) or `clv` (highest value first).")]
    [QueryParameter("pageSize", typeof(int), "Items per page, 1-500 (default 50).")]
    [QueryParameter("continuationToken", typeof(string), "The token of the previous page.")]
    [ProducesResponseType<CustomerPage>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    public async Task<IResult> ListCustomers(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "customers")] HttpRequest req, CancellationToken ct)
    {
        var sizeType = QueryParameters.Int(req, "pageSize", out var pageSize);
        var churnType = QueryParameters.Double(req, "minChurn", out var minChurn);
        var clvType = QueryParameters.Double(req, "minClv", out var minClv);
        if ((sizeType ?? churnType ?? clvType) is { } typeError)
        {
            return typeError;
        }
        var segment = QueryParameters.String(req, "segment");
        var sort = QueryParameters.String(req, "sort");
        var continuationToken = QueryParameters.String(req, "continuationToken");
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
            var (items, next, scanned) = await query.ListAsync(new CustomerFilter(segment, minChurn, minClv), order, size,
                continuationToken is { Length: > 0 } ? continuationToken : null, ct);
            var caller = ApiCaller.Of(req.HttpContext);
            await audit.RecordAsync(req.HttpContext, items.Select(p => p.Id), ReadActions.List);
            return Results.Ok(new CustomerPage([.. items.Select(p => CustomerView.For(p, caller))], next, scanned));
        }
        catch (InvalidTokenException e)
        {
            return ApiProblems.BadRequest(e.Message);
        }
    }

    [Function("GetCustomer")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Privacy)]
    [Tags("Customers")]
    [EndpointSummary("The 360° profile of a customer.")]
    [EndpointDescription("A merged-away id answers 200 with the surviving profile and a `Content-Location` header naming it.")]
    [ProducesResponseType<CustomerView>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetCustomer(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "customers/{id}")] HttpRequest req, string id, CancellationToken ct)
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
            req.HttpContext.Response.Headers.ContentLocation = $"/api/customers/{profile.Id}";
        }
        await audit.RecordAsync(req.HttpContext, profile.Id, ReadActions.Read);
        return Results.Ok(CustomerView.For(profile, ApiCaller.Of(req.HttpContext)));
    }

    [Function("GetCustomerBySource")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Privacy)]
    [Tags("Customers")]
    [EndpointSummary("Finds a profile by a source system's own customer id.")]
    [ProducesResponseType<CustomerView>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetCustomerBySource(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "customers/by-source/{source}/{sourceId}")] HttpRequest req,
        string source, string sourceId, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(source) || sourceId.Length is 0 or > 128)
        {
            return ApiProblems.BadRequest("source must be 1-64 letters, digits, '-' or '_', and sourceId 1-128 characters.");
        }
        var id = await lookup.FindIdBySourceAsync(source, sourceId, ct);
        var (profile, _) = id is null ? (null, false) : await lookup.FindAsync(id, ct);
        if (profile is null)
        {
            return ApiProblems.NotFound($"No customer is known to source '{source}' by that id.");
        }
        await audit.RecordAsync(req.HttpContext, profile.Id, ReadActions.ReadBySource);
        return Results.Ok(CustomerView.For(profile, ApiCaller.Of(req.HttpContext)));
    }

    [Function("GetCustomerScores")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer)]
    [Tags("Customers")]
    [EndpointSummary("Live scores from the current champion models, with the reasons behind them.")]
    [EndpointDescription("Churn probability, band and top factors; lifetime value; RFM and behavioural segment; sentiment trend; " +
        "the model versions that produced them. Kinds without a champion are listed in `unavailable`; 503 when no kind has one.")]
    [ProducesResponseType<CustomerScores>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    [ProducesProblem(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> GetCustomerScores(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "customers/{id}/scores")] HttpRequest req, string id, CancellationToken ct)
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
        if (scores.ModelVersions.Count == 0)
        {
            return ApiProblems.Unavailable(string.Join(" ", scores.Unavailable.Values));
        }
        await audit.RecordAsync(req.HttpContext, profile.Id, ReadActions.Scores);
        return Results.Ok(scores);
    }

    [Function("GetCustomerRecommendations")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer)]
    [Tags("Customers")]
    [EndpointSummary("Products to recommend to a customer, each with a score and a reason (popular items for customers with no history).")]
    [QueryParameter("top", typeof(int), "How many products, 1-100 (default 10).")]
    [ProducesResponseType<RecommendationList>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    [ProducesProblem(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> GetCustomerRecommendations(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "customers/{id}/recommendations")] HttpRequest req, string id, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(id))
        {
            return ApiProblems.InvalidId(id);
        }
        if (QueryParameters.Int(req, "top", out var top) is { } typeError)
        {
            return typeError;
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
        await audit.RecordAsync(req.HttpContext, profile.Id, ReadActions.Recommendations);
        return Results.Ok(new RecommendationList(profile.Id, version, scores.Recommendations));
    }
}
