using System.Globalization;
using System.Text.Json.Serialization;

namespace iCrm.Ml.Churn;

/// <summary>Model families the churn trainer chooses between.</summary>
public static class ChurnFamilies
{
    /// <summary>L-BFGS logistic regression on standardised features with L2 regularisation.</summary>
    public const string Logistic = "logistic_regression";

    /// <summary>FastTree gradient-boosted trees.</summary>
    public const string Boosted = "fasttree";
}

/// <summary>One configuration of the hyperparameter search: a model family and its settings.</summary>
public sealed record ChurnCandidate(string Family, float L2 = 0, int Trees = 0, int Leaves = 0, int MinimumExamplesPerLeaf = 0, double LearningRate = 0)
{
    public static ChurnCandidate Logistic(float l2) => new(ChurnFamilies.Logistic, L2: l2);

    public static ChurnCandidate Boosted(int trees, int leaves, int minimumExamplesPerLeaf, double learningRate) =>
        new(ChurnFamilies.Boosted, Trees: trees, Leaves: leaves, MinimumExamplesPerLeaf: minimumExamplesPerLeaf, LearningRate: learningRate);

    [JsonIgnore]
    public bool IsBoosted => Family == ChurnFamilies.Boosted;

    /// <summary>A stable short name, e.g. <c>fasttree(trees=200,leaves=16,minLeaf=20,lr=0.05)</c>.</summary>
    [JsonIgnore]
    public string Key => IsBoosted
        ? string.Create(CultureInfo.InvariantCulture, $"{Family}(trees={Trees},leaves={Leaves},minLeaf={MinimumExamplesPerLeaf},lr={LearningRate})")
        : string.Create(CultureInfo.InvariantCulture, $"{Family}(l2={L2})");

    public string Describe() => IsBoosted
        ? string.Create(CultureInfo.InvariantCulture, $"FastTree gradient-boosted trees ({Trees} trees, {Leaves} leaves, at least {MinimumExamplesPerLeaf} customers per leaf, learning rate {LearningRate})")
        : string.Create(CultureInfo.InvariantCulture, $"L2-regularised logistic regression on standardised features (L2 {L2})");

    public override string ToString() => Key;
}

/// <summary>
/// Platt scaling fitted on out-of-sample scores: P(churn) = 1 / (1 + exp(<see cref="Slope"/> · score + <see cref="Offset"/>)),
/// the form of ML.NET's PlattCalibrator (the slope is negative for a score that grows with churn).
/// </summary>
public sealed record PlattCalibration(double Slope, double Offset)
{
    public double Probability(double score) => 1.0 / (1.0 + Math.Exp(Slope * score + Offset));

    /// <summary>
    /// Fits the two parameters by Newton's method on the log-loss with Platt's smoothed targets
    /// ((positives + 1) / (positives + 2) and 1 / (negatives + 2)), which keeps a separable sample from diverging.
    /// </summary>
    public static PlattCalibration Fit(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var n = scores.Count;
        var positives = labels.Count(l => l);
        var negatives = n - positives;
        var hi = (positives + 1.0) / (positives + 2.0);
        var lo = 1.0 / (negatives + 2.0);
        // Fit P = σ(a·s + b); the stored form is slope = −a, offset = −b.
        double a = 0, b = Math.Log((positives + 1.0) / (negatives + 1.0));
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double g0 = 0, g1 = 0, h00 = 1e-12, h01 = 0, h11 = 1e-12;
            for (var i = 0; i < n; i++)
            {
                var t = labels[i] ? hi : lo;
                var p = 1.0 / (1.0 + Math.Exp(-(a * scores[i] + b)));
                var d = p - t;
                var w = p * (1 - p);
                g0 += d * scores[i];
                g1 += d;
                h00 += w * scores[i] * scores[i];
                h01 += w * scores[i];
                h11 += w;
            }

            var det = h00 * h11 - h01 * h01;
            if (Math.Abs(det) < 1e-18)
            {
                break;
            }

            var da = (h11 * g0 - h01 * g1) / det;
            var db = (h00 * g1 - h01 * g0) / det;
            a -= da;
            b -= db;
            if (Math.Abs(da) + Math.Abs(db) < 1e-10)
            {
                break;
            }
        }

        return new PlattCalibration(-a, -b);
    }
}
