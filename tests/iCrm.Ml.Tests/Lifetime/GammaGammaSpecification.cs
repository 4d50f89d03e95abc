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
