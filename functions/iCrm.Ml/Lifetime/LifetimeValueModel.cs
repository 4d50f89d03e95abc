using System.Diagnostics;
using iCrm.Core.Profiles;

namespace iCrm.Ml.Lifetime;

/// <summary>
/// The CLV model as stored in the registry: BG/NBD for how often a customer will buy, Gamma-Gamma for how much.
/// Plain parameters, so it serialises to readable JSON and scores in microseconds.
/// <para>
/// CLV over <see cref="HorizonMonths"/> months with monthly discount rate d:
/// CLV = Σ_{m=1..H} (E[Y(m·τ)] − E[Y((m−1)·τ)]) · E[spend] / (1+d)^m, where τ = 52/12 weeks, E[Y(t)] is BG/NBD's expected
/// purchases in the next t weeks given the customer's history, and E[spend] is Gamma-Gamma's expected spend per purchase.
/// It is revenue, not margin: multiply by a margin if you want profit.
/// </para>
/// </summary>
/// <param name="AsOf">The date the model was fitted as of (the end of its data); null in bundles older than this field.</param>
public sealed record LifetimeValueModel(
    BgNbdParameters Purchases,
    GammaGammaParameters? Spend,
    double MonthlyDiscountRate = 0.01,
    int HorizonMonths = 12,
    DateTimeOffset? AsOf = null)
{
    public string TimeUnit => LifetimeTime.Unit;

    /// <summary>
    /// The date a customer is scored as of when <paramref name="requested"/> is asked for: never later than the
    /// requested date, and never later than the model's <see cref="AsOf"/> unless the customer bought something after it
    /// (then the start of the day after that purchase). The model knows nothing about the time after its data ended, so
    /// a historical export is scored at its end (the write-back and the API then agree with the model) rather than
    /// ageing every customer by the years since; a live shop, trained daily, is scored at about the requested date.
    /// </summary>
    public DateTimeOffset ScoringDate(CustomerProfile profile, DateTimeOffset requested)
    {
        if (AsOf is not { } end || requested <= end)
        {
            return requested;
        }
        if (profile.Orders.Count > 0)
        {
            var dayAfter = new DateTimeOffset(profile.Orders[^1].Date.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
            if (dayAfter > end) end = dayAfter;
        }
        return end < requested ? end : requested;
    }

    public LifetimeScore Score(CustomerSummary customer)
    {
        double spend = ExpectedAverageSpend(customer);
        Span<double> horizons = stackalloc double[HorizonMonths];
        Span<double> expected = stackalloc double[HorizonMonths];
        for (int m = 1; m <= HorizonMonths; m++)
        {
            horizons[m - 1] = m * LifetimeTime.WeeksPerMonth;
        }
        Purchases.ExpectedPurchases(customer, horizons, expected);
        double previous = 0, clv = 0, discount = 1;
        for (int m = 1; m <= HorizonMonths; m++)
        {
            double cumulative = expected[m - 1];
            discount /= 1 + MonthlyDiscountRate;
            clv += (cumulative - previous) * spend * discount;
            previous = cumulative;
        }
        return new LifetimeScore(previous, Purchases.ProbabilityAlive(customer), spend, clv);
    }

    /// <summary>Expected purchases in the next <paramref name="weeks"/> weeks.</summary>
    public double ExpectedPurchases(CustomerSummary customer, double weeks) => Purchases.ExpectedPurchases(customer, weeks);

    private double ExpectedAverageSpend(CustomerSummary c)
    {
        if (Spend is { Q: > 1 }) return Spend.ExpectedAverageSpend(c);
        // Without a usable spend model, fall back to the customer's own average per purchase day.
        return c.TotalSpend / (c.Frequency + 1);
    }
}

/// <param name="ExpectedPurchases">Expected purchase days in the horizon.</param>
/// <param name="ProbabilityAlive">Probability the customer is still active.</param>
/// <param name="ExpectedAverageSpend">Expected spend per purchase.</param>
/// <param name="Clv">Discounted expected spend over the horizon.</param>
public readonly record struct LifetimeScore(double ExpectedPurchases, double ProbabilityAlive, double ExpectedAverageSpend, double Clv);

/// <summary>
/// The naive baseline the card compares against: the customer's historical rate carried forward, no discounting.
/// Purchases in horizon = repeat purchases per week so far × horizon; value = spend per week so far × horizon.
/// Age is floored at one week so a customer who bought yesterday does not get an absurd rate.
/// </summary>
public static class NaiveLifetimeBaseline
{
    public static double ExpectedPurchases(CustomerSummary c, double weeks) => c.Frequency / Math.Max(1, c.Age) * weeks;

    public static double ExpectedSpend(CustomerSummary c, double weeks) => c.TotalSpend / Math.Max(1, c.Age) * weeks;
}

/// <summary>One customer for training and evaluation: history before the cutoff and what actually happened after it.</summary>
public sealed record LifetimeObservation(string CustomerId, CustomerSummary Summary, int HoldoutPurchases, double HoldoutSpend);

/// <summary>Holdout metrics for the model card; the promotion metric is <see cref="PurchasesMae"/>.</summary>
public sealed record LifetimeMetrics(
    int Customers,
    double HorizonWeeks,
    double PurchasesMae,
    double PurchasesMaeNaive,
    double SpendMae,
    double SpendMaeNaive,
    double PredictedPurchasesTotal,
    double ActualPurchasesTotal);

/// <summary>The outcome of a lifetime training run: the model, its holdout metrics and how long each fit took.</summary>
/// <param name="PurchasesFit">The BG/NBD fit's diagnostics (convergence, bounds).</param>
public sealed record LifetimeTrainingResult(LifetimeValueModel Model, LifetimeMetrics? Holdout, double BgNbdSeconds, double GammaGammaSeconds, BgNbdFit PurchasesFit);

public static class LifetimeTrainer
{
    /// <summary>
    /// Builds observations from profiles: history before <paramref name="cutoff"/>, purchases and spend in
    /// [cutoff, holdoutEnd). Customers who bought nothing before the cutoff are left out (the models say nothing about them).
    /// </summary>
    public static List<LifetimeObservation> FromProfiles(IEnumerable<CustomerProfile> profiles, DateTimeOffset cutoff, DateTimeOffset holdoutEnd)
    {
        var result = new List<LifetimeObservation>();
        foreach (var p in profiles)
        {
            var summary = CustomerSummary.FromProfile(p, cutoff);
            if (summary is null) continue;
            result.Add(new LifetimeObservation(p.Id, summary,
                CustomerSummary.PurchaseDaysBetween(p, cutoff, holdoutEnd),
                CustomerSummary.SpendBetween(p, cutoff, holdoutEnd)));
        }
        return result;
    }

    /// <summary>
    /// Fits BG/NBD on every customer and Gamma-Gamma on repeat buyers. Gamma-Gamma is skipped (null) when there are fewer
    /// than <paramref name="minimumRepeatBuyers"/> repeat buyers or the fit has q ≤ 1 (no finite mean spend).
    /// </summary>
    public static LifetimeTrainingResult Train(IReadOnlyList<CustomerSummary> customers, double monthlyDiscountRate = 0.01, int horizonMonths = 12, int minimumRepeatBuyers = 50)
    {
        var sw = Stopwatch.StartNew();
        var fit = BgNbd.FitChecked(customers);
        var purchases = fit.Parameters;
        double bgSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        GammaGammaParameters? spend = null;
        if (customers.Count(GammaGamma.IsUsable) >= minimumRepeatBuyers)
        {
            spend = GammaGamma.Fit(customers);
            if (!(spend.Q > 1) || !double.IsFinite(spend.PopulationMeanSpend)) spend = null;
        }
        return new LifetimeTrainingResult(new LifetimeValueModel(purchases, spend, monthlyDiscountRate, horizonMonths), null, bgSeconds, sw.Elapsed.TotalSeconds, fit);
    }

    /// <summary>Trains on the history and evaluates on the holdout of the same customers.</summary>
    public static LifetimeTrainingResult TrainAndEvaluate(IReadOnlyList<LifetimeObservation> observations, double horizonWeeks, double monthlyDiscountRate = 0.01, int horizonMonths = 12)
    {
        var result = Train(observations.Select(o => o.Summary).ToList(), monthlyDiscountRate, horizonMonths);
        return result with { Holdout = Evaluate(result.Model, observations, horizonWeeks) };
    }

    /// <summary>Customers sorted by predicted holdout purchases and cut into ten equal groups (fewer when there are fewer
    /// than ten customers): mean predicted and mean actual purchases of each, for the card's chart.</summary>
    public static List<(int Decile, double Predicted, double Actual, int Customers)> ByDecile(LifetimeValueModel model, IReadOnlyList<LifetimeObservation> observations, double horizonWeeks)
    {
        var ranked = observations.Select(o => (Predicted: model.ExpectedPurchases(o.Summary, horizonWeeks), Actual: (double)o.HoldoutPurchases))
            .OrderBy(x => x.Predicted).ToList();
        var groups = Math.Min(10, ranked.Count);
        var result = new List<(int, double, double, int)>(groups);
        for (var d = 0; d < groups; d++)
        {
            int from = d * ranked.Count / groups, to = (d + 1) * ranked.Count / groups;
            var slice = ranked.GetRange(from, to - from);
            result.Add((d + 1, slice.Average(x => x.Predicted), slice.Average(x => x.Actual), slice.Count));
        }
        return result;
    }

    /// <summary>
    /// Mean absolute error of predicted vs actual holdout purchases (and undiscounted spend) for the model and the naive
    /// baseline, over a holdout of <paramref name="horizonWeeks"/> weeks.
    /// </summary>
    public static LifetimeMetrics Evaluate(LifetimeValueModel model, IReadOnlyList<LifetimeObservation> observations, double horizonWeeks)
    {
        if (observations.Count == 0) return new LifetimeMetrics(0, horizonWeeks, 0, 0, 0, 0, 0, 0);
        double ae = 0, aeNaive = 0, se = 0, seNaive = 0, predicted = 0, actual = 0;
        foreach (var o in observations)
        {
            double purchases = model.ExpectedPurchases(o.Summary, horizonWeeks);
            double spend = purchases * model.Score(o.Summary).ExpectedAverageSpend;
            ae += Math.Abs(purchases - o.HoldoutPurchases);
            aeNaive += Math.Abs(NaiveLifetimeBaseline.ExpectedPurchases(o.Summary, horizonWeeks) - o.HoldoutPurchases);
            se += Math.Abs(spend - o.HoldoutSpend);
            seNaive += Math.Abs(NaiveLifetimeBaseline.ExpectedSpend(o.Summary, horizonWeeks) - o.HoldoutSpend);
            predicted += purchases;
            actual += o.HoldoutPurchases;
        }
        int n = observations.Count;
        return new LifetimeMetrics(n, horizonWeeks, ae / n, aeNaive / n, se / n, seNaive / n, predicted, actual);
    }
}
