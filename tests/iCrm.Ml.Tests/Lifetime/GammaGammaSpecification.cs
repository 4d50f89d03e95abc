using iCrm.Ml.Lifetime;

namespace iCrm.Ml.Tests.Lifetime;

public class GammaGammaSpecification
{
    private const double P = 6, Q = 4, G = 15;

    [Fact]
    public void Spend_parameters_used_to_simulate_customers_are_recovered_within_twenty_percent()
    {
        // Frequent buyers so that most of the 10k simulated customers have repeat purchases to learn spend from.
        var customers = LifetimeSimulation.Simulate(10_000, seed: 7, r: 2, alpha: 5, a: 0.5, b: 5, p: P, q: Q, gamma: G);
        var fit = GammaGamma.Fit(customers.Select(c => c.Summary).ToList());
        Assert.True(fit.Customers > 5_000, $"{fit.Customers} repeat buyers");
        Assert.InRange(fit.P, P * 0.8, P * 1.2);
        Assert.InRange(fit.Q, Q * 0.8, Q * 1.2);
        Assert.InRange(fit.Gamma, G * 0.8, G * 1.2);
        Assert.InRange(fit.PopulationMeanSpend, P * G / (Q - 1) * 0.9, P * G / (Q - 1) * 1.1);
    }

    [Fact]
    public void A_customers_expected_spend_lies_between_the_population_mean_and_their_own_average()
    {
        var fit = new GammaGammaParameters(P, Q, G, 0, 0);
        var bigSpender = new CustomerSummary(5, 30, 50, 200);
        double expected = fit.ExpectedAverageSpend(bigSpender);
        Assert.InRange(expected, fit.PopulationMeanSpend, 200);
        Assert.Equal(fit.PopulationMeanSpend, fit.ExpectedAverageSpend(new CustomerSummary(0, 0, 50, 0)));
    }

    [Fact]
    public void Customers_without_repeat_purchases_are_not_used_to_fit_spend()
    {
        Assert.False(GammaGamma.IsUsable(new CustomerSummary(0, 0, 10, 0, 50)));
        Assert.False(GammaGamma.IsUsable(new CustomerSummary(2, 5, 10, -3)));
        Assert.True(GammaGamma.IsUsable(new CustomerSummary(2, 5, 10, 30)));
    }
}

public class LifetimeTrainerSpecification
{
    [Fact]
    public void Without_enough_repeat_buyers_spend_is_not_modelled_and_clv_uses_the_customers_own_average()
    {
        var customers = LifetimeSimulation.Simulate(2_000, seed: 9, r: 0.5, alpha: 5, a: 0.8, b: 3).Select(c => c.Summary).ToList();
        var result = LifetimeTrainer.Train(customers, minimumRepeatBuyers: 1_000_000);
        Assert.Null(result.Model.Spend);
        var someone = new CustomerSummary(3, 40, 60, 20, 100);
        Assert.Equal(25, result.Model.Score(someone).ExpectedAverageSpend, 9);
    }

    [Fact]
    public void Clv_is_the_discounted_sum_of_monthly_purchases_times_expected_spend()
    {
        var model = new LifetimeValueModel(new BgNbdParameters(0.5, 5, 0.8, 3, 0, 0), new GammaGammaParameters(6, 4, 15, 0, 0), MonthlyDiscountRate: 0.02);
        var c = new CustomerSummary(4, 50, 60, 40, 200);
        double spend = model.Spend!.ExpectedAverageSpend(c), expected = 0;
        for (int m = 1; m <= 12; m++)
            expected += (model.ExpectedPurchases(c, m * 52.0 / 12) - model.ExpectedPurchases(c, (m - 1) * 52.0 / 12)) * spend / Math.Pow(1.02, m);
        var score = model.Score(c);
        Assert.Equal(expected, score.Clv, 9);
        Assert.Equal(model.ExpectedPurchases(c, 52), score.ExpectedPurchases, 9);
        Assert.True(score.Clv < score.ExpectedPurchases * spend); // discounting lowers it
    }

    [Fact]
    public void Observations_from_profiles_split_history_and_holdout_at_the_cutoff()
    {
        var profiles = new[]
        {
            new iCrm.Core.Profiles.CustomerProfile
            {
                Id = "a",
                Orders =
                [
                    new("o1", 1, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "P", 1, 10, "web", false),
                    new("o2", 1, DateTimeOffset.Parse("2026-02-01T00:00:00Z"), "P", 1, 30, "web", false),
                    new("o3", 1, DateTimeOffset.Parse("2026-04-01T00:00:00Z"), "P", 1, 50, "web", false),
                ],
            },
            new iCrm.Core.Profiles.CustomerProfile { Id = "newcomer", Orders = [new("o9", 1, DateTimeOffset.Parse("2026-04-02T00:00:00Z"), "P", 1, 5, "web", false)] },
        };
        var cutoff = DateTimeOffset.Parse("2026-03-01T00:00:00Z");
        var obs = LifetimeTrainer.FromProfiles(profiles, cutoff, cutoff.AddDays(90));
        var a = Assert.Single(obs);
        Assert.Equal(("a", 1, 1, 50.0), (a.CustomerId, a.Summary.Frequency, a.HoldoutPurchases, a.HoldoutSpend));
    }
}
