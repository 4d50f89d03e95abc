using System.Globalization;

namespace iCrm.Core.Drops;

/// <summary>
/// Dates, timestamps, numbers and booleans as exporters write them. ISO 8601 and plain decimals take hand-written fast
/// paths (they are most of every file); regional forms fall back to slower but explicit parsing, never to a guess.
/// </summary>
public sealed class DropValueParser
{
    private static readonly string[] MonthNameFormats =
    [
        "d MMM yyyy", "d MMMM yyyy", "d-MMM-yyyy", "d-MMM-yy", "d MMM yy", "MMM d, yyyy", "MMMM d, yyyy", "MMM d yyyy", "MMMM d yyyy",
        "ddd, d MMM yyyy", "dddd, d MMMM yyyy", "ddd MMM d yyyy", "d. MMMM yyyy", "d. MMM yyyy",
        "d MMM yyyy H:mm", "d MMM yyyy H:mm:ss", "MMM d, yyyy h:mm tt", "MMM d, yyyy H:mm", "ddd, d MMM yyyy H:mm:ss",
        "ddd, d MMM yyyy H:mm:ss 'GMT'",
    ];

    private static readonly string[] ZonedFormats = ["ddd, d MMM yyyy H:mm:ss zzz", "d MMM yyyy H:mm:ss zzz", "d MMM yyyy H:mm zzz"];

    private readonly CultureInfo _culture;
    private readonly TimeZoneInfo _zone;
    private readonly bool _zoneIsUtc;
    private readonly bool _monthFirst;
    private readonly bool _commaIsDecimal;
    private readonly int _twoDigitYearMax;

    public DropValueParser(ValidationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _culture = options.CultureInfo;
        _zone = options.TimeZoneInfo;
        _zoneIsUtc = _zone == TimeZoneInfo.Utc || (_zone.BaseUtcOffset == TimeSpan.Zero && !_zone.SupportsDaylightSavingTime);
        _monthFirst = _culture.DateTimeFormat.ShortDatePattern.TrimStart().StartsWith('M');
        _commaIsDecimal = _culture.NumberFormat.NumberDecimalSeparator == ",";
        _twoDigitYearMax = _culture.Calendar.TwoDigitYearMax;
    }

    // ------------------------------------------------------------------ dates

    /// <summary>A point in time; without an offset in the text, the configured time zone applies (dates alone = local midnight).</summary>
    public bool TryParseTimestamp(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        if (!TryParseParts(text.Trim(), out var local, out var offset))
        {
            value = default;
            return false;
        }

        try
        {
            value = new DateTimeOffset(local, offset ?? (_zoneIsUtc ? TimeSpan.Zero : _zone.GetUtcOffset(local)));
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            value = default;
            return false;
        }
    }

    /// <summary>A calendar date as written (a time part, if any, is ignored rather than shifted across midnight).</summary>
    public bool TryParseDate(ReadOnlySpan<char> text, out DateOnly value)
    {
        if (!TryParseParts(text.Trim(), out var local, out _))
        {
            value = default;
            return false;
        }

        value = DateOnly.FromDateTime(local);
        return true;
    }

    private bool TryParseParts(ReadOnlySpan<char> s, out DateTime local, out TimeSpan? offset)
    {
        offset = null;
        local = default;
        if (s.Length < 6)
        {
            return false;
        }

        // ISO 8601: yyyy-MM-dd[(T| )HH:mm[:ss[.fffffff]]][Z|±HH[:]mm]
        if (s.Length >= 10 && s[4] == '-' && s[7] == '-'
            && TryDigits(s, 0, 4, out var y) && TryDigits(s, 5, 2, out var mo) && TryDigits(s, 8, 2, out var d))
        {
            if (!TryDate(y, mo, d, out var date))
            {
                return false;
            }

            if (s.Length == 10)
            {
                local = date;
                return true;
            }

            if (s[10] is not ('T' or ' ' or 't'))
            {
                return false;
            }

            return TryTimeAndZone(s[11..], date, out local, out offset);
        }

        if (TryParseNumericRegional(s, out local, out offset))
        {
            return true;
        }

        return TryParseFallback(s, out local, out offset);
    }

