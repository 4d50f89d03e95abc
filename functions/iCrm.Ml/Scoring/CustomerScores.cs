using iCrm.Core.Profiles;

namespace iCrm.Ml.Scoring;

/// <summary>Everything the champions say about one customer, with the model versions that said it.</summary>
public sealed record CustomerScores(
    string CustomerId,
    DateTimeOffset AsOf,
    ChurnScore? Churn,
    LifetimeValueScore? LifetimeValue,
    SegmentScore? Segment,
    SentimentTrend? Sentiment,
    IReadOnlyList<Recommendation>? Recommendations,
    IReadOnlyDictionary<string, string> ModelVersions,
    IReadOnlyDictionary<string, string> Unavailable);

/// <summary>Churn probability, its band (low / medium / high), and the factors that pushed it up or down.</summary>
public sealed record ChurnScore(double Probability, string Band, IReadOnlyList<Factor> TopFactors);

/// <summary>BG/NBD + Gamma–Gamma: expected purchases in the next 12 months, probability the customer is still active,
/// and the discounted 12-month value.</summary>
/// <param name="AsOf">The date the value is computed as of: the requested date, or the end of the model's data when the
/// customer has bought nothing since (a historical export is scored at its end, not aged to today).</param>
public sealed record LifetimeValueScore(double ExpectedPurchases12Months, double ProbabilityAlive, double Value12Months, string Currency, DateTimeOffset? AsOf = null);

/// <summary>RFM segment (fixed names) and behavioural cluster (described in plain words).</summary>
public sealed record SegmentScore(string RfmSegment, int Recency, int Frequency, int Monetary, string? Cluster, string? ClusterDescription);

/// <summary>Average sentiment of recent feedback (0 negative … 1 positive), earlier vs later, and its direction.</summary>
public sealed record SentimentTrend(double? Recent, double? Earlier, string Direction, int Items);

public sealed record Recommendation(string ProductId, double Score, string Reason);

/// <summary>Which parts of <see cref="CustomerScores"/> to compute.</summary>
public sealed record ScoreRequest(bool Recommendations = false, int Top = 10);

/// <summary>Scores a profile live from the current champions (never from the write-back), so the API does not depend on
/// the last training run having written its predictions.</summary>
public interface ICustomerScoring
{
    Task<CustomerScores> ScoreAsync(CustomerProfile profile, DateTimeOffset asOf, ScoreRequest request, CancellationToken cancellationToken = default);
}
