using iCrm.Ml.Scoring;
using iCrm.Ml.Sentiment;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>Scoring on demand: many stored customers at once, a what-if document, and texts for sentiment.</summary>
public sealed class Scores(CustomerLookup lookup, ICustomerScoring scoring, ReadAudit audit, TimeProvider time)
{
    private const int BatchParallelism = 16;

    public static string BatchDescription { get; } =
        $"Up to {RequestLimits.MaxBatchIds:N0} ids. Per-id `status` is 200 (scores), 400 (malformed id), 404 (unknown customer) or 503 (no champion). " +
        "The request itself answers 503 only when no id could be scored because no model is trained.";

    public static string WhatIfDescription { get; } =
        $"The body has the shape of a profile's history and attributes. Limits: body ≤ {RequestLimits.MaxBodyBytes:N0} bytes; " +
        $"≤ {WhatIfProfile.MaxOrders:N0} orders, ≤ {WhatIfProfile.MaxEvents:N0} recent events, ≤ {WhatIfProfile.MaxFeedback} feedback items, " +
        $"≤ {WhatIfProfile.MaxSubscriptions} subscriptions, ≤ {WhatIfProfile.MaxAttributes} attributes; dates between 1970-01-01 and `asOf` " +
        $"(default now); amounts within ±{WhatIfProfile.MaxAmount:N0}; ratings 1-5. `?recommendations=true&top=10` adds recommendations.";

    public static string SentimentDescription { get; } =
        $"1-{RequestLimits.MaxSentimentTexts} texts of 1-{RequestLimits.MaxSentimentTextLength:N0} characters. `score` is P(positive) in [0, 1]. " +
        "503 when no provider is configured or it is not ready.";