    /// <summary>dd/MM/yyyy or MM/dd/yyyy (by culture), dd.MM.yyyy, yyyy/MM/dd, yyyyMMdd, epoch seconds/millis, each with an optional time.</summary>
    private bool TryParseNumericRegional(ReadOnlySpan<char> s, out DateTime local, out TimeSpan? offset)
    {
        local = default;
        offset = null;

        var allDigits = !s.ContainsAnyExceptInRange('0', '9');
        if (allDigits)
        {
            if (s.Length == 8 && TryDigits(s, 0, 4, out var y8) && TryDigits(s, 4, 2, out var m8) && TryDigits(s, 6, 2, out var d8))
            {
                if (TryDate(y8, m8, d8, out local))
                {
                    return true;
                }
            }

            if ((s.Length == 10 || s.Length == 13) && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
            {
                var ms = s.Length == 13 ? epoch : epoch * 1000;
                local = DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;
                offset = TimeSpan.Zero;
                return true;
            }

            return false;
        }

        // split into date part and optional time part
        var space = s.IndexOfAny(' ', 'T');
        var datePart = space < 0 ? s : s[..space];
        var timePart = space < 0 ? default : s[(space + 1)..].TrimStart();

        var sep1 = datePart.IndexOfAny('/', '.', '-');
        if (sep1 <= 0)
        {
            return false;
        }

        var sepChar = datePart[sep1];
        var sep2 = datePart[(sep1 + 1)..].IndexOf(sepChar);
        if (sep2 <= 0)
        {
            return false;
        }

        sep2 += sep1 + 1;
        var a = datePart[..sep1];
        var b = datePart[(sep1 + 1)..sep2];
        var c = datePart[(sep2 + 1)..];
        if (c.EndsWith('.'))
        {
            c = c[..^1];
        }

        if (!TryInt(a, out var ia) || !TryInt(b, out var ib) || !TryInt(c, out var ic))
        {
            return false;
        }

        int year, month, day;
        if (a.Length == 4)
        {
            (year, month, day) = (ia, ib, ic); // yyyy/MM/dd
        }
        else if (c.Length is 4 or 2)
        {
            year = c.Length == 2 ? TwoDigitYear(ic) : ic;
            // Dots are day-first everywhere (dd.MM.yyyy); slashes and dashes follow the source's culture strictly: a
            // date that does not fit it (13/05 in a month-first source) is invalid, not silently read the other way,
            // because guessing per row would mix up the days and months of the rows that do fit.
            var monthFirst = sepChar != '.' && _monthFirst;
            (month, day) = monthFirst ? (ia, ib) : (ib, ia);
        }
        else
        {
            return false;
        }

        if (!TryDate(year, month, day, out var date))
        {
            return false;
        }

        if (timePart.IsEmpty)
        {
            local = date;
            return true;
        }

        return TryTimeAndZone(timePart, date, out local, out offset);
    }

    private bool TryParseFallback(ReadOnlySpan<char> s, out DateTime local, out TimeSpan? offset)
    {
        offset = null;
        if ((s.Contains('+') || s.Contains(':')) && DateTimeOffset.TryParseExact(s, ZonedFormats, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var zoned))
        {
            local = zoned.DateTime;
            offset = zoned.Offset;
            return true;
        }

        if (DateTime.TryParseExact(s, MonthNameFormats, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out local)
            || DateTime.TryParseExact(s, MonthNameFormats, _culture, DateTimeStyles.AllowWhiteSpaces, out local))
        {
            if (s.EndsWith("GMT", StringComparison.OrdinalIgnoreCase))
            {
                offset = TimeSpan.Zero;
            }

            local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
            return true;
        }

        return false;
    }

    /// <summary>HH:mm[:ss[.fffffff]] [AM|PM] then Z, ±HH:mm, ±HHmm, ±HH, or " UTC"/" GMT".</summary>
    private static bool TryTimeAndZone(ReadOnlySpan<char> s, DateTime date, out DateTime local, out TimeSpan? offset)
    {
        local = default;
        offset = null;
        var i = 0;
        if (!TryVarDigits(s, ref i, 1, 2, out var hour) || i >= s.Length || s[i] != ':')
        {
            return false;
        }

        i++;
        if (!TryVarDigits(s, ref i, 2, 2, out var minute))
        {
            return false;
        }

        var second = 0;
        long ticks = 0;
        if (i < s.Length && s[i] == ':')
        {
            i++;
            if (!TryVarDigits(s, ref i, 2, 2, out second))
            {
                return false;
            }

            if (i < s.Length && (s[i] == '.' || s[i] == ','))
            {
                i++;
                var scale = TimeSpan.TicksPerSecond / 10;
                var digits = 0;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    ticks += (s[i] - '0') * scale;
                    scale /= 10;
                    i++;
                    digits++;
                }

                if (digits == 0)
                {
                    return false;
                }
            }
        }

        var rest = s[i..].TrimStart();
        if (rest.StartsWith("AM", StringComparison.OrdinalIgnoreCase) || rest.StartsWith("PM", StringComparison.OrdinalIgnoreCase))
        {
            if (hour is < 1 or > 12)
            {
                return false;
            }

            var pm = rest[0] is 'P' or 'p';
            hour = (hour % 12) + (pm ? 12 : 0);
            rest = rest[2..].TrimStart();
        }

        if (hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        if (!rest.IsEmpty)
        {
            if (rest is "Z" or "z" || rest.Equals("UTC", StringComparison.OrdinalIgnoreCase) || rest.Equals("GMT", StringComparison.OrdinalIgnoreCase))
            {
                offset = TimeSpan.Zero;
            }
            else if (rest[0] is '+' or '-')
            {
                var sign = rest[0] == '-' ? -1 : 1;
                var z = rest[1..];
                int oh, om = 0;
                if (z.Length == 5 && z[2] == ':' && TryDigits(z, 0, 2, out oh) && TryDigits(z, 3, 2, out om))
                {
                }
                else if (z.Length == 4 && TryDigits(z, 0, 2, out oh) && TryDigits(z, 2, 2, out om))
                {
                }
                else if (z.Length == 2 && TryDigits(z, 0, 2, out oh))
                {
                }
                else
                {
                    return false;
                }

                if (oh > 14 || om > 59)
                {
                    return false;
                }

                offset = new TimeSpan(sign * oh, sign * om, 0);
            }
            else
            {
                return false;
            }
        }

        local = date.AddTicks((hour * TimeSpan.TicksPerHour) + (minute * TimeSpan.TicksPerMinute) + (second * TimeSpan.TicksPerSecond) + ticks);
        return true;
    }

    private int TwoDigitYear(int yy)
    {
        var century = (_twoDigitYearMax / 100) * 100;
        var year = century + yy;
        return year > _twoDigitYearMax ? year - 100 : year;
    }

    private static bool TryDate(int year, int month, int day, out DateTime date)
    {
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            date = default;
            return false;
        }

        date = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Unspecified);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> s, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            var d = s[i] - '0';
            if ((uint)d > 9)
            {
                return false;
            }

