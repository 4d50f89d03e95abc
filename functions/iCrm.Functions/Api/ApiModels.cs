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
public sealed record SegmentsResponse(string Version, DateTimeOffset PromotedAt, JsonNode? RfmSummaries, JsonNode? ClusterSummaries, JsonObject? Details,
    IReadOnlyDictionary<string, string>? Descriptions = null, RfmGrid? RfmGrid = null);

/// <summary>The recency × frequency grid of the last completed write-back (reduced over its slices): one cell per pair of
/// scores somebody has, recency 5 = most recent, frequency 5 = most frequent.</summary>
/// <param name="AsOf">The cutoff the run scored at.</param>
/// <param name="Customers">Customers with an RFM score (in some cell).</param>
public sealed record RfmGrid(string RunId, DateTimeOffset? AsOf, DateTimeOffset CompletedAt, long Customers, IReadOnlyList<RfmGridCell> Cells)
{
    public static RfmGrid From(iCrm.Ml.Scoring.ScoringSummary summary)
    {
        var cells = new List<RfmGridCell>();
        foreach (var (key, tally) in summary.Totals.RfGrid)
        {
            if (iCrm.Ml.Scoring.ScoringTally.TryParseRfCell(key, out var r, out var f) && tally.Customers > 0)
            {
                cells.Add(new RfmGridCell(r, f, tally.Customers, Math.Round(tally.Value / tally.Customers, 2), tally.ChurnRate, SegmentsOf(r, f)));
            }
        }
        cells.Sort((a, b) => a.Recency != b.Recency ? b.Recency.CompareTo(a.Recency) : a.Frequency.CompareTo(b.Frequency));
        return new RfmGrid(summary.RunId, summary.AsOf, summary.CompletedAt, cells.Sum(c => c.Customers), cells);
    }

    /// <summary>The named segments customers of cell (r, f) can be in: the map is R × FM with FM = (F + M) / 2 rounded up,
    /// so the monetary score M (1-5) picks one of these.</summary>
    public static IReadOnlyList<string> SegmentsOf(int recency, int frequency) =>
        [.. Enumerable.Range(1, 5).Select(m => iCrm.Ml.Segments.RfmModel.SegmentFor(recency, (frequency + m + 1) / 2)).Distinct()];
}

/// <param name="AverageValue">Mean predicted 12-month value (CLV; 0 for customers without one).</param>
/// <param name="ChurnRate">Mean churn probability of the cell's customers that have one; null when none has.</param>
/// <param name="Segments">The RFM segments the cell's customers can be in (depends on their monetary score).</param>
public sealed record RfmGridCell(int Recency, int Frequency, long Customers, double AverageValue, double? ChurnRate, IReadOnlyList<string> Segments);

public sealed record ModelKindStatus(string Kind, ChampionPointer? Champion);

public sealed record ModelList(IReadOnlyList<ModelKindStatus> Items);

public sealed record ModelDetails(string Kind, ChampionPointer? Champion, ModelCard? Card, IReadOnlyList<string> Versions);

public sealed record TrainingStarted(string RunId, string Status, string StatusUrl);

public sealed record HealthReport(string Status, IReadOnlyDictionary<string, string> Checks);
