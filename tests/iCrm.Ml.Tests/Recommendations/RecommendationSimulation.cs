using iCrm.Ml.Recommendations;

namespace iCrm.Ml.Tests.Recommendations;

/// <summary>
/// A synthetic shop with planted item groups: each customer has a favourite group and buys mostly from it, sometimes a
/// globally popular item, and (half of the customers) a few staples again and again. Items are named "gGG-iIII";
/// staples "staple-N".
/// </summary>
public static class RecommendationSimulation
{
    public static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<Interaction> Generate(int customers, int groups, int itemsPerGroup, double ordersPerCustomer, int seed, int staples = 5, int days = 365)
    {
        var rnd = new Random(seed);
        var list = new List<Interaction>((int)(customers * ordersPerCustomer * 2.2));
        int allItems = groups * itemsPerGroup;
        for (int c = 0; c < customers; c++)
        {
            string id = $"cust-{c:D6}";
            int favourite = rnd.Next(groups);
            bool stapleBuyer = rnd.NextDouble() < 0.5;
            int orders = 1 + Poisson(rnd, ordersPerCustomer - 1);
            for (int o = 0; o < orders; o++)
            {
                var time = Start.AddMinutes(rnd.Next(days * 24 * 60));
                int lines = 1 + rnd.Next(3);
                for (int l = 0; l < lines; l++)
                {
                    double u = rnd.NextDouble();
                    string item;
                    if (stapleBuyer && u < 0.3) item = $"staple-{Zipf(rnd, staples)}";
                    else if (u < 0.8) item = Item(favourite, Zipf(rnd, itemsPerGroup));
                    else { int k = Zipf(rnd, allItems); item = Item(k % groups, k / groups); }
                    list.Add(new Interaction(id, item, time, 1));
                }
            }
        }
        return list;
    }

    public static string Item(int group, int index) => $"g{group:D2}-i{index:D4}";

    /// <summary>An index in [0, n) with probability ∝ 1/(rank+1): a few items sell far more than the rest.</summary>
    private static int Zipf(Random rnd, int n)
    {
        double h = Math.Log(n) + 0.5772;
        double target = rnd.NextDouble() * h, sum = 0;
        for (int k = 0; k < n; k++)
        {
            sum += 1.0 / (k + 1);
            if (sum >= target) return k;
        }
        return n - 1;
    }

    private static int Poisson(Random rnd, double mean)
    {
        if (mean <= 0) return 0;
        if (mean > 30) return Math.Max(0, (int)Math.Round(mean + Math.Sqrt(mean) * Normal(rnd)));
        double l = Math.Exp(-mean), p = 1;
        int k = 0;
        do { k++; p *= rnd.NextDouble(); } while (p > l);
        return k - 1;
    }

    private static double Normal(Random rnd) => Math.Sqrt(-2 * Math.Log(1 - rnd.NextDouble())) * Math.Cos(2 * Math.PI * rnd.NextDouble());
}
