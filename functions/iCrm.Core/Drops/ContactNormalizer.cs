using System.Globalization;
using System.Text;
using PhoneNumbers;

namespace iCrm.Core.Drops;

/// <summary>
/// Cleans contact fields the same way for every source, so identity keys built from them match across channels:
/// emails lower-cased and syntax-checked, phones in E.164, names and addresses trimmed, collapsed, NFC and
/// title-cased when shouted or whispered, countries as ISO 3166 alpha-2.
/// </summary>
public sealed class ContactNormalizer
{
    private static readonly Lazy<Dictionary<string, string>> Countries = new(BuildCountries);
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    private readonly string _phoneRegion;

    public ContactNormalizer(string defaultPhoneRegion = "US")
    {
        _phoneRegion = defaultPhoneRegion.ToUpperInvariant();
    }

    // ----------------------------------------------------------------- email

    /// <summary>Trimmed, lower-cased, <c>mailto:</c> removed; false when the text is not a plausible address.</summary>
    public static bool TryNormalizeEmail(ReadOnlySpan<char> text, out string email)
    {
        email = "";
        var s = text.Trim();
        if (s.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            s = s[7..].Trim();
        }

        if (s.Length is < 3 or > 254)
        {
            return false;
        }

        var at = s.IndexOf('@');
        if (at <= 0 || at > 64 || s[(at + 1)..].Contains('@'))
        {
            return false;
        }

        var local = s[..at];
        var domain = s[(at + 1)..];
        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in local)
        {
            if (!(char.IsLetterOrDigit(c) || "!#$%&'*+/=?^_`{|}~.-".Contains(c)))
            {
                return false;
            }
        }

        if (!IsValidDomain(domain))
        {
            return false;
        }

