using System.Diagnostics;
using iCrm.Ml.Lifetime;
using Xunit.Abstractions;

namespace iCrm.Ml.Tests.Lifetime;

public class LifetimeMeasurement(ITestOutputHelper output)
{
    [MeasurementFact]
    public void Measurement_fitting_bg_nbd_and_gamma_gamma_on_100k_customers()
    {
        var customers = LifetimeSimulation.Simulate(100_000, seed: 1, r: 0.5, alpha: 5, a: 0.8, b: 3, holdoutWeeks: 26);
        var observations = customers.Select((c, i) => new LifetimeObservation($"c{i}", c.Summary, c.HoldoutPurchases, c.HoldoutSpend)).ToList();
        var sw = Stopwatch.StartNew();
        var result = LifetimeTrainer.TrainAndEvaluate(observations, horizonWeeks: 26);
        double total = sw.Elapsed.TotalSeconds;
        var model = result.Model;

        sw.Restart();
        double sink = 0;
        foreach (var c in customers) sink += model.Score(c.Summary).Clv;
        double scoreMicros = sw.Elapsed.TotalMilliseconds * 1000 / customers.Count;

        var h = result.Holdout!;
        output.WriteLine($"customers=100000 bgnbd_seconds={result.BgNbdSeconds:F3} gammagamma_seconds={result.GammaGammaSeconds:F3} train_and_evaluate_seconds={total:F3}");
        output.WriteLine($"bgnbd r={model.Purchases.R:F4} alpha={model.Purchases.Alpha:F4} a={model.Purchases.A:F4} b={model.Purchases.B:F4} ll={model.Purchases.LogLikelihood:F1} (truth 0.5, 5, 0.8, 3)");
        output.WriteLine($"gammagamma p={model.Spend!.P:F4} q={model.Spend.Q:F4} gamma={model.Spend.Gamma:F4} ll={model.Spend.LogLikelihood:F1} n={model.Spend.Customers} (truth 6, 4, 15)");
        output.WriteLine($"holdout 26w purchases MAE model={h.PurchasesMae:F4} naive={h.PurchasesMaeNaive:F4}; spend MAE model={h.SpendMae:F2} naive={h.SpendMaeNaive:F2}; predicted/actual={h.PredictedPurchasesTotal:F0}/{h.ActualPurchasesTotal:F0}");
        output.WriteLine($"score_microseconds_per_customer={scoreMicros:F2} (12 monthly terms) checksum={sink:F0}");
        Assert.True(h.PurchasesMae < h.PurchasesMaeNaive);
        Assert.InRange(model.Purchases.R, 0.45, 0.55);
    }
}
