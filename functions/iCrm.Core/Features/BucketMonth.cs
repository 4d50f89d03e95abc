using System.Globalization;

namespace iCrm.Core.Features;

/// <summary>
/// Reads the <c>yyyy-MM</c> key of a monthly bucket (orders, events) by hand, without building or parsing a date string:
/// feature building and live scoring read every bucket of every profile they score.
/// </summary>
public static class BucketMonth
{
    /// <summary>True for exactly four digits, a dash and two digits naming a month of years 1–9999.</summary>
    public static bool TryParse(string? key, out int year, out int month)
    {
        if (key is { Length: 7 } && key[4] == '-'
            && int.TryParse(key.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out year)
            && int.TryParse(key.AsSpan(5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out month)
            && year is >= 1 and <= 9999 && month is >= 1 and <= 12)
        {
            return true;
        }

        year = 0;
        month = 0;
        return false;
    }

    /// <summary>The first day of the bucket's month, midnight UTC.</summary>
    public static bool TryStart(string? key, out DateTimeOffset start)
    {
        if (TryParse(key, out var year, out var month))
        {
            start = new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero);
            return true;
        }

        start = default;
        return false;
    }
}
