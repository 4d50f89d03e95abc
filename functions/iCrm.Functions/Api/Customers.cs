using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using iCrm.Ml.Segments;
using iCrm.Ml.Scoring;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>Customer profiles: listing for action, lookup by id or source id, live scores and recommendations.</summary>
public sealed class Customers(CustomerLookup lookup, CustomerQuery query, ICustomerScoring scoring, ReadAudit audit, TimeProvider time)
{
    public static string ListDescription { get; } =
        "Filters and sorts run as indexed queries in the customer store, so a page costs the same whatever the number of " +
        "customers. Filters combine (AND): `segment` (an RFM segment name, any case, or a behavioural cluster as `3` or as the " +
        "segment summaries name it, `3: ...`), `minChurn`/`maxChurn`, `minClv`, `consent` (only customers whose consent for " +
        "that channel is true), `source` (customers with an identity from that source). `sort=churn|clv` lists only customers " +
        "with that prediction, highest first. Lists built from model output (a segment or score filter, or a score sort) leave " +
        "out customers who withdrew consent to profiling, and the first page says how many in `excludedWithoutProfilingConsent`. " +
        "`purpose=marketing` with `channel=email|sms|phone` keeps only customers who consented to that channel, and the first page " +
        "says how many were left out in `excludedWithoutConsent`. " +
        $"`pageSize` is {RequestLimits.MinPageSize}-{RequestLimits.MaxPageSize} (default {RequestLimits.DefaultPageSize}). " +
        "Pass the returned token with the same parameters to get the next page; a null token means the end.";

    private static readonly Dictionary<string, string> SegmentNames =
        RfmModel.SegmentNames.Append(SegmentsKind.ProspectSegment).ToDictionary(n => n, StringComparer.OrdinalIgnoreCase);

