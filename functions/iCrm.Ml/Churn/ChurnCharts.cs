using System.Globalization;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Churn;

/// <summary>
/// The churn card's charts, all drawn from out-of-sample probabilities: ROC and precision–recall curves (at most
/// <see cref="MaxCurvePoints"/> thresholds), calibration in ten probability bins, and lift with cumulative gains by decile.
/// </summary>
public static class ChurnCharts
{
    public const int MaxCurvePoints = 41;

    public static Dictionary<string, CardChart> Build(OutOfSample data, string protocol)
    {
        var p = data.Probabilities;
        var y = data.Labels;
        var n = p.Count;
        var positives = y.Count(l => l);
        var charts = new Dictionary<string, CardChart>();
        if (n == 0)
        {
            return charts;
        }

        var suffix = $" ({protocol}, {n:N0} customers)";
        var order = Enumerable.Range(0, n).OrderByDescending(i => p[i]).ToArray();
        // One curve point per distinct threshold: (threshold, true positives, false positives) at "score ≥ threshold".
        var thresholds = new List<(double Threshold, int Tp, int Fp)>();
        int tp = 0, fp = 0;
        for (var i = 0; i < n; i++)
        {
            if (y[order[i]]) { tp++; } else { fp++; }
            if (i == n - 1 || p[order[i + 1]] != p[order[i]])
            {
                thresholds.Add((p[order[i]], tp, fp));
            }
        }

        var negatives = n - positives;
        var picked = Thin(thresholds, MaxCurvePoints);
        if (positives > 0 && negatives > 0)
        {
            List<CardPoint> roc = [new CardPoint(0, 0, "1"), .. picked.Select(t => new CardPoint(Round(t.Fp / (double)negatives), Round(t.Tp / (double)positives), Label(t.Threshold)))];
            charts["roc"] = new CardChart("ROC curve" + suffix, "false positive rate", "true positive rate", roc, n);
        }

        if (positives > 0)
        {
            var pr = picked.Select(t => new CardPoint(Round(t.Tp / (double)positives), Round(t.Tp / (double)(t.Tp + t.Fp)), Label(t.Threshold))).ToList();
            charts["precision_recall"] = new CardChart("Precision–recall curve" + suffix, "recall", "precision", pr, n);
        }

        var bins = new List<CardPoint>();
        for (var b = 0; b < 10; b++)
        {
            var members = Enumerable.Range(0, n).Where(i => Math.Min(9, (int)(p[i] * 10)) == b).ToList();
            if (members.Count > 0)
            {
                bins.Add(new CardPoint(Round(members.Average(i => p[i])), Round(members.Count(i => y[i]) / (double)members.Count),
                    string.Create(CultureInfo.InvariantCulture, $"{b / 10.0:0.0}–{(b + 1) / 10.0:0.0}: {members.Count} customers")));
            }
        }

        charts["calibration"] = new CardChart("Calibration: predicted vs observed churn rate by probability bin" + suffix,
            "mean predicted probability", "observed churn rate", bins, n);

        if (positives > 0)
        {
            var rate = positives / (double)n;
            var lift = new List<CardPoint>();
            var captured = 0;
            for (var d = 0; d < 10; d++)
            {
                var from = (int)Math.Round(d * n / 10.0);
                var to = (int)Math.Round((d + 1) * n / 10.0);
                if (to <= from)
                {
                    continue;
                }

                var churners = 0;
                for (var i = from; i < to; i++)
                {
                    churners += y[order[i]] ? 1 : 0;
                }

                captured += churners;
                lift.Add(new CardPoint(d + 1, Round(churners / (double)(to - from) / rate),
                    string.Create(CultureInfo.InvariantCulture, $"cumulative gain {captured / (double)positives:0.###}; {to - from} customers, {churners} churned")));
            }

            charts["lift"] = new CardChart("Lift by decile of predicted risk (decile 1 = highest), with cumulative gains" + suffix,
                "decile", "lift (churn rate in the decile / overall churn rate)", lift, n);
        }

        return charts;
    }

    private static List<T> Thin<T>(List<T> points, int max)
    {
        if (points.Count <= max)
        {
            return points;
        }

        return [.. Enumerable.Range(0, max).Select(i => points[(int)Math.Round(i * (points.Count - 1) / (double)(max - 1))])];
    }

    private static string Label(double threshold) => threshold.ToString("0.###", CultureInfo.InvariantCulture);

    private static double Round(double v) => Math.Round(v, 4);
}
