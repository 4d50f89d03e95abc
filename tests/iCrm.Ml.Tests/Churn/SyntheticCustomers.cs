using iCrm.Core.Profiles;

namespace iCrm.Ml.Tests.Churn;

/// <summary>
/// Customers with a known churn mechanism: each buys as a Poisson process at its own rate until it silently "dies"
/// at an exponentially distributed time (a BG/NBD-like world). Whether a customer buys in the window after a cutoff
/// therefore depends on how recently and how often it bought before (recency/frequency) plus chance.
/// A noisy numeric attribute ("satisfaction") shortens the lifetime of unhappy customers; a categorical "plan" is noise.
/// </summary>
public static class SyntheticCustomers
{
    public static readonly DateTimeOffset DataEnd = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<CustomerProfile> Generate(int count, int seed, int historyDays = 720)
    {
        var rng = new Random(seed);
        var start = DataEnd.AddDays(-historyDays);
        string[] channels = ["web", "app", "pos", "callcenter"];
        var profiles = new List<CustomerProfile>(count);
        for (var c = 0; c < count; c++)
        {
            var p = new CustomerProfile { Id = $"c{c:D6}" };
            var joined = start.AddDays(rng.NextDouble() * historyDays * 0.7);
            p.SignupDate = DateOnly.FromDateTime(joined.UtcDateTime);
            var satisfaction = rng.Next(1, 11);
            p.Attributes["satisfaction"] = satisfaction.ToString(System.Globalization.CultureInfo.InvariantCulture);
            p.Attributes["plan"] = rng.NextDouble() < 0.3 ? "premium" : "standard";
            var ordersPerDay = Math.Exp(-3.3 + 0.8 * Normal(rng)); // about one order a month, widely spread
            var meanLifetime = 150 + 60 * satisfaction;
            var dies = joined.AddDays(-Math.Log(1 - rng.NextDouble()) * meanLifetime);
            var channel = channels[rng.Next(channels.Length)];
            var spend = 20 + 60 * rng.NextDouble();
            var t = joined;
            var orderNo = 0;
            while (true)
            {
                t = t.AddDays(-Math.Log(1 - rng.NextDouble()) / ordersPerDay);
                if (t >= dies || t >= DataEnd)
                {
                    break;
                }

                var id = $"{p.Id}-o{orderNo++}";
                var lines = rng.Next(1, 3);
                for (var l = 1; l <= lines; l++)
                {
                    p.Orders.Add(new OrderLine(id, l, t, $"p{rng.Next(200)}", 1, (decimal)Math.Round(spend * (0.5 + rng.NextDouble()), 2),
                        rng.NextDouble() < 0.8 ? channel : channels[rng.Next(channels.Length)], rng.NextDouble() < 0.05));
                }

                // Engagement while alive: a few views per order.
                for (var e = rng.Next(0, 4); e > 0; e--)
                {
                    p.RecentEvents.Add(new CustomerEvent(t.AddDays(-rng.NextDouble() * 5), "view", null, null, "web"));
                }
            }

            p.RecentEvents.Sort((a, b) => a.Timestamp.CompareTo(b.Timestamp));
            profiles.Add(p);
        }

        return profiles;
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
