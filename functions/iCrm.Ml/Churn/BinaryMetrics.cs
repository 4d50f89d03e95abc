using System.Text.Json.Serialization;

namespace iCrm.Ml.Churn;

/// <summary>Holdout quality of probabilistic churn predictions.</summary>
/// <param name="RocAuc">Probability that a random churner is ranked above a random non-churner (0.5 = no skill).</param>
/// <param name="PrAuc">Average precision (area under the precision–recall curve); the base rate = no skill.</param>
/// <param name="Brier">Mean squared error of the probabilities (lower is better).</param>
/// <param name="LogLoss">Mean negative log-likelihood in nats, probabilities clipped to [1e-15, 1 − 1e-15] (lower is better).</param>
/// <remarks>Undefined metrics (a holdout with one class) are NaN, written to JSON as "NaN".</remarks>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record BinaryMetrics(double RocAuc, double PrAuc, double Brier, double LogLoss, int Rows, double PositiveRate)
{
    public static BinaryMetrics Compute(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels)
    {
        var n = labels.Count;
        if (probabilities.Count != n)
        {
            throw new ArgumentException("One probability per label is needed.");
        }

        if (n == 0)
        {
            return new BinaryMetrics(double.NaN, double.NaN, double.NaN, double.NaN, 0, double.NaN);
        }

        double brier = 0, logLoss = 0;
        var positives = 0;
        for (var i = 0; i < n; i++)
        {
            var p = probabilities[i];
            var y = labels[i] ? 1.0 : 0.0;
            positives += labels[i] ? 1 : 0;
            brier += (p - y) * (p - y);
            var q = Math.Clamp(p, 1e-15, 1 - 1e-15);
            logLoss -= labels[i] ? Math.Log(q) : Math.Log(1 - q);
        }

        var order = Enumerable.Range(0, n).OrderByDescending(i => probabilities[i]).ToArray();
        return new BinaryMetrics(AreaUnderRoc(order, probabilities, labels, positives), AveragePrecision(order, probabilities, labels, positives),
            brier / n, logLoss / n, n, positives / (double)n);
    }

    /// <summary>Mann–Whitney with tied scores counted as half.</summary>
    private static double AreaUnderRoc(int[] descending, IReadOnlyList<double> p, IReadOnlyList<bool> y, int positives)
    {
        var negatives = descending.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        double area = 0, negativesAbove = 0;
        for (var i = 0; i < descending.Length;)
        {
            var j = i;
            double pos = 0, neg = 0;
            while (j < descending.Length && p[descending[j]] == p[descending[i]])
            {
                if (y[descending[j]]) { pos++; } else { neg++; }
                j++;
            }

            // Each positive in this tie group ranks above the negatives after it, and half of the tied negatives.
            area += pos * (negatives - negativesAbove - neg) + pos * neg / 2;
            negativesAbove += neg;
            i = j;
        }

        return area / ((double)positives * negatives);
    }

    private static double AveragePrecision(int[] descending, IReadOnlyList<double> p, IReadOnlyList<bool> y, int positives)
    {
        if (positives == 0)
        {
            return double.NaN;
        }

        double truePositives = 0, seen = 0, sum = 0;
        for (var i = 0; i < descending.Length;)
        {
            var j = i;
            double groupPositives = 0;
            while (j < descending.Length && p[descending[j]] == p[descending[i]])
            {
                if (y[descending[j]]) { groupPositives++; }
                j++;
            }

            seen += j - i;
            truePositives += groupPositives;
            sum += groupPositives * (truePositives / seen);
            i = j;
        }

        return sum / positives;
    }
}
