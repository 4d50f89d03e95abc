using iCrm.Core.Profiles;
using iCrm.Ml.Lifetime;
using MathNet.Numerics.Distributions;

namespace iCrm.Ml.Tests.Lifetime;

/// <summary>
/// Customers drawn from the BG/NBD and Gamma-Gamma generative processes with known parameters, observed up to their age T
/// and then for a holdout period, so fitted parameters and forecasts can be checked against the truth.
/// </summary>
public static class LifetimeSimulation
{
    public sealed record SimulatedCustomer(CustomerSummary Summary, int HoldoutPurchases, double HoldoutSpend);

    /// <param name="minAge">Smallest T in weeks (customers' first purchases are spread uniformly so T ranges to maxAge).</param>
    public static List<SimulatedCustomer> Simulate(int customers, int seed,
        double r, double alpha, double a, double b,
        double p = 6, double q = 4, double gamma = 15,
        double minAge = 52, double maxAge = 104, double holdoutWeeks = 26)
    {
        var rnd = new Random(seed);
        var list = new List<SimulatedCustomer>(customers);
        for (int i = 0; i < customers; i++)
        {
            double lambda = Gamma.Sample(rnd, r, alpha);
            double dropout = Beta.Sample(rnd, a, b);
            double nu = Gamma.Sample(rnd, q, gamma);
            double age = minAge + rnd.NextDouble() * (maxAge - minAge);
            // Purchase times after the first one at time 0; the customer may drop out right after any repeat purchase.
            int x = 0, holdout = 0;
            double t = 0, last = 0, repeatSpend = 0, holdoutSpend = 0;
            bool alive = true;
            while (alive)
            {
                t += Exponential.Sample(rnd, lambda);
                if (t > age + holdoutWeeks) break;
                double value = Gamma.Sample(rnd, p, nu);
                if (t <= age) { x++; last = t; repeatSpend += value; }
                else { holdout++; holdoutSpend += value; }
                if (rnd.NextDouble() < dropout) alive = false;
            }
            double firstSpend = Gamma.Sample(rnd, p, nu);
            list.Add(new SimulatedCustomer(new CustomerSummary(x, last, age, x > 0 ? repeatSpend / x : 0, firstSpend + repeatSpend), holdout, holdoutSpend));
        }
        return list;
    }

    /// <summary>
    /// Profiles with dated order lines drawn from BG/NBD (purchase rate Gamma(r, alpha) per week, dropout Beta(a, b) after
    /// each repeat purchase) and Gamma-Gamma spend: first purchases spread over the first <paramref name="firstPurchaseWeeks"/>
    /// weeks after <paramref name="start"/>, observed for <paramref name="observedWeeks"/> weeks, like the CDNOW cohort.
    /// Purchases on the same day count once, as the summaries do.
    /// </summary>
    public static List<CustomerProfile> Profiles(int customers, int seed, DateTimeOffset start,
        double r, double alpha, double a, double b, double observedWeeks = 78, double firstPurchaseWeeks = 12,
        double p = 6, double q = 4, double gamma = 15)
    {
        var rnd = new Random(seed);
        var list = new List<CustomerProfile>(customers);
        for (int i = 0; i < customers; i++)
        {
            double lambda = Gamma.Sample(rnd, r, alpha);
            double dropout = Beta.Sample(rnd, a, b);
            double nu = Gamma.Sample(rnd, q, gamma);
            var profile = new CustomerProfile { Id = $"c{i:D6}" };
            double t = rnd.NextDouble() * firstPurchaseWeeks;
            int n = 0;
            var lastDay = DateOnly.MinValue;
            while (true)
            {
                var day = DateOnly.FromDateTime(start.AddDays(Math.Floor(t * 7)).UtcDateTime);
                if (day != lastDay)
                {
                    var date = new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
                    profile.Orders.Add(new OrderLine($"o{i}-{n}", 1, date, "p1", 1, (decimal)Math.Round(Gamma.Sample(rnd, p, nu), 2), "web", false));
                    lastDay = day;
                    n++;
                }
                if (n > 1 && rnd.NextDouble() < dropout) break;
                t += Exponential.Sample(rnd, lambda);
                if (t >= observedWeeks) break;
            }
            list.Add(profile);
        }
        return list;
    }
}