    [Function("ListCustomers")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer)]
    [Tags("Customers")]
    [EndpointSummary("Lists customer profiles, filtered and sorted by the predictions written back by the last training run.")]
    [DescriptionFrom(typeof(Customers), nameof(ListDescription))]
    [QueryParameter("segment", typeof(string), "Only customers in this RFM segment (any case) or behavioural cluster (`3` or `3: description`), 1-64 characters.")]
    [QueryParameter("recency", typeof(int), "Only customers with this RFM recency score, 1-5 (5 = bought most recently): a row of the RFM grid of `GET /api/segments`.")]
    [QueryParameter("frequency", typeof(int), "Only customers with this RFM frequency score, 1-5 (5 = most orders): with `recency`, one cell of the RFM grid.")]
    [QueryParameter("minChurn", typeof(double), "Only customers whose churn probability is at least this (0-1).")]
    [QueryParameter("maxChurn", typeof(double), "Only customers whose churn probability is at most this (0-1).")]
    [QueryParameter("minClv", typeof(double), "Only customers whose 12-month value is at least this.")]
    [QueryParameter("consent", typeof(string), "`email`, `sms` or `phone`: only customers whose consent for that channel is true.")]
    [QueryParameter("source", typeof(string), "Only customers with an identity from this source system (e.g. `web`).")]
    [QueryParameter("purpose", typeof(string), "`marketing`: a list to contact people on `channel`; leaves out (and counts) customers without consent for it.")]
    [QueryParameter("channel", typeof(string), "With `purpose=marketing`: `email`, `sms` or `phone`.")]
    [QueryParameter("sort", typeof(string), "`churn` (highest risk first) or `clv` (highest value first); only customers with that prediction.")]
    [QueryParameter("pageSize", typeof(int), "Items per page, 1-500 (default 50).")]
    [QueryParameter("continuationToken", typeof(string), "The token of the previous page.")]
    [ProducesResponseType<CustomerPage>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    public async Task<IResult> ListCustomers(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "customers")] HttpRequest req, CancellationToken ct)
    {
        var sizeType = QueryParameters.Int(req, "pageSize", out var pageSize);
        var churnType = QueryParameters.Double(req, "minChurn", out var minChurn);
        var maxChurnType = QueryParameters.Double(req, "maxChurn", out var maxChurn);
        var clvType = QueryParameters.Double(req, "minClv", out var minClv);
        var recencyType = QueryParameters.Int(req, "recency", out var recency);
        var frequencyType = QueryParameters.Int(req, "frequency", out var frequency);
        if ((sizeType ?? churnType ?? maxChurnType ?? clvType ?? recencyType ?? frequencyType) is { } typeError)
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
        if (maxChurn is < 0 or > 1 || maxChurn is double.NaN)
        {
            return ApiProblems.BadRequest("maxChurn is a probability between 0 and 1.");
        }
        if (minChurn > maxChurn)
        {
            return ApiProblems.BadRequest("minChurn must not be greater than maxChurn.");
        }
        if (minClv is < 0 || minClv is double.NaN || minClv is double.PositiveInfinity)
        {
            return ApiProblems.BadRequest("minClv must be 0 or more.");
        }
        if (recency is < 1 or > 5)
        {
            return ApiProblems.BadRequest("recency is an RFM score between 1 and 5.");
        }
        if (frequency is < 1 or > 5)
        {
            return ApiProblems.BadRequest("frequency is an RFM score between 1 and 5.");
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
        if (ReadChannel(req, "consent", out var consent) is { } consentError)
        {
            return consentError;
        }
        var source = QueryParameters.String(req, "source");
        if (source is not null && !CustomerLookup.IsValidId(source))
        {
            return ApiProblems.BadRequest("source must be 1-64 letters, digits, '-' or '_'.");
        }
        if (ReadChannel(req, "channel", out var channel) is { } channelError)
        {
            return channelError;
        }
        ConsentChannel? marketingChannel = null;
        switch (QueryParameters.String(req, "purpose")?.ToLowerInvariant())
        {
            case null or "":
                if (channel is not null)
                {
                    return ApiProblems.BadRequest("channel is only used with purpose=marketing; to filter on consent use consent=email|sms|phone.");
                }
                break;
            case "marketing":
                if (channel is null)
                {
                    return ApiProblems.BadRequest("purpose=marketing needs channel=email|sms|phone: the channel whose consent the list must respect.");
                }
                if (consent is not null && consent != channel)
                {
                    return ApiProblems.BadRequest("consent and channel name different channels; a marketing list respects the consent of its channel.");
                }
                marketingChannel = channel;
                break;
            default:
                return ApiProblems.BadRequest("purpose must be 'marketing' (or absent).");
        }
        if (continuationToken is { Length: > 4096 })
        {
            return ApiProblems.BadRequest("continuationToken is too long.");
        }
        var (segmentName, cluster) = ReadSegment(segment);
        var request = new CustomerListQuery(segmentName, cluster, minChurn, maxChurn, minClv, consent, Source: source?.ToLowerInvariant(), Sort: order,
            Recency: recency, Frequency: frequency);
        try
        {
            var result = await query.ListAsync(request, marketingChannel, size, continuationToken is { Length: > 0 } ? continuationToken : null, ct);
            var caller = ApiCaller.Of(req.HttpContext);
            await audit.RecordAsync(req.HttpContext, result.Items.Select(p => p.Id), ReadActions.List);
            return Results.Ok(new CustomerPage([.. result.Items.Select(p => CustomerView.For(p, caller))], result.ContinuationToken, result.Items.Count,
                result.ExcludedWithoutConsent, result.ExcludedWithoutProfilingConsent));
        }
        catch (InvalidTokenException e)
        {
            return ApiProblems.BadRequest(e.Message);
        }
    }

    private static IResult? ReadChannel(HttpRequest req, string name, out ConsentChannel? channel)
    {
        channel = null;
        switch (QueryParameters.String(req, name)?.ToLowerInvariant())
        {
            case null or "": return null;
            case "email": channel = ConsentChannel.Email; return null;
            case "sms": channel = ConsentChannel.Sms; return null;
            case "phone": channel = ConsentChannel.Phone; return null;
            default: return ApiProblems.BadRequest($"{name} must be 'email', 'sms' or 'phone'.");
        }
    }

    /// <summary>An RFM segment name in its stored spelling, or a cluster number (<c>3</c>, or <c>3: ...</c> as the segment
    /// summaries name clusters); anything else is compared as given (and finds nobody).</summary>
    private static (string? Segment, int? Cluster) ReadSegment(string? segment)
    {
        if (segment is null)
        {
            return (null, null);
        }
        if (SegmentNames.TryGetValue(segment.Trim(), out var name))
        {
            return (name, null);
        }
        var colon = segment.IndexOf(':', StringComparison.Ordinal);
        var number = colon < 0 ? segment : segment[..colon];
        return int.TryParse(number.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k)
            ? (null, k)
            : (segment, null);
    }

    [Function("GetCustomer")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Privacy)]
    [Tags("Customers")]
    [EndpointSummary("The 360° profile of a customer.")]
    [EndpointDescription("A merged-away id answers 200 with the surviving profile and a `Content-Location` header naming it. " +
        "`timeline` lists the latest 50 orders, events and feedback items (with sentiment score and label), newest first; feedback text " +
        "only for callers who see full contact details.")]
    [ProducesResponseType<CustomerView>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetCustomer(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "customers/{id}")] HttpRequest req, string id, CancellationToken ct)
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
        var caller = ApiCaller.Of(req.HttpContext);
        return Results.Ok(CustomerView.For(profile, caller).WithTimeline(profile, caller));
    }

    [Function("GetCustomerBySource")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Privacy)]
    [Tags("Customers")]
    [EndpointSummary("Finds a profile by a source system's own customer id.")]
    [ProducesResponseType<CustomerView>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetCustomerBySource(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "customers/by-source/{source}/{sourceId}")] HttpRequest req,
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
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "customers/{id}/scores")] HttpRequest req, string id, CancellationToken ct)
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
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "customers/{id}/recommendations")] HttpRequest req, string id, CancellationToken ct)
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