    // A literal colon is fine in ASP.NET Core and Functions route templates (it only means a constraint inside {...}).
    [Function("ScoreBatch")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer)]
    [Tags("Scores")]
    [EndpointSummary("Scores many stored customers at once; each id gets its scores or its own error.")]
    [DescriptionFrom(typeof(Scores), nameof(BatchDescription))]
    [Consumes(typeof(BatchScoreRequest), "application/json")]
    [ProducesResponseType<BatchScoreResponse>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status413PayloadTooLarge)]
    [ProducesProblem(StatusCodes.Status415UnsupportedMediaType)]
    [ProducesProblem(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> ScoreBatch(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "scores:batch")] HttpRequest req, CancellationToken ct)
    {
        var (request, problem) = await JsonBody.ReadAsync<BatchScoreRequest>(req);
        if (problem is not null)
        {
            return problem;
        }
        var ids = request!.Ids;
        if (ids is null || ids.Count == 0)
        {
            return ApiProblems.BadRequest("ids must hold at least one customer id.");
        }
        if (ids.Count > RequestLimits.MaxBatchIds)
        {
            return ApiProblems.BadRequest($"ids may hold at most {RequestLimits.MaxBatchIds:N0} customer ids; this request has {ids.Count:N0}.");
        }
        if (request.Top is < RequestLimits.MinTop or > RequestLimits.MaxTop)
        {
            return ApiProblems.BadRequest($"top must be between {RequestLimits.MinTop} and {RequestLimits.MaxTop}.");
        }
        var asOf = time.GetUtcNow();
        var options = new ScoreRequest(request.Recommendations, request.Top);
        var items = new BatchScoreItem[ids.Count];
        await Parallel.ForAsync(0, ids.Count, new ParallelOptions { MaxDegreeOfParallelism = BatchParallelism, CancellationToken = ct }, async (i, token) =>
        {
            var id = ids[i] ?? "";
            if (!CustomerLookup.IsValidId(id))
            {
                items[i] = new BatchScoreItem(id, StatusCodes.Status400BadRequest, Error: "Not a valid id: use 1-64 letters, digits, '-' or '_'.");
                return;
            }
            var (profile, _) = await lookup.FindAsync(id, token);
            if (profile is null)
            {
                items[i] = new BatchScoreItem(id, StatusCodes.Status404NotFound, Error: "No customer with this id.");
                return;
            }
            var result = await scoring.ScoreAsync(profile, asOf, options, token);
            items[i] = result.ModelVersions.Count == 0
                ? new BatchScoreItem(id, StatusCodes.Status503ServiceUnavailable, Error: string.Join(" ", result.Unavailable.Values))
                : new BatchScoreItem(id, StatusCodes.Status200OK, result);
        });
        if (items.All(i => i.Status == StatusCodes.Status503ServiceUnavailable))
        {
            return ApiProblems.Unavailable(items[0].Error ?? "No model has been trained yet.");
        }
        await audit.RecordAsync(req.HttpContext, items.Where(i => i.Status == StatusCodes.Status200OK).Select(i => i.Scores!.CustomerId), ReadActions.BatchScores);
        var succeeded = items.Count(i => i.Status == StatusCodes.Status200OK);
        return Results.Ok(new BatchScoreResponse(items, succeeded, items.Length - succeeded));
    }

    [Function("ScoreProfile")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Admin)]
    [Tags("Scores")]
    [EndpointSummary("What-if scoring: scores for a supplied profile-shaped document; nothing is read or stored.")]
    [DescriptionFrom(typeof(Scores), nameof(WhatIfDescription))]
    [QueryParameter("recommendations", typeof(bool), "Add recommendations (default false).")]
    [QueryParameter("top", typeof(int), "How many recommendations, 1-100 (default 10).")]
    [Consumes(typeof(WhatIfProfile), "application/json")]
    [ProducesResponseType<CustomerScores>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status413PayloadTooLarge)]
    [ProducesProblem(StatusCodes.Status415UnsupportedMediaType)]
    [ProducesProblem(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> ScoreProfile(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "score")] HttpRequest req, CancellationToken ct)
    {
        var recommendationsType = QueryParameters.Bool(req, "recommendations", out var recommendations);
        var topType = QueryParameters.Int(req, "top", out var top);
        if ((recommendationsType ?? topType) is { } typeError)
        {
            return typeError;
        }
        var count = top ?? 10;
        if (count is < RequestLimits.MinTop or > RequestLimits.MaxTop)
        {
            return ApiProblems.BadRequest($"top must be between {RequestLimits.MinTop} and {RequestLimits.MaxTop}.");
        }
        var (document, problem) = await JsonBody.ReadAsync<WhatIfProfile>(req);
        if (problem is not null)
        {
            return problem;
        }
        var now = time.GetUtcNow();
        var errors = document!.Validate(now);
        if (errors.Count > 0)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid request",
                detail: string.Join(" ", errors.Take(20)), extensions: new Dictionary<string, object?> { ["errors"] = errors.Take(100).ToList() });
        }
        var result = await scoring.ScoreAsync(document.ToProfile(now), document.AsOf ?? now, new ScoreRequest(recommendations ?? false, count), ct);
        return result.ModelVersions.Count == 0
            ? ApiProblems.Unavailable(string.Join(" ", result.Unavailable.Values))
            : Results.Ok(result);
    }

    [Function("ScoreSentiment")]
    [RequiresRole(ApiRole.Reader, ApiRole.Marketer, ApiRole.Admin)]
    [Tags("Scores")]
    [EndpointSummary("Sentiment of texts with the configured provider (local model or Azure AI Language).")]
    [DescriptionFrom(typeof(Scores), nameof(SentimentDescription))]
    [Consumes(typeof(SentimentRequest), "application/json")]
    [ProducesResponseType<SentimentResponse>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status413PayloadTooLarge)]
    [ProducesProblem(StatusCodes.Status415UnsupportedMediaType)]
    [ProducesProblem(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> ScoreSentiment(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sentiment")] HttpRequest req, CancellationToken ct)
    {
        var (request, problem) = await JsonBody.ReadAsync<SentimentRequest>(req);
        if (problem is not null)
        {
            return problem;
        }
        var texts = request!.Texts;
        if (texts is null || texts.Count == 0)
        {
            return ApiProblems.BadRequest("texts must hold at least one text.");
        }
        if (texts.Count > RequestLimits.MaxSentimentTexts)
        {
            return ApiProblems.BadRequest($"texts may hold at most {RequestLimits.MaxSentimentTexts} texts.");
        }
        for (var i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(texts[i]) || texts[i]!.Length > RequestLimits.MaxSentimentTextLength)
            {
                return ApiProblems.BadRequest($"texts[{i}] must be 1-{RequestLimits.MaxSentimentTextLength:N0} characters.");
            }
        }
        var provider = req.HttpContext.RequestServices.GetService<ISentimentProvider>();
        if (provider is null)
        {
            return ApiProblems.Unavailable("No sentiment provider is configured: set Sentiment__Provider to 'local' or 'azure'.");
        }
        if (!provider.IsEnabled)
        {
            return ApiProblems.Unavailable($"The sentiment provider ({ProviderName(provider)}) is not ready: no sentiment model has been trained yet, or the Azure AI Language endpoint is not configured.");
        }
        try
        {
            var results = await provider.ScoreAsync([.. texts.Select(t => t!)], ct);
            return Results.Ok(new SentimentResponse(ProviderName(provider), results));
        }
        catch (SentimentUnavailableException e)
        {
            return ApiProblems.Unavailable(e.Message);
        }
    }

    private static string ProviderName(ISentimentProvider provider) =>
        provider is LocalSentimentProvider ? "local" : provider.GetType().Name.Replace("SentimentProvider", "", StringComparison.Ordinal).ToLowerInvariant() is { Length: > 0 } n ? n : "custom";
}
