using System.IO.Compression;
using System.Text.Json;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Baseline;

/// <summary>
/// A deliberately simple churn model: logistic regression on recency, frequency and spend, fitted by gradient descent.
/// Labels: customers with an order in the year before (cutoff = asOf − window) who bought nothing in the window after.
/// </summary>
public sealed class RecencyChurnTrainer : IModelTrainer, IModelLoader
{
    public const int WindowDays = 90;

    public string Kind => ModelKinds.Churn;

    public double Tolerance => 0.005;

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var cutoff = snapshot.AsOf.AddDays(-WindowDays);
        var rows = new List<(double[] X, double Y)>();
        foreach (var profile in snapshot.Profiles)
        {
            var x = Features(profile, cutoff);
            if (x is null)
            {
                continue;
            }
            var bought = profile.Orders.Any(o => o.Date >= cutoff && o.Date < snapshot.AsOf);
            rows.Add((x, bought ? 0 : 1));
        }
        if (rows.Count < 2)
        {
            throw new InvalidOperationException($"Churn needs at least 2 customers with orders before {cutoff:yyyy-MM-dd}; found {rows.Count}.");
        }
        var weights = Fit(rows);
        var auc = Auc(rows.Select(r => (Predict(weights, r.X), r.Y)).ToList());
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "Simple churn baseline: logistic regression on days since last order, order count and spend.",
            Algorithm = "logistic-regression (gradient descent)",
            PromotionMetric = "auc",
            PromotionValue = auc,
            Metrics = { ["auc"] = auc, ["positiveRate"] = rows.Average(r => r.Y) },
            FeatureSchema = [.. FeatureNames.Select((n, i) => new FeatureDescription(n, "float", Labels[i]))],
            Cutoff = cutoff,
            RowCounts = { ["customers"] = rows.Count },
            DurationSeconds = (DateTimeOffset.UtcNow - started).TotalSeconds,
        };
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = zip.CreateEntry("weights.json").Open();
            JsonSerializer.Serialize(entry, weights);
        }
        return Task.FromResult(new TrainedModel(card, buffer.ToArray()));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card)
    {
        using var zip = new ZipArchive(bundle, ZipArchiveMode.Read);
        using var entry = zip.GetEntry("weights.json")?.Open() ?? throw new InvalidDataException("Churn bundle has no weights.json.");
        var weights = JsonSerializer.Deserialize<double[]>(entry) ?? throw new InvalidDataException("Churn weights are empty.");
        if (weights.Length != FeatureNames.Length + 1)
        {
            throw new InvalidDataException($"Churn bundle has {weights.Length} weights; expected {FeatureNames.Length + 1}.");
        }
        return new Scorer(card.Version, weights);
    }

    private static readonly string[] FeatureNames = ["days_since_last_order", "orders", "spend"];
    private static readonly string[] Labels = ["days since last order", "number of orders", "total spend"];

    private static double[]? Features(CustomerProfile profile, DateTimeOffset cutoff)
    {
        var before = profile.Orders.Where(o => o.Date < cutoff).ToList();
        if (before.Count == 0)
        {
            return null;
        }
        var days = (cutoff - before.Max(o => o.Date)).TotalDays;
        return [double.LogP1(days), double.LogP1(before.Select(o => o.OrderId).Distinct().Count()), double.LogP1((double)Math.Max(0, before.Sum(o => o.Amount)))];
    }

    private static double Predict(double[] w, double[] x)
    {
        var z = w[^1];
        for (var i = 0; i < x.Length; i++)
        {
            z += w[i] * x[i];
        }
        return 1 / (1 + Math.Exp(-z));
    }

    private static double[] Fit(List<(double[] X, double Y)> rows)
    {
        var w = new double[FeatureNames.Length + 1];
        for (var epoch = 0; epoch < 500; epoch++)
        {
            var grad = new double[w.Length];
            foreach (var (x, y) in rows)
            {
                var error = Predict(w, x) - y;
                for (var i = 0; i < x.Length; i++)
                {
                    grad[i] += error * x[i];
                }
                grad[^1] += error;
            }
            for (var i = 0; i < w.Length; i++)
            {
                w[i] -= 0.5 * grad[i] / rows.Count + 0.001 * w[i];
            }
        }
        return w;
    }

    private static double Auc(List<(double Score, double Y)> scored)
    {
        var positives = scored.Count(s => s.Y > 0.5);
        var negatives = scored.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return 0.5;
        }
        var ranked = scored.OrderBy(s => s.Score).ToList();
        double rankSum = 0;
        for (var i = 0; i < ranked.Count; i++)
        {
            if (ranked[i].Y > 0.5)
            {
                rankSum += i + 1;
            }
        }
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    private sealed class Scorer(string version, double[] weights) : IProfileScorer
    {
        public string Kind => ModelKinds.Churn;

        public string Version => version;

        public Prediction Score(CustomerProfile profile, DateTimeOffset asOf)
        {
            var x = Features(profile, asOf) ?? [double.LogP1(3650), 0, 0];
            var p = Predict(weights, x);
            var factors = x.Select((v, i) => new Factor(FeatureNames[i], Labels[i], weights[i] * v))
                .OrderByDescending(f => Math.Abs(f.Contribution)).ToList();
            return new Prediction(version, asOf, p, p >= 0.7 ? "high" : p >= 0.4 ? "medium" : "low", factors);
        }
    }
}
