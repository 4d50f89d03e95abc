using iCrm.Core.Profiles;

namespace iCrm.Ml.Segments;

/// <summary>What RFM needs about one customer as of a cutoff.</summary>
/// <param name="RecencyDays">Days from the last purchase to the cutoff.</param>
/// <param name="Orders">Distinct orders before the cutoff.</param>
/// <param name="Spend">Spend before the cutoff (returned lines left out).</param>
public sealed record RfmInput(string CustomerId, double RecencyDays, int Orders, double Spend)
{
    /// <summary>
    /// RFM inputs from a profile's order lines and monthly buckets before <paramref name="cutoff"/>; null for a customer with
    /// no purchase before it (RFM says nothing about prospects). A bucket's orders are dated mid-month.
    /// </summary>
    public static RfmInput? FromProfile(CustomerProfile profile, DateTimeOffset cutoff)
    {
        // Live scoring runs this per request: distinct orders are counted with this thread's reusable set, and lines of
        // one order (adjacent in the log) without a lookup.
        DateTimeOffset? last = null;
        var orders = OrderIds.Distinct();
        int bucketOrders = 0;
        double spend = 0;
        string? previousOrder = null;
        foreach (var line in profile.Orders)
        {
            if (line.Date >= cutoff) continue;
            if (!string.Equals(line.OrderId, previousOrder, StringComparison.Ordinal))
            {
                orders.Add(line.OrderId);
                previousOrder = line.OrderId;
            }
            if (!line.Returned) spend += (double)line.Amount;
            if (last is null || line.Date > last) last = line.Date;
        }
        var distinctOrders = orders.Count;
        orders.Clear();
        foreach (var bucket in profile.OrderMonths)
        {
            if (!OrderIds.TryMidMonth(bucket.Month, out var mid) || mid >= cutoff || bucket.Orders <= 0) continue;
            bucketOrders += bucket.Orders;
            spend += (double)bucket.Spend;
            if (last is null || mid > last) last = mid;
        }
        if (last is null) return null;
        return new RfmInput(profile.Id, (cutoff - last.Value).TotalDays, distinctOrders + bucketOrders, spend);
    }
}

/// <summary>Quintile scores 1-5 (5 is best: most recent, most frequent, highest spend) and the named segment.</summary>
public readonly record struct RfmScore(int R, int F, int M, string Segment)
{
    /// <summary>The combined frequency-monetary score used by the segment map: (F + M) / 2, rounded half up.</summary>
    public int FM => (F + M + 1) / 2;

    public string Code => $"{R}{F}{M}";
}

/// <summary>
/// RFM quintile boundaries learned from the customer base, so any single customer can be scored later the same way.
/// Each array holds the 20th, 40th, 60th and 80th percentiles. Ties are common (most customers order once), so several
/// boundaries can coincide and a score may be skipped: a value at or below a boundary gets the lower score.
/// </summary>
public sealed record RfmModel(double[] RecencyCuts, double[] FrequencyCuts, double[] MonetaryCuts)
{
    /// <summary>
    /// The standard R × FM map (R rows 5 → 1, FM columns 1 → 5), one name per cell so every score has exactly one segment:
    /// <code>
    /// R\FM  1               2                   3                   4                 5
    /// 5     New             Potential loyalist  Potential loyalist  Champions         Champions
    /// 4     Promising       Potential loyalist  Loyal               Champions         Champions
    /// 3     About to sleep  Need attention      Need attention      Loyal             Loyal
    /// 2     Hibernating     About to sleep      At risk             At risk           Can't lose them
    /// 1     Lost            Hibernating         At risk             Can't lose them   Can't lose them
    /// </code>
    /// </summary>
    private static readonly string[,] Map =
    {
        // FM:       1                 2                     3                     4                  5
        /* R=1 */ { "Lost",           "Hibernating",        "At risk",            "Can't lose them", "Can't lose them" },
        /* R=2 */ { "Hibernating",    "About to sleep",     "At risk",            "At risk",         "Can't lose them" },
        /* R=3 */ { "About to sleep", "Need attention",     "Need attention",     "Loyal",           "Loyal" },
        /* R=4 */ { "Promising",      "Potential loyalist", "Loyal",              "Champions",       "Champions" },
        /* R=5 */ { "New",            "Potential loyalist", "Potential loyalist", "Champions",       "Champions" },
    };

    /// <summary>The eleven segment names, fixed and stable across model versions.</summary>
    public static IReadOnlyList<string> SegmentNames { get; } =
        ["Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention", "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost"];

    /// <summary>What each segment means, in plain words, for the people who act on it (the same for every model version).</summary>
    public static IReadOnlyDictionary<string, string> SegmentDescriptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Champions"] = "Bought recently, buy often and spend the most. Reward them; they are the first to try new products.",
        ["Loyal"] = "Buy regularly and spend well, though not the very latest or biggest buyers. Keep them engaged; offer more of what they buy.",
        ["Potential loyalist"] = "Recent customers with a few orders or middling spend. A membership or a good second experience can make them loyal.",
        ["New"] = "Bought very recently, but only once or for little. Welcome them and help them to a second order.",
        ["Promising"] = "Fairly recent buyers who have not bought much yet. Build the relationship with offers that fit their first purchases.",
        ["Need attention"] = "Middling on recency, frequency and spend. A timely, personal offer can stop them drifting away.",
        ["About to sleep"] = "Have not bought for a while and bought little before. Win them back with something relevant before they lapse.",
        ["At risk"] = "Used to buy often or spend well, but not recently. Reach out personally: this value is slipping away.",
        ["Can't lose them"] = "Were among the best customers by frequency and spend, yet have not bought for a long time. Win them back first.",
        ["Hibernating"] = "Last bought long ago, rarely and for little. Low priority; a general reminder or seasonal offer is enough.",
        ["Lost"] = "The longest since a purchase and the least bought. Mostly gone; contact only in broad, low-cost campaigns.",
    };

    public static string SegmentFor(int r, int fm) => Map[Math.Clamp(r, 1, 5) - 1, Math.Clamp(fm, 1, 5) - 1];

    public static RfmModel Fit(IEnumerable<RfmInput> customers)
    {
        var list = customers.ToList();
        if (list.Count == 0) throw new ArgumentException("RFM needs at least one customer.", nameof(customers));
        return new RfmModel(
            Quintiles(list.Select(c => c.RecencyDays)),
            Quintiles(list.Select(c => (double)c.Orders)),
            Quintiles(list.Select(c => c.Spend)));
    }

    public RfmScore Score(RfmInput customer)
    {
        int r = 5 - Above(RecencyCuts, customer.RecencyDays); // fewer days since the last order is better
        int f = 1 + Above(FrequencyCuts, customer.Orders);
        int m = 1 + Above(MonetaryCuts, customer.Spend);
        return new RfmScore(r, f, m, SegmentFor(r, (f + m + 1) / 2));
    }

    private static int Above(double[] cuts, double value)
    {
        int n = 0;
        foreach (var c in cuts) if (value > c) n++;
        return n;
    }

    private static double[] Quintiles(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var cuts = new double[4];
        for (int k = 1; k <= 4; k++)
        {
            // Linear interpolation between order statistics (the usual "type 7" percentile).
            double pos = k / 5.0 * (sorted.Length - 1);
            int lo = (int)Math.Floor(pos);
            int hi = Math.Min(lo + 1, sorted.Length - 1);
            cuts[k - 1] = sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
        }
        return cuts;
    }
}