            value = (value * 10) + d;
        }

        return true;
    }

    private static bool TryVarDigits(ReadOnlySpan<char> s, ref int i, int min, int max, out int value)
    {
        value = 0;
        var n = 0;
        while (i < s.Length && n < max && char.IsAsciiDigit(s[i]))
        {
            value = (value * 10) + (s[i] - '0');
            i++;
            n++;
        }

        return n >= min;
    }

    private static bool TryInt(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 4)
        {
            return false;
        }

        return TryDigits(s, 0, s.Length, out value);
    }

    // ---------------------------------------------------------------- numbers

    /// <summary>
    /// Decimals with either separator: <c>1234.5</c>, <c>1,234.56</c>, <c>1.234,56</c>, <c>12,5</c>, <c>1 234,5</c>,
    /// <c>(12.50)</c>, <c>$12</c>. One comma followed by exactly three digits (<c>1,234</c>) is a thousands separator
    /// when the culture's decimal separator is a point, a decimal comma otherwise. A lone point is always decimal.
    /// </summary>
    public bool TryParseDecimal(ReadOnlySpan<char> text, out decimal value)
    {
        var s = text.Trim();
        if (TryParsePlainDecimal(s, out value))
        {
            return true;
        }

        return TryParseDecimalSlow(s, out value);
    }

    /// <summary>[-+]digits[.digits] with at most 18 significant digits, straight into a decimal.</summary>
    private static bool TryParsePlainDecimal(ReadOnlySpan<char> s, out decimal value)
    {
        value = 0;
        var i = 0;
        var negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            i = 1;
        }

        long mantissa = 0;
        var digits = 0;
        var scale = -1;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            var d = c - '0';
            if ((uint)d <= 9)
            {
                if (++digits > 18)
                {
                    return false;
                }

                mantissa = (mantissa * 10) + d;
                if (scale >= 0)
                {
                    scale++;
                }
            }
            else if (c == '.' && scale < 0)
            {
                scale = 0;
            }
            else
            {
                return false;
            }
        }

        if (digits == 0)
        {
            return false;
        }

        value = new decimal((int)mantissa, (int)(mantissa >> 32), 0, negative, (byte)Math.Max(scale, 0));
        return true;
    }

    private bool TryParseDecimalSlow(ReadOnlySpan<char> s, out decimal value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 64)
        {
            return false;
        }

        var negative = false;
        if (s[0] == '(' && s[^1] == ')')
        {
            negative = true;
            s = s[1..^1].Trim();
        }

        s = s.Trim("$€£¥ ").Trim();
        if (s.EndsWith('-'))
        {
            negative = !negative;
            s = s[..^1];
        }

        var lastDot = s.LastIndexOf('.');
        var lastComma = s.LastIndexOf(',');
        var dots = s.Count('.');
        var commas = s.Count(',');
        char decimalSeparator;
        if (dots > 0 && commas > 0)
        {
            decimalSeparator = lastDot > lastComma ? '.' : ',';
            if ((decimalSeparator == '.' ? dots : commas) > 1)
            {
                return false;
            }
        }
        else if (commas == 1)
        {
            var digitsAfter = s.Length - lastComma - 1;
            decimalSeparator = digitsAfter == 3 && !_commaIsDecimal ? '\0' : ',';
        }
        else if (dots == 1)
        {
            decimalSeparator = '.';
        }
        else
        {
            decimalSeparator = '\0'; // none, or several of one kind: grouping only
        }

        Span<char> buffer = stackalloc char[s.Length + 1];
        var n = 0;
        if (negative)
        {
            buffer[n++] = '-';
        }

        foreach (var c in s)
        {
            if (char.IsAsciiDigit(c) || c is '-' or '+' or 'e' or 'E')
            {
                buffer[n++] = c;
            }
            else if (c == decimalSeparator)
            {
                buffer[n++] = '.';
            }
            else if (c is '.' or ',' or ' ' or '\u00A0' or '\u202F' or '\'' or '_')
            {
                // grouping
            }
            else
            {
                return false;
            }
        }

        return decimal.TryParse(buffer[..n], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value);
    }

    public bool TryParseInt(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        if (!TryParseDecimal(text, out var d) || d != decimal.Truncate(d) || d < int.MinValue || d > int.MaxValue)
        {
            return false;
        }

        value = (int)d;
        return true;
    }

    // ---------------------------------------------------------------- booleans

    /// <summary>true/false, yes/no, y/n, t/f, 1/0, on/off, in any case.</summary>
    public static bool TryParseBoolean(ReadOnlySpan<char> text, out bool value)
    {
        var s = text.Trim();
        if (s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("yes", StringComparison.OrdinalIgnoreCase)
            || s.Equals("y", StringComparison.OrdinalIgnoreCase) || s.Equals("t", StringComparison.OrdinalIgnoreCase)
            || s is "1" || s.Equals("on", StringComparison.OrdinalIgnoreCase))
        {
            value = true;
            return true;
        }

        if (s.Equals("false", StringComparison.OrdinalIgnoreCase) || s.Equals("no", StringComparison.OrdinalIgnoreCase)
            || s.Equals("n", StringComparison.OrdinalIgnoreCase) || s.Equals("f", StringComparison.OrdinalIgnoreCase)
            || s is "0" || s.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            value = false;
            return true;
        }

        value = false;
        return false;
    }
}
