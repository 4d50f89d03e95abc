using iCrm.Core.Features;

namespace iCrm.Ml.Segments;

/// <summary>What RFM and the behaviour features share when they read a profile's orders on every scoring request.</summary>
internal static class OrderIds
{
    [ThreadStatic]
    private static HashSet<string>? t_distinct;

    /// <summary>This thread's empty set for counting distinct order ids; the caller clears it after use (so it holds no
    /// customer data between calls) and must not hand it on.</summary>
    public static HashSet<string> Distinct()
    {
        var set = t_distinct ??= new HashSet<string>(StringComparer.Ordinal);
        set.Clear();
        return set;
    }

    /// <summary>The 15th of a bucket's <c>yyyy-MM</c> month at midnight UTC, where a bucket's orders are dated.</summary>
    public static bool TryMidMonth(string month, out DateTimeOffset mid)
    {
        if (BucketMonth.TryParse(month, out var year, out var monthOfYear))
        {
            mid = new DateTimeOffset(year, monthOfYear, 15, 0, 0, 0, TimeSpan.Zero);
            return true;
        }

        // Anything else is read as before (a key the ingestion never writes, kept for compatibility).
        return DateTimeOffset.TryParseExact(month + "-15", "yyyy-MM-dd", null, System.Globalization.DateTimeStyles.AssumeUniversal, out mid);
    }
}
