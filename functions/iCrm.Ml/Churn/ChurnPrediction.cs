using System.Text.Json.Serialization;
using iCrm.Core.Profiles;

namespace iCrm.Ml.Churn;

[JsonConverter(typeof(JsonStringEnumConverter<ChurnBand>))]
public enum ChurnBand
{
    Low,
    Medium,
    High,
}

public static class ChurnBandLabels
{
    /// <summary>The band as the API and the write-back spell it ("low", "medium", "high"), without formatting the enum
    /// on every request.</summary>
    public static string Label(this ChurnBand band) => band switch
    {
        ChurnBand.Low => "low",
        ChurnBand.Medium => "medium",
        ChurnBand.High => "high",
        _ => band.ToString().ToLowerInvariant(),
    };
}

/// <summary>Probability thresholds for the risk bands: below <see cref="Medium"/> is low, from <see cref="High"/> up is high.</summary>
public sealed record ChurnBands(double Medium = 0.3, double High = 0.6)
{
    public ChurnBand Of(double probability) =>
        probability >= High ? ChurnBand.High : probability >= Medium ? ChurnBand.Medium : ChurnBand.Low;
}

/// <summary>
/// One customer's churn risk. <see cref="TopFactors"/> are ordered by |contribution|; a contribution is in log-odds of
/// churn relative to the average customer (positive raises the risk, negative lowers it).
/// </summary>
public sealed record ChurnPrediction(double Probability, ChurnBand Band, IReadOnlyList<Factor> TopFactors);

/// <summary>Global importance: how much the holdout ROC-AUC drops when the feature's values are shuffled.</summary>
public sealed record FeatureImportance(string Feature, string Label, double AucDrop);
