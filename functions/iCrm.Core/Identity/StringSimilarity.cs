namespace iCrm.Core.Identity;

/// <summary>String comparators used by the matcher, implemented here so scores are the same everywhere the domain runs.</summary>
public static class StringSimilarity
{
    /// <summary>
    /// Jaro–Winkler similarity in [0, 1] (Winkler 1990: prefix scale 0.1, common prefix up to 4 characters), ordinal and
    /// case-sensitive: callers compare normalised (lower-case) text. MARTHA/MARHTA = 0.961, DWAYNE/DUANE = 0.84.
    /// </summary>
    public static double JaroWinkler(string a, string b)
    {
        var jaro = Jaro(a, b);
        if (jaro <= 0)
        {
            return jaro;
        }

        var prefix = 0;
        var max = Math.Min(4, Math.Min(a.Length, b.Length));
        while (prefix < max && a[prefix] == b[prefix])
        {
            prefix++;
        }

        return jaro + (prefix * 0.1 * (1 - jaro));
    }

    public static double Jaro(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length == 0 || b.Length == 0)
        {
            return a.Length == b.Length ? 1 : 0;
        }

        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return 1;
        }

        var window = Math.Max(0, (Math.Max(a.Length, b.Length) / 2) - 1);
        // Names are short: flags on the stack avoid allocating per comparison (the matcher runs millions of them).
        Span<bool> aMatched = a.Length <= 128 ? stackalloc bool[a.Length] : new bool[a.Length];
        Span<bool> bMatched = b.Length <= 128 ? stackalloc bool[b.Length] : new bool[b.Length];
        var matches = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var from = Math.Max(0, i - window);
            var to = Math.Min(b.Length - 1, i + window);
            for (var j = from; j <= to; j++)
            {
                if (!bMatched[j] && a[i] == b[j])
                {
                    aMatched[i] = true;
                    bMatched[j] = true;
                    matches++;
                    break;
                }
            }
        }

        if (matches == 0)
        {
            return 0;
        }

        var halfTranspositions = 0;
        var k = 0;
        for (var i = 0; i < a.Length; i++)
        {
            if (!aMatched[i])
            {
                continue;
            }

            while (!bMatched[k])
            {
                k++;
            }

            if (a[i] != b[k])
            {
                halfTranspositions++;
            }

            k++;
        }

        double m = matches;
        return ((m / a.Length) + (m / b.Length) + ((m - (halfTranspositions / 2.0)) / m)) / 3.0;
    }

    /// <summary>True when the two strings have the same length and differ in one position, or by swapping two adjacent characters.</summary>
    public static bool IsSingleTypo(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        var first = -1;
        var differences = 0;
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                if (differences == 0)
                {
                    first = i;
                }

                differences++;
                if (differences > 2)
                {
                    return false;
                }
            }
        }

        return differences switch
        {
            1 => true,
            2 => first + 1 < a.Length && a[first] == b[first + 1] && a[first + 1] == b[first],
            _ => false,
        };
    }
}

/// <summary>Phonetic codes for blocking: names that sound alike share a block even when spelled differently.</summary>
public static class Phonetic
{
    /// <summary>
    /// American Soundex (first letter + three digits, H/W do not separate equal codes, vowels do), e.g. Robert/Rupert → R163,
    /// Tymczak → T522, Pfister → P236. Non-letters are ignored; empty when there is no letter.
    /// </summary>
    public static string Soundex(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return string.Empty;
        }

        Span<char> code = stackalloc char[4];
        var length = 0;
        var previous = '\0';
        foreach (var raw in name)
        {
            var c = char.ToUpperInvariant(raw);
            if (c is < 'A' or > 'Z')
            {
                continue;
            }

            var digit = SoundexDigit(c);
            if (length == 0)
            {
                code[length++] = c;
                previous = digit;
                continue;
            }

            if (c is 'H' or 'W')
            {
                continue;
            }

            if (digit == '0')
            {
                previous = '0';
                continue;
            }

            if (digit != previous)
            {
                code[length++] = digit;
                if (length == 4)
                {
                    break;
                }
            }

            previous = digit;
        }

        if (length == 0)
        {
            return string.Empty;
        }

        for (var i = length; i < 4; i++)
        {
            code[i] = '0';
        }

        return new string(code);
    }

    private static char SoundexDigit(char c) => c switch
    {
        'B' or 'F' or 'P' or 'V' => '1',
        'C' or 'G' or 'J' or 'K' or 'Q' or 'S' or 'X' or 'Z' => '2',
        'D' or 'T' => '3',
        'L' => '4',
        'M' or 'N' => '5',
        'R' => '6',
        _ => '0',
    };
}