        Span<char> lower = stackalloc char[s.Length];
        s.ToLowerInvariant(lower);
        email = new string(lower);
        return true;
    }

    private static bool IsValidDomain(ReadOnlySpan<char> domain)
    {
        if (domain.Length is < 4 or > 253)
        {
            return false;
        }

        var labels = 0;
        var tldLetters = true;
        var labelStart = 0;
        for (var i = 0; i <= domain.Length; i++)
        {
            if (i == domain.Length || domain[i] == '.')
            {
                var label = domain[labelStart..i];
                if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
                {
                    return false;
                }

                labels++;
                tldLetters = true;
                foreach (var c in label)
                {
                    if (!char.IsLetter(c))
                    {
                        tldLetters = false;
                    }
                }

                if (i == domain.Length && !(tldLetters && label.Length >= 2) && !label.StartsWith("xn--", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }

                labelStart = i + 1;
                continue;
            }

            var ch = domain[i];
            if (!(char.IsLetterOrDigit(ch) || ch == '-'))
            {
                return false;
            }
        }

        return labels >= 2;
    }

    // ----------------------------------------------------------------- phone

    /// <summary>E.164 (<c>+14155550123</c>); numbers without a country code are read in the default region.</summary>
    public bool TryNormalizePhone(ReadOnlySpan<char> text, out string e164)
    {
        e164 = "";
        var s = text.Trim();
        var digits = 0;
        foreach (var c in s)
        {
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
        }

        if (digits is < 6 or > 17)
        {
            return false;
        }

        try
        {
            var number = Phones.Parse(s.ToString(), _phoneRegion);
            if (!Phones.IsValidNumber(number))
            {
                return false;
            }

            e164 = Phones.Format(number, PhoneNumberFormat.E164);
            return true;
        }
        catch (NumberParseException)
        {
            return false;
        }
    }

    // ------------------------------------------------------- names, addresses

    /// <summary>Trim, collapse inner whitespace, NFC; with <paramref name="titleCase"/>, <c>JOHN</c>/<c>john</c> → <c>John</c> (mixed case is kept).</summary>
    public static string CleanText(ReadOnlySpan<char> text, bool titleCase)
    {
        var s = text.Trim();
        Span<char> buffer = s.Length <= 256 ? stackalloc char[s.Length] : new char[s.Length];
        var n = 0;
        var space = false;
        var ascii = true;
        var upper = 0;
        var lower = 0;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space)
            {
                buffer[n++] = ' ';
                space = false;
            }

            if (c > 0x7F)
            {
                ascii = false;
            }

            if (char.IsUpper(c))
            {
                upper++;
            }
            else if (char.IsLower(c))
            {
                lower++;
            }

            buffer[n++] = c;
        }

        var result = buffer[..n];
        if (titleCase && (upper == 0 || lower == 0) && upper + lower > 1)
        {
            var wordStart = true;
            for (var i = 0; i < result.Length; i++)
            {
                var c = result[i];
                result[i] = wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c);
                wordStart = c is ' ' or '-' or '\'' or '’' or '.' or '(';
            }
        }

        var cleaned = new string(result);
        return ascii || cleaned.IsNormalized(NormalizationForm.FormC) ? cleaned : cleaned.Normalize(NormalizationForm.FormC);
    }

    /// <summary>Postcodes: trimmed, inner whitespace collapsed, upper-case (<c>sw1a 1aa</c> → <c>SW1A 1AA</c>).</summary>
    public static string CleanPostcode(ReadOnlySpan<char> text) => CleanText(text, titleCase: false).ToUpperInvariant();

    /// <summary>ISO 3166 alpha-2 when the text names a country (code, alpha-3, English or native name); otherwise the cleaned text.</summary>
    public static string NormalizeCountry(ReadOnlySpan<char> text)
    {
        var s = text.Trim();
        Span<char> key = stackalloc char[Math.Min(s.Length, 64)];
        var n = 0;
        foreach (var c in s)
        {
            if (n == key.Length)
            {
                break;
            }

            if (char.IsLetter(c))
            {
                key[n++] = char.ToUpperInvariant(c);
            }
        }

        if (Countries.Value.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key[..n], out var code))
        {
            return code;
        }

        return CleanText(s, titleCase: true);
    }

    /// <summary><c>female</c>, <c>male</c> or <c>other</c> for the usual spellings; anything else lower-cased as given.</summary>
    public static string? NormalizeGender(ReadOnlySpan<char> text)
    {
        var s = text.Trim();
        if (s.IsEmpty)
        {
            return null;
        }

        Span<char> lower = stackalloc char[Math.Min(s.Length, 64)];
        var n = s[..lower.Length].ToLowerInvariant(lower);
        var l = lower[..n];
        return l switch
        {
            "f" or "female" or "w" or "woman" or "women" or "girl" => "female",
            "m" or "male" or "man" or "men" or "boy" => "male",
            "x" or "o" or "other" or "nonbinary" or "non-binary" or "diverse" or "d" => "other",
            "u" or "unknown" or "?" or "not specified" or "prefer not to say" => null,
            _ => l.ToString(),
        };
    }

    private static Dictionary<string, string> BuildCountries()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(string name, string code)
        {
            var key = new StringBuilder();
            foreach (var c in name)
            {
                if (char.IsLetter(c))
                {
                    key.Append(char.ToUpperInvariant(c));
                }
            }

            if (key.Length > 0)
            {
                map.TryAdd(key.ToString(), code);
            }
        }

        foreach (var culture in CultureInfo.GetCultures(CultureTypes.SpecificCultures))
        {
            RegionInfo region;
            try
            {
                region = new RegionInfo(culture.Name);
            }
            catch (ArgumentException)
            {
                continue;
            }

            var code = region.TwoLetterISORegionName;
            if (code.Length != 2 || !char.IsLetter(code[0]))
            {
                continue;
            }

            Add(code, code);
            Add(region.ThreeLetterISORegionName, code);
            Add(region.EnglishName, code);
            Add(region.NativeName, code);
        }

        foreach (var (alias, code) in new[]
        {
            ("UK", "GB"), ("Great Britain", "GB"), ("England", "GB"), ("Scotland", "GB"), ("Wales", "GB"), ("Northern Ireland", "GB"),
            ("Britain", "GB"), ("United Kingdom", "GB"), ("USA", "US"), ("U.S.", "US"), ("U.S.A.", "US"), ("United States", "US"),
            ("United States of America", "US"), ("America", "US"), ("Holland", "NL"), ("Netherlands", "NL"), ("Deutschland", "DE"),
            ("Germany", "DE"), ("South Korea", "KR"), ("Korea", "KR"), ("Russia", "RU"), ("Czech Republic", "CZ"), ("Czechia", "CZ"),
            ("Australia", "AU"), ("New Zealand", "NZ"), ("Ireland", "IE"), ("Eire", "IE"), ("Vietnam", "VN"), ("Turkey", "TR"),
            ("Türkiye", "TR"), ("Ivory Coast", "CI"), ("UAE", "AE"), ("United Arab Emirates", "AE"), ("Hong Kong", "HK"),
        })
        {
            map[KeyOf(alias)] = code;
        }

        return map;
    }

    private static string KeyOf(string name)
    {
        var key = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsLetter(c))
            {
                key.Append(char.ToUpperInvariant(c));
            }
        }

        return key.ToString();
    }
}
