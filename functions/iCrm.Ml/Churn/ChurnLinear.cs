namespace iCrm.Ml.Churn;

/// <summary>What the churn scorer needs of a fitted model: a raw score (higher = more likely to churn), and the same
/// score split into per-feature contributions relative to the average training customer.</summary>
public interface IChurnFunction
{
    int FeatureCount { get; }

    double RawScore(ReadOnlySpan<float> x);

    /// <summary>Raw score, with per-feature contributions (raw-score units) written into <paramref name="contributions"/>.</summary>
    double ScoreWithContributions(ReadOnlySpan<float> x, Span<double> contributions);
}

/// <summary>
/// A logistic regression flattened for scoring: raw score = bias + Σ wᵢ · (xᵢ − meanᵢ) / scaleᵢ, with the means and
/// scales of the training rows. A feature's contribution is its term: how far this customer's value moves the score
/// from the average customer's.
/// </summary>
public sealed class ChurnLinear : IChurnFunction
{
    public ChurnLinear(float[] weights, float bias, float[] means, float[] scales)
    {
        if (weights.Length != means.Length || weights.Length != scales.Length)
        {
            throw new ArgumentException("Weights, means and scales must have one entry per feature.");
        }

        Weights = weights;
        Bias = bias;
        Means = means;
        Scales = scales;
    }

    public float[] Weights { get; }

    public float Bias { get; }

    public float[] Means { get; }

    /// <summary>Standard deviations of the training rows (1 for a constant feature).</summary>
    public float[] Scales { get; }

    public int FeatureCount => Weights.Length;

    /// <summary>Means and standard deviations of <paramref name="rows"/> (a constant column gets scale 1).</summary>
    public static (float[] Means, float[] Scales) Standardisation(IReadOnlyList<float[]> rows, int featureCount)
    {
        var mean = new double[featureCount];
        var square = new double[featureCount];
        foreach (var row in rows)
        {
            for (var f = 0; f < featureCount; f++)
            {
                mean[f] += row[f];
                square[f] += (double)row[f] * row[f];
            }
        }

        var means = new float[featureCount];
        var scales = new float[featureCount];
        var n = Math.Max(1, rows.Count);
        for (var f = 0; f < featureCount; f++)
        {
            var m = mean[f] / n;
            var sd = Math.Sqrt(Math.Max(0, square[f] / n - m * m));
            means[f] = (float)m;
            scales[f] = sd > 1e-9 ? (float)sd : 1f;
        }

        return (means, scales);
    }

    /// <summary>A row in the standardised space the weights were fitted in.</summary>
    public float[] Standardise(ReadOnlySpan<float> x)
    {
        var z = new float[x.Length];
        for (var f = 0; f < x.Length; f++)
        {
            z[f] = (x[f] - Means[f]) / Scales[f];
        }

        return z;
    }

    public double RawScore(ReadOnlySpan<float> x)
    {
        double score = Bias;
        for (var f = 0; f < Weights.Length; f++)
        {
            score += Weights[f] * ((x[f] - Means[f]) / Scales[f]);
        }

        return score;
    }

    public double ScoreWithContributions(ReadOnlySpan<float> x, Span<double> contributions)
    {
        double score = Bias;
        for (var f = 0; f < Weights.Length; f++)
        {
            var term = Weights[f] * ((x[f] - Means[f]) / Scales[f]);
            contributions[f] = term;
            score += term;
        }

        return score;
    }
}
