using System.Text.Json.Serialization;

namespace iCrm.Ml.Sentiment;

[JsonConverter(typeof(JsonStringEnumConverter<SentimentLabel>))]
public enum SentimentLabel
{
    Negative,
    Neutral,
    Positive,
}

/// <summary>
/// Sentiment of one text. <see cref="Score"/> is P(positive) in [0, 1] (0.5 = no lean either way), the value stored on
/// feedback and read by the churn features; <see cref="Label"/> is derived from it with fixed cut-offs.
/// </summary>
public sealed record SentimentResult(double Score, SentimentLabel Label)
{
    public const double PositiveFrom = 0.6;
    public const double NegativeBelow = 0.4;

    public static SentimentResult FromScore(double score)
    {
        score = Math.Clamp(score, 0, 1);
        var label = score >= PositiveFrom ? SentimentLabel.Positive : score < NegativeBelow ? SentimentLabel.Negative : SentimentLabel.Neutral;
        return new SentimentResult(score, label);
    }
}

/// <summary>
/// Scores feedback texts. Implementations: the local ML.NET model trained on the tenant's own rated feedback
/// (<see cref="LocalSentimentProvider"/>) and Azure AI Language (iCrm.Azure), chosen by <c>Sentiment__Provider</c>.
/// </summary>
public interface ISentimentProvider
{
    /// <summary>False when the provider cannot score (no model trained yet, or not configured); callers then skip sentiment.</summary>
    bool IsEnabled { get; }

    /// <summary>One result per text, in the same order.</summary>
    Task<IReadOnlyList<SentimentResult>> ScoreAsync(IReadOnlyList<string> texts, CancellationToken ct);
}
