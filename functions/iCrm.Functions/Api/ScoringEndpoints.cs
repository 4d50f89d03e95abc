using iCrm.Ml.Scoring;
using iCrm.Ml.Sentiment;

namespace iCrm.Functions.Api;

public static class ScoringEndpoints
{
    private const int BatchParallelism = 16;

    public static RouteGroupBuilder MapScoringEndpoints(this RouteGroupBuilder api)
    {
        var scores = api.MapGroup("").WithTags("Scores");

        // A literal colon is fine in ASP.NET Core and Functions route templates (it only means a constraint inside {...}).
        scores.MapPost("/scores:batch", async (HttpRequest http, CustomerLookup lookup, ICustomerScoring scoring, TimeProvider time, CancellationToken ct) =>
        {
            var (request, problem) = await JsonBody.ReadAsync<BatchScoreRequest>(http);
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
            var succeeded = items.Count(i => i.Status == StatusCodes.Status200OK);
            return Results.Ok(new BatchScoreResponse(items, succeeded, items.Length - succeeded));
        }).WithName("ScoreBatch")
            .WithSummary($"Scores up to {RequestLimits.MaxBatchIds:N0} stored customers at once; each id gets its scores or its own error.")
            .WithDescription("Per-id `status` is 200 (scores), 400 (malformed id), 404 (unknown customer) or 503 (no champion). " +
                "The request itself answers 503 only when no id could be scored because no model is trained.")
            .Accepts<BatchScoreRequest>("application/json")
            .Produces<BatchScoreResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        scores.MapPost("/score", async (HttpRequest http, bool? recommendations, int? top, ICustomerScoring scoring, TimeProvider time, CancellationToken ct) =>
        {
            var count = top ?? 10;
            if (count is < RequestLimits.MinTop or > RequestLimits.MaxTop)
            {
                return ApiProblems.BadRequest($"top must be between {RequestLimits.MinTop} and {RequestLimits.MaxTop}.");
            }
            var (document, problem) = await JsonBody.ReadAsync<WhatIfProfile>(http);
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
        }).WithName("ScoreProfile")
            .WithSummary("What-if scoring: scores for a supplied profile-shaped document; nothing is read or stored.")
            .WithDescription($"The body has the shape of a profile's history and attributes. Limits: body ≤ {RequestLimits.MaxBodyBytes:N0} bytes; " +
                $"≤ {WhatIfProfile.MaxOrders:N0} orders, ≤ {WhatIfProfile.MaxEvents:N0} recent events, ≤ {WhatIfProfile.MaxFeedback} feedback items, " +
                $"≤ {WhatIfProfile.MaxSubscriptions} subscriptions, ≤ {WhatIfProfile.MaxAttributes} attributes; dates between 1970-01-01 and `asOf` " +
                $"(default now); amounts within ±{WhatIfProfile.MaxAmount:N0}; ratings 1-5. `?recommendations=true&top=10` adds recommendations.")
            .Accepts<WhatIfProfile>("application/json")
            .Produces<CustomerScores>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        scores.MapPost("/sentiment", async (HttpRequest http, IServiceProvider services, CancellationToken ct) =>
        {
            var (request, problem) = await JsonBody.ReadAsync<SentimentRequest>(http);
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
            var provider = services.GetService<ISentimentProvider>();
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
        }).WithName("ScoreSentiment")
            .WithSummary("Sentiment of texts with the configured provider (local model or Azure AI Language).")
            .WithDescription($"1-{RequestLimits.MaxSentimentTexts} texts of 1-{RequestLimits.MaxSentimentTextLength:N0} characters. `score` is P(positive) in [0, 1]. " +
                "503 when no provider is configured or it is not ready.")
            .Accepts<SentimentRequest>("application/json")
            .Produces<SentimentResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return api;
    }

    private static string ProviderName(ISentimentProvider provider) =>
        provider is LocalSentimentProvider ? "local" : provider.GetType().Name.Replace("SentimentProvider", "", StringComparison.Ordinal).ToLowerInvariant() is { Length: > 0 } n ? n : "custom";
}
