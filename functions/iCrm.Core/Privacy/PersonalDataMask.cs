using System.Text;
using System.Text.RegularExpressions;

namespace iCrm.Core.Privacy;

/// <summary>
/// Masks personal data in text shown to people who need to see <em>why</em> a row failed but not <em>whose</em> row it
/// was (the dashboard's quarantine sample). Emails keep their first character and domain (<c>j***@example.com</c>),
/// phone-like digit runs their last two digits (<c>***42</c>), words their first letter (<c>J***</c>: names, streets and
/// free text); dates, short numbers, punctuation and the row's shape stay, so a bad date or amount is still visible.
/// </summary>
public static partial class PersonalDataMask
{
    public const int MaxLength = 160;

    [GeneratedRegex(@"[^\s@,;""'<>()\[\]{}]+@[^\s@,;""'<>()\[\]{}]+")]
    private static partial Regex Email();

    // Digit runs with the separators phone numbers use; dates (yyyy-mm-dd) are let through below.
    [GeneratedRegex(@"\+?\d[\d ().\-/]{5,}\d")]
    private static partial Regex DigitRun();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}|^\d{1,2}/\d{1,2}/\d{2,4}$")]
    private static partial Regex DateLike();

    [GeneratedRegex(@"\p{L}[\p{L}\p{M}'’]*")]
    private static partial Regex Word();

    [GeneratedRegex(@"'([^']*)'")]
    private static partial Regex Quoted();

    /// <summary>Masks a raw value or row and cuts it to <see cref="MaxLength"/> characters.</summary>
    public static string Mask(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var cut = text.Length > MaxLength * 2 ? text[..(MaxLength * 2)] : text;
        // Placeholders keep the masked emails and numbers away from the word pass.
        var kept = new List<string>();
        string Keep(string value)
        {
            kept.Add(value);
            return $"\u0001{kept.Count - 1}\u0002";
        }
        cut = Email().Replace(cut, m =>
        {
            var at = m.Value.IndexOf('@', StringComparison.Ordinal);
            return Keep($"{m.Value[0]}***{m.Value[at..]}");
        });
        cut = DigitRun().Replace(cut, m =>
        {
            var digits = m.Value.Count(char.IsAsciiDigit);
            return DateLike().IsMatch(m.Value) || digits < 7 ? m.Value : Keep("***" + new string([.. m.Value.Where(char.IsAsciiDigit).TakeLast(2)]));
        });
        cut = Word().Replace(cut, m => m.Length == 1 ? m.Value : m.Value[0] + "***");
        var result = new StringBuilder(cut.Length);
        for (var i = 0; i < cut.Length; i++)
        {
            if (cut[i] == '\u0001')
            {
                var end = cut.IndexOf('\u0002', i);
                result.Append(kept[int.Parse(cut.AsSpan(i + 1, end - i - 1), System.Globalization.CultureInfo.InvariantCulture)]);
                i = end;
            }
            else
            {
                result.Append(cut[i]);
            }
        }
        return result.Length > MaxLength ? result.ToString(0, MaxLength) + "…" : result.ToString();
    }

    /// <summary>Masks the values a validation message quotes (<c>'…'</c>) and any email or phone in it; the wording stays.</summary>
    public static string MaskMessage(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return "";
        }
        var masked = Quoted().Replace(message, m => $"'{Mask(m.Groups[1].Value)}'");
        return Email().Replace(masked, m => $"{m.Value[0]}***{m.Value[m.Value.IndexOf('@', StringComparison.Ordinal)..]}");
    }
}
