using iCrm.Ml.Lifetime;

namespace iCrm.Ml.Tests.Lifetime;

/// <summary>
/// BG/NBD forecasts when the fit is degenerate (customers who almost never stop buying give a, b in the tens of thousands
/// to hundreds of millions with a/(a+b) small) or r, alpha are extreme. The references do not use the product code:
/// the no-dropout limit (NBD: E[X(t)] = (r+x)·t/(alpha+T)) and a slow numerical integral over the posterior of p.
/// </summary>
public class BgNbdExtremeParametersSpecification
{
    private static readonly double[] Months = [.. Enumerable.Range(1, 12).Select(m => m * 52.0 / 12)];

    // The fit the score benchmark's customers produce (a ≈ 5.7e4, b ≈ 1.4e7), and fits further out on the same ridge.
    public static TheoryData<double, double, double, double> Degenerate => new()
    {
        { 0.9, 25, 5.7e4, 1.4e7 },
        { 2.5, 60, 1e6, 1e8 },
        { 0.3, 4, 1e8, 1e8 },
        { 1.2, 30, 1e3, 1e8 },
        { 1e-4, 1e-3, 5e4, 1e7 },
        { 50, 2000, 1e5, 1e8 },
    };

    // (x, t_x, T): a one-off buyer, occasional and regular buyers, a heavy buyer.
    private static readonly (int X, double Tx, double Age)[] Customers =
    [
        (0, 0, 10),
        (1, 3, 40),
        (7, 60, 100),
        (40, 150, 156),
        (300, 150, 156),
    ];

    [Theory]
    [MemberData(nameof(Degenerate))]
    public void Expected_purchases_with_a_degenerate_fit_are_finite_non_negative_and_grow_with_the_horizon(double r, double alpha, double a, double b)
    {
        var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
        foreach (var (x, tx, age) in Customers)
        {
            var customer = new CustomerSummary(x, tx, age, 0);
            double previous = 0;
            foreach (var t in Months)
            {
                double e = fit.ExpectedPurchases(customer, t);
                Assert.True(double.IsFinite(e) && e >= 0, $"x={x} t={t}: {e}");
                // Once the forecast saturates (a heavy buyer who will drop out soon) it changes by rounding only.
                Assert.True(e >= previous * (1 - 1e-12), $"x={x}: {e} at {t} weeks < {previous} before");
                previous = e;
            }
            double alive = fit.ProbabilityAlive(customer);
            Assert.True(alive is > 0 and <= 1, $"x={x}: P(alive) {alive}");
        }
    }

