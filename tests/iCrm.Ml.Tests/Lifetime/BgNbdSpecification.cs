using System.Text.Json;
using iCrm.Ml.Lifetime;

namespace iCrm.Ml.Tests.Lifetime;

public class BgNbdSpecification
{
    private const double R = 0.5, Alpha = 5, A = 0.8, B = 3;

    private static readonly Lazy<(List<LifetimeSimulation.SimulatedCustomer> Customers, BgNbdParameters Fit)> Fitted = new(() =>
    {
        var customers = LifetimeSimulation.Simulate(10_000, seed: 42, R, Alpha, A, B);
        return (customers, BgNbd.Fit(customers.Select(c => c.Summary).ToList()));
    });

    [Fact]
    public void Parameters_used_to_simulate_customers_are_recovered_within_twenty_percent()
    {
        var fit = Fitted.Value.Fit;
        Assert.InRange(fit.R, R * 0.8, R * 1.2);
        Assert.InRange(fit.Alpha, Alpha * 0.8, Alpha * 1.2);
        Assert.InRange(fit.A, A * 0.8, A * 1.2);
        Assert.InRange(fit.B, B * 0.8, B * 1.2);
        Assert.Equal(10_000, fit.Customers);
        Assert.Equal("weeks", fit.TimeUnit);
    }

    [Fact]
    public void The_fit_is_at_least_as_likely_as_the_true_parameters()
    {
        var (customers, fit) = Fitted.Value;
        double atTruth = BgNbd.LogLikelihood(customers.Select(c => c.Summary).ToList(), R, Alpha, A, B);
        Assert.True(fit.LogLikelihood >= atTruth - 1e-6, $"fit {fit.LogLikelihood} < truth {atTruth}");
        Assert.True(double.IsFinite(fit.LogLikelihood) && fit.LogLikelihood < 0);
    }

    [Fact]
    public void Expected_holdout_purchases_match_what_simulated_customers_actually_bought()
    {
        var (customers, fit) = Fitted.Value;
        double predicted = customers.Sum(c => fit.ExpectedPurchases(c.Summary, 26));
        double actual = customers.Sum(c => c.HoldoutPurchases);
        Assert.InRange(predicted / actual, 0.9, 1.1);
    }

    [Fact]
    public void Bg_nbd_forecasts_holdout_purchases_better_than_the_naive_rate()
    {
        var (customers, fit) = Fitted.Value;
        var model = new LifetimeValueModel(fit, null);
        var observations = customers.Select((c, i) => new LifetimeObservation($"c{i}", c.Summary, c.HoldoutPurchases, c.HoldoutSpend)).ToList();
        var metrics = LifetimeTrainer.Evaluate(model, observations, 26);
        Assert.True(metrics.PurchasesMae < metrics.PurchasesMaeNaive, $"model {metrics.PurchasesMae} vs naive {metrics.PurchasesMaeNaive}");
    }

    [Fact]
    public void A_customer_without_repeat_purchases_is_certainly_alive()
    {
        var fit = new BgNbdParameters(R, Alpha, A, B, 0, 0);
        Assert.Equal(1.0, fit.ProbabilityAlive(new CustomerSummary(0, 0, 30, 0)));
    }

    [Fact]
    public void A_frequent_buyer_who_went_quiet_is_less_likely_alive_than_one_who_bought_recently()
    {
        var fit = new BgNbdParameters(R, Alpha, A, B, 0, 0);
        double quiet = fit.ProbabilityAlive(new CustomerSummary(10, 20, 80, 0));
        double recent = fit.ProbabilityAlive(new CustomerSummary(10, 78, 80, 0));
        Assert.True(quiet < 0.2, $"quiet {quiet}");
        Assert.True(recent > 0.8, $"recent {recent}");
        Assert.True(fit.ExpectedPurchases(new CustomerSummary(10, 78, 80, 0), 52) > fit.ExpectedPurchases(new CustomerSummary(10, 20, 80, 0), 52));
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void The_hypergeometric_series_matches_a_known_closed_form(double z)
    {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        Assert.Equal(-Math.Log(1 - z) / z, BgNbdParameters.Hypergeometric2F1(1, 1, 2, z), 10);
    }

    [Fact]
    public void Inconsistent_summaries_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => BgNbd.Fit([new CustomerSummary(2, 10, 5, 0)]));
    }

    [Fact]
    public void The_lifetime_model_survives_a_json_round_trip_and_scores_the_same()
    {
        var model = new LifetimeValueModel(new BgNbdParameters(R, Alpha, A, B, -1234.5, 10), new GammaGammaParameters(6, 4, 15, -99, 5), 0.01);
        var json = JsonSerializer.Serialize(model);
        var back = JsonSerializer.Deserialize<LifetimeValueModel>(json)!;
        var customer = new CustomerSummary(3, 40, 60, 25, 100);
        Assert.Equal(model.Score(customer), back.Score(customer));
        Assert.Contains("\"TimeUnit\":\"weeks\"", json);
    }
}

public class BgNbdNumericsSpecification
{
    [Theory]
    [InlineData(0, 0, 40)]
    [InlineData(3, 20, 40)]
    [InlineData(12, 35, 60)]
    public void Expected_purchases_equal_the_textbook_formula(int x, double tx, double age)
    {
        // FHL 2005 eq. 10 as printed, with the hypergeometric function evaluated directly.
        double r = 0.24, alpha = 4.41, a = 0.79, b = 2.43, t = 39;
        var fit = new BgNbdParameters(r, alpha, a, b, 0, 0);
        double z = t / (alpha + age + t);
        double hyp = BgNbdParameters.Hypergeometric2F1(r + x, b + x, a + b + x - 1, z);
        double numerator = (a + b + x - 1) / (a - 1) * (1 - Math.Pow((alpha + age) / (alpha + age + t), r + x) * hyp);
        double denominator = 1 + (x > 0 ? a / (b + x - 1) * Math.Pow((alpha + age) / (alpha + tx), r + x) : 0);
        Assert.Equal(numerator / denominator, fit.ExpectedPurchases(new CustomerSummary(x, tx, age, 0), t), 9);
    }

    [Theory]
    [InlineData(0, 0, 2)]
    [InlineData(0, 0, 40)]
    [InlineData(3, 20, 40)]
    [InlineData(12, 35, 60)]
    [InlineData(300, 150, 156)]
    public void Expected_purchases_at_many_horizons_equal_one_horizon_at_a_time(int x, double tx, double age)
    {
        var fit = new BgNbdParameters(0.24, 4.41, 0.79, 2.43, 0, 0);
        var customer = new CustomerSummary(x, tx, age, 0);
        double[] horizons = [.. Enumerable.Range(1, 12).Select(m => m * 52.0 / 12)];
        var curve = new double[horizons.Length];

        fit.ExpectedPurchases(customer, horizons, curve);

        for (var i = 0; i < horizons.Length; i++)
        {
            var single = fit.ExpectedPurchases(customer, horizons[i]);
            Assert.True(Math.Abs(curve[i] - single) <= 1e-9 * Math.Max(1, Math.Abs(single)), $"horizon {horizons[i]}: {curve[i]} vs {single}");
        }
    }

    [Fact]
    public void A_customer_with_thousands_of_purchase_days_gets_a_finite_forecast()
    {
        var fit = new BgNbdParameters(0.5, 5, 0.8, 3, 0, 0);
        double e = fit.ExpectedPurchases(new CustomerSummary(3000, 499, 500, 10), 52);
        Assert.True(double.IsFinite(e) && e > 100, $"{e}");
    }
}
