using iCrm.Core.Profiles;

namespace iCrm.Ml.Lifetime;

/// <summary>
/// A customer's purchase history as of a cutoff, in the shape BG/NBD and Gamma-Gamma expect. Time is in
/// <see cref="LifetimeTime.Unit"/> (weeks). A "purchase" is a purchase day: several orders on one calendar day (UTC) count once,
/// as in Fader, Hardie and Lee (2005).
/// </summary>
/// <param name="Frequency">Repeat purchases: purchase days after the first one (x).</param>
/// <param name="Recency">Time from the first purchase to the last one (t_x); 0 when there is no repeat purchase.</param>
/// <param name="Age">Time from the first purchase to the cutoff (T).</param>
/// <param name="MonetaryValue">Average spend per repeat purchase day (the first purchase is left out, as Gamma-Gamma expects); 0 without repeats.</param>
/// <param name="TotalSpend">All spend before the cutoff, first purchase included (for the naive baseline).</param>
public sealed record CustomerSummary(int Frequency, double Recency, double Age, double MonetaryValue, double TotalSpend = 0)
{
    /// <summary>
    /// Summarises a profile as of <paramref name="cutoff"/> (only purchases strictly before it). Returns null when the customer
    /// bought nothing before the cutoff. Order lines are grouped into purchase days; spend of returned lines is left out.
    /// Monthly buckets (older orders) are spread evenly over their month: a bucket with n orders becomes n purchase days,
    /// each with an equal share of the month's spend, because the day of each order is no longer known.
    /// </summary>
    public static CustomerSummary? FromProfile(CustomerProfile profile, DateTimeOffset cutoff)
    {
        // Live scoring calls this per request: collect (day, spend) into a pooled buffer and sort, rather than a
        // SortedDictionary per call.
        int capacity = profile.Orders.Count;
        foreach (var bucket in profile.OrderMonths) capacity += Math.Max(0, Math.Min(bucket.Orders, 31));
        if (capacity == 0) return null;
        var pool = System.Buffers.ArrayPool<(int Day, double Spend)>.Shared;
        var buffer = pool.Rent(capacity);
        try
        {
            int n = 0;
            var cutoffUtc = cutoff.UtcDateTime;
            foreach (var (day, spend) in PurchaseDays(profile))
            {
                if (day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) >= cutoffUtc) continue;
                buffer[n++] = (day.DayNumber, spend);
            }
            if (n == 0) return null;
            var days = buffer.AsSpan(0, n);
            days.Sort();

            int distinct = 0, firstDay = days[0].Day, lastDay = days[0].Day;
            double total = 0, firstDaySpend = 0;
            int previous = int.MinValue;
            foreach (var (day, spend) in days)
            {
                if (day != previous) { distinct++; previous = day; lastDay = day; }
                if (day == firstDay) firstDaySpend += spend;
                total += spend;
            }
            var first = DateOnly.FromDayNumber(firstDay);
            var last = DateOnly.FromDayNumber(lastDay);
            var cutoffDay = DateOnly.FromDateTime(cutoffUtc);
            int frequency = distinct - 1;
            double repeatSpend = total - firstDaySpend;
            return new CustomerSummary(
                frequency,
                LifetimeTime.Weeks(first, last),
                Math.Max(LifetimeTime.Weeks(first, cutoffDay), LifetimeTime.Weeks(first, last)),
                frequency > 0 ? repeatSpend / frequency : 0,
                total);
        }
        finally
        {
            pool.Return(buffer);
        }
    }

    /// <summary>Distinct purchase days in [<paramref name="from"/>, <paramref name="to"/>): the holdout target for BG/NBD.</summary>
    public static int PurchaseDaysBetween(CustomerProfile profile, DateTimeOffset from, DateTimeOffset to)
    {
        var days = new HashSet<DateOnly>();
        foreach (var (day, _) in PurchaseDays(profile))
        {
            var at = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            if (at >= from.UtcDateTime && at < to.UtcDateTime) days.Add(day);
        }
        return days.Count;
    }

    /// <summary>Spend (non-returned lines) in [<paramref name="from"/>, <paramref name="to"/>): the holdout target for CLV.</summary>
    public static double SpendBetween(CustomerProfile profile, DateTimeOffset from, DateTimeOffset to)
    {
        double spend = 0;
        foreach (var (day, amount) in PurchaseDays(profile))
        {
            var at = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            if (at >= from.UtcDateTime && at < to.UtcDateTime) spend += amount;
        }
        return spend;
    }

    private static IEnumerable<(DateOnly Day, double Spend)> PurchaseDays(CustomerProfile profile)
    {
        foreach (var line in profile.Orders)
            yield return (DateOnly.FromDateTime(line.Date.UtcDateTime), line.Returned ? 0 : (double)line.Amount);

        foreach (var bucket in profile.OrderMonths)
        {
            if (bucket.Orders <= 0 || !DateOnly.TryParseExact(bucket.Month + "-01", "yyyy-MM-dd", out var monthStart)) continue;
            int daysInMonth = DateTime.DaysInMonth(monthStart.Year, monthStart.Month);
            int orders = Math.Min(bucket.Orders, daysInMonth);
            for (int i = 0; i < orders; i++)
                yield return (monthStart.AddDays((int)((i + 0.5) * daysInMonth / orders)), (double)bucket.Spend / orders);
        }
    }
}

/// <summary>The time unit of the lifetime models. Weeks keep parameters in the ranges the literature reports.</summary>
public static class LifetimeTime
{
    public const string Unit = "weeks";

    /// <summary>Weeks in an average month (52/12); CLV is discounted per month of this length.</summary>
    public const double WeeksPerMonth = 52.0 / 12.0;

    public static double Weeks(DateOnly from, DateOnly to) => (to.DayNumber - from.DayNumber) / 7.0;
}