    [Theory]
    [InlineData(0.9, 25, 5.7e4, 1.4e7)]
    [InlineData(2.5, 60, 1e6, 1e8)]
    [InlineData(1.2, 30, 1e3, 1e8)]
    [InlineData(50, 2000, 1e5, 1e8)]
    public void Without_dropout_expected_purchases_tend_to_the_nbd_forecast(double r, double alpha, double a, double b)
    {
        // p ~ Beta(a, b+x) has mean ≤ a/b; as it goes to 0 a customer who is alive stays alive, and the forecast is the
        // NBD one: (r + x)·t/(alpha + T), scaled by P(alive). The first-order correction is about (r+x+1)·t/(alpha+T)·a/b/2.
        var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
        foreach (var (x, tx, age) in Customers)
        {
            var customer = new CustomerSummary(x, tx, age, 0);
            foreach (var t in Months)
            {
                double nbd = (r + x) * t / (alpha + age);
                double alive = x == 0 ? 1 : 1 / (1 + a / (b + x - 1) * Math.Pow((alpha + age) / (alpha + tx), r + x));
                double tolerance = (r + x + 1) * t / (alpha + age) * a / b + 1e-9;
                double e = fit.ExpectedPurchases(customer, t);
                Assert.True(Math.Abs(e / alive - nbd) <= tolerance * nbd, $"x={x} t={t}: {e} vs NBD {nbd} × P(alive) {alive}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Degenerate))]
    public void Expected_purchases_with_a_degenerate_fit_match_a_numerical_integral_over_the_dropout_probability(double r, double alpha, double a, double b)
    {
        var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
        foreach (var (x, tx, age) in Customers)
        {
            var customer = new CustomerSummary(x, tx, age, 0);
            foreach (var t in new[] { 1.0, 13, 52 })
            {
                double reference = PosteriorIntegral.ExpectedPurchases(r, alpha, a, b, x, tx, age, t);
                double e = fit.ExpectedPurchases(customer, t);
                Assert.True(Math.Abs(e - reference) <= 1e-7 * reference, $"x={x} t={t}: {e} vs integral {reference}");
            }
        }
    }

    [Theory]
    [InlineData(0.24, 4.41, 0.79, 2.43)]
    [InlineData(0.5, 5, 0.8, 3)]
    [InlineData(0.5, 5, 1.0, 3)]
    [InlineData(2, 10, 3.5, 12)]
    [InlineData(0.05, 0.5, 0.2, 0.7)]
    [InlineData(30, 200, 40, 400)]
    public void Expected_purchases_with_moderate_parameters_match_a_numerical_integral(double r, double alpha, double a, double b)
    {
        var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
        foreach (var (x, tx, age) in Customers)
        {
            var customer = new CustomerSummary(x, tx, age, 0);
            foreach (var t in new[] { 1.0, 13, 52 })
            {
                double reference = PosteriorIntegral.ExpectedPurchases(r, alpha, a, b, x, tx, age, t);
                double e = fit.ExpectedPurchases(customer, t);
                Assert.True(Math.Abs(e - reference) <= 1e-9 * reference, $"x={x} t={t}: {e} vs integral {reference}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Degenerate))]
    public void Expected_purchases_at_many_horizons_equal_one_horizon_at_a_time_with_a_degenerate_fit(double r, double alpha, double a, double b)
    {
        var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
        var curve = new double[Months.Length];
        foreach (var (x, tx, age) in Customers)
        {
            var customer = new CustomerSummary(x, tx, age, 0);
            fit.ExpectedPurchases(customer, Months, curve);
            for (var i = 0; i < Months.Length; i++)
            {
                double single = fit.ExpectedPurchases(customer, Months[i]);
                Assert.True(double.IsFinite(curve[i]) && Math.Abs(curve[i] - single) <= 1e-9 * Math.Max(1, single), $"x={x} {Months[i]} weeks: {curve[i]} vs {single}");
                Assert.True(i == 0 || curve[i] >= curve[i - 1] * (1 - 1e-12), $"x={x}: not monotone at {Months[i]} weeks");
            }
        }
    }

    [Theory]
    [InlineData(1e-6, 1e-6)]
    [InlineData(1e-6, 1e6)]
    [InlineData(1e6, 1e6)]
    [InlineData(1e6, 1e-3)]
    [InlineData(500, 5)]
    public void Extreme_purchase_rate_parameters_give_finite_forecasts_and_probabilities(double r, double alpha)
    {
        foreach (var (a, b) in new[] { (0.8, 3.0), (5.7e4, 1.4e7), (1e8, 1e8) })
        {
            var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
            foreach (var (x, tx, age) in Customers)
            {
                var customer = new CustomerSummary(x, tx, age, 0);
                var curve = new double[Months.Length];
                fit.ExpectedPurchases(customer, Months, curve);
                for (var i = 0; i < Months.Length; i++)
                {
                    Assert.True(double.IsFinite(curve[i]) && curve[i] >= 0, $"a={a} x={x} {Months[i]} weeks: {curve[i]}");
                    Assert.True(i == 0 || curve[i] >= curve[i - 1] * (1 - 1e-12), $"a={a} x={x}: not monotone at {Months[i]} weeks: {string.Join(", ", curve)}");
                }
                double alive = fit.ProbabilityAlive(customer);
                Assert.True(alive is >= 0 and <= 1, $"a={a} x={x}: P(alive) {alive}");
            }
        }
    }

    [Fact]
    public void A_customer_who_went_quiet_long_ago_under_a_degenerate_fit_is_probably_gone_but_not_nan()
    {
        // ((alpha+T)/(alpha+t_x))^(r+x) overflows a double for a heavy buyer who stopped long ago.
        var fit = new BgNbdParameters(0.9, 0.01, 5.7e4, 1.4e7, 0, 0);
        var customer = new CustomerSummary(400, 1, 156, 0);
        double alive = fit.ProbabilityAlive(customer);
        double e = fit.ExpectedPurchases(customer, 52);
        Assert.True(alive is >= 0 and < 1e-6, $"P(alive) {alive}");
        Assert.True(double.IsFinite(e) && e is >= 0 and < 1e-3, $"{e}");
    }

    [Fact]
    public void The_lifetime_value_of_a_loyal_customer_under_a_degenerate_fit_is_finite_and_positive()
    {
        var model = new LifetimeValueModel(new BgNbdParameters(0.9, 25, 5.7e4, 1.4e7, 0, 0), new GammaGammaParameters(6, 4, 15, 0, 0));
        var score = model.Score(new CustomerSummary(12, 100, 104, 40, 500));
        Assert.True(double.IsFinite(score.Clv) && score.Clv > 0, $"{score}");
        Assert.True(score.ExpectedPurchases > 4 && score.ProbabilityAlive > 0.9, $"{score}");
    }

    /// <summary>
    /// E[X(t) | x, t_x, T] = P(alive) · E[(1 − (1 + p·t/(alpha+T))^−(r+x)) / p] with p ~ Beta(a, b + x): given the customer
    /// is alive, the rate is Gamma(r + x, alpha + T) and p is Beta(a, b + x), and a customer with rate λ and dropout p makes
    /// (1 − e^−λpt)/p purchases in t on average. The expectation over p is a trapezoid rule in y = logit p (exponentially
    /// accurate for a smooth integrand decaying at both ends), normalised by the same rule applied to the density.
    /// </summary>
    internal static class PosteriorIntegral
    {
        public static double ExpectedPurchases(double r, double alpha, double a, double b, int x, double tx, double age, double t)
        {
            double beta = b + x, n = r + x, u = t / (alpha + age);
            double y0 = Math.Log(a / beta), s = Math.Sqrt(1 / a + 1 / beta);
            double left = y0 - Math.Max(40 * s, 50 / a), right = y0 + Math.Max(40 * s, 50 / beta);
            double h = Math.Min(s, 1) / 32;
            double peak = LogDensity(y0);
            double mass = 0, sum = 0;
            for (double y = left; y <= right; y += h)
            {
                double w = Math.Exp(LogDensity(y) - peak);
                double p = y < 0 ? Math.Exp(y) / (1 + Math.Exp(y)) : 1 / (1 + Math.Exp(-y));
                double g = p == 0 ? n * u : -ExpM1(-n * Log1P(p * u)) / p;
                mass += w;
                sum += w * g;
            }
            double alive = x == 0 ? 1 : 1 / (1 + Math.Exp(Math.Log(a / (b + x - 1)) + n * Math.Log((alpha + age) / (alpha + tx))));
            return alive * sum / mass;

            // log of p^a (1−p)^beta, the Beta(a, beta) density in y = logit p, without its constant.
            double LogDensity(double y) => a * y - (a + beta) * (y > 0 ? y + Log1P(Math.Exp(-y)) : Log1P(Math.Exp(y)));
        }

        // Accurate for small arguments (Goldberg's and Kahan's tricks): double.LogP1 and double.ExpM1 are not.
        private static double Log1P(double v)
        {
            double w = 1 + v;
            return w == 1 ? v : Math.Log(w) * v / (w - 1);
        }

        private static double ExpM1(double v)
        {
            if (Math.Abs(v) < 1e-5) return v + v * v / 2 + v * v * v / 6;
            double w = Math.Exp(v);
            return w == 1 ? v : w - 1 == -1 ? -1 : (w - 1) * v / Math.Log(w);
        }
    }
}

public class BgNbdFallbackSpecification
{
    [Theory]
    [InlineData(0.24, 4.41, 0.79, 2.43)]
    [InlineData(0.9, 25, 5.7e4, 1.4e7)]
    [InlineData(2, 10, 3.5, 12)]
    [InlineData(0.3, 4, 1e8, 1e8)]
    public void The_numerical_integral_used_where_the_series_is_not_agrees_with_the_series(double r, double alpha, double a, double b)
    {
        var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
        foreach (var (x, tx, age) in new[] { (0, 0.0, 10.0), (3, 20.0, 40.0), (40, 150.0, 156.0) })
        {
            var customer = new CustomerSummary(x, tx, age, 0);
            double series = fit.ExpectedPurchases(customer, 26);
            double integral = fit.ProbabilityAlive(customer) * fit.ExpectedPurchasesByIntegral(x, age, 26);
            Assert.True(Math.Abs(series - integral) <= 1e-8 * series, $"x={x}: series {series} vs integral {integral}");
        }
    }

    [Fact]
    public void A_brand_new_customer_under_a_tiny_rate_scale_needs_the_fallback_and_still_gets_an_nbd_like_forecast()
    {
        // alpha + T tiny against the horizon puts z within 1e-7 of 1: the series would need millions of terms.
        var fit = new BgNbdParameters(2, 1e-6, 5.7e4, 1.4e7, 0, 0);
        var customer = new CustomerSummary(0, 0, 1e-6, 0);
        double e = fit.ExpectedPurchases(customer, 52);
        double nbd = 2 * 52 / (1e-6 + 1e-6);
        Assert.True(double.IsFinite(e) && e > 0 && e <= nbd, $"{e} vs NBD {nbd}");
    }
}

public class BgNbdDegenerateFitSpecification
{
    [Fact]
    public void Customers_who_all_share_a_tiny_dropout_probability_get_a_finite_fit_and_a_finite_holdout_error()
    {
        // Every customer drops out with probability about 1 % after a purchase: the likelihood keeps rising as a and b
        // grow with a/(a+b) fixed, so the fit runs far out along that ridge (as on the score benchmark's customers).
        var customers = LifetimeSimulation.Simulate(5_000, seed: 11, r: 2, alpha: 20, a: 2_000, b: 198_000);
        var observations = customers.Select((c, i) => new LifetimeObservation($"c{i}", c.Summary, c.HoldoutPurchases, c.HoldoutSpend)).ToList();

        var result = LifetimeTrainer.TrainAndEvaluate(observations, 26);

        var fit = result.Model.Purchases;
        Assert.True(new[] { fit.R, fit.Alpha, fit.A, fit.B, fit.LogLikelihood }.All(double.IsFinite), $"{fit}");
        Assert.InRange(fit.A / (fit.A + fit.B), 0, 0.05);
        var m = result.Holdout!;
        Assert.True(double.IsFinite(m.PurchasesMae) && double.IsFinite(m.SpendMae), $"{m}");
        Assert.InRange(m.PredictedPurchasesTotal / m.ActualPurchasesTotal, 0.9, 1.1);
    }
}

public class BgNbdEdgeSpecification
{
    [Fact]
    public void A_one_off_buyer_under_a_vanishing_purchase_rate_is_expected_to_buy_nothing()
    {
        var fit = new BgNbdParameters(0, 5, 0.8, 3, 0, 0);
        double[] horizons = [4, 52, 0, -1];
        var expected = new double[] { double.NaN, double.NaN, double.NaN, double.NaN, 7 };
        fit.ExpectedPurchases(new CustomerSummary(0, 0, 30, 0), horizons, expected);
        Assert.Equal([0, 0, 0, 0, 7], expected);
    }
}
