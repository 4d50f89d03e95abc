using System.Text.Json.Nodes;
using iCrm.Core.Ingestion;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Sentiment;

namespace iCrm.Functions.Api;

/// <summary>A page of a listing; <c>continuationToken</c> is null on the last page. <c>scanned</c>: profiles the store read for
/// this page (lists run as indexed queries, so it is the page's size). The <c>excluded...</c> counts are given on the first
/// page only: customers left out for lack of consent to the marketing channel, and for withdrawn consent to profiling.</summary>
public sealed record CustomerPage(IReadOnlyList<CustomerView> Items, string? ContinuationToken, int Scanned,
    long? ExcludedWithoutConsent = null, long? ExcludedWithoutProfilingConsent = null);

public sealed record IngestionPage(IReadOnlyList<IngestionReport> Items, string? ContinuationToken);

public sealed record RecommendationList(string CustomerId, string ModelVersion, IReadOnlyList<Recommendation> Items);

/// <summary>Body of <c>POST /api/scores:batch</c>.</summary>
public sealed record BatchScoreRequest(List<string>? Ids, bool Recommendations = false, int Top = 10);

/// <summary>One id's outcome in a batch: its scores, or the status and reason it has none.</summary>
public sealed record BatchScoreItem(string Id, int Status, CustomerScores? Scores = null, string? Error = null);

public sealed record BatchScoreResponse(IReadOnlyList<BatchScoreItem> Items, int Succeeded, int Failed);

/// <summary>Body of <c>POST /api/sentiment</c>.</summary>
public sealed record SentimentRequest(List<string?>? Texts);

public sealed record SentimentResponse(string Provider, IReadOnlyList<SentimentResult> Items);

/// <summary>Segment summaries as the last training run stored them with the segments champion.</summary>
public sealed record SegmentsResponse(string Version, DateTimeOffset PromotedAt, JsonNode? RfmSummaries, JsonNode? ClusterSummaries, JsonObject? Details);

public sealed record ModelKindStatus(string Kind, ChampionPointer? Champion);

public sealed record ModelList(IReadOnlyList<ModelKindStatus> Items);

public sealed record ModelDetails(string Kind, ChampionPointer? Champion, ModelCard? Card, IReadOnlyList<string> Versions);

public sealed record TrainingStarted(string RunId, string Status, string StatusUrl);

public sealed record HealthReport(string Status, IReadOnlyDictionary<string, string> Checks);
