using iCrm.Core.Identity;
using iCrm.Core.Profiles;

namespace iCrm.Core.Privacy;

/// <summary>
/// Recognises an erased person's rows in quarantine files, whose rows carry only raw text (no parsed fields): the raw
/// text is cut into values at CSV and JSON separators, and a row is the person's when a value is one of their source ids
/// (in a drop of that source, when the drop's source is known), one of their emails (compared canonically) or one of
/// their phones (digits; a national form matches the end of the E.164 number, at least 7 digits). Held in memory during
/// an erasure only; never stored.
/// </summary>
public sealed class ErasedSubjectMatch
{
    private const int MinPhoneDigits = 7;
    private static readonly char[] Separators = [',', ';', '\t', '|', '"', '{', '}', '[', ']', ':', '\r', '\n'];

    private readonly Dictionary<string, HashSet<string>> _sourceIds = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _allSourceIds = new(StringComparer.Ordinal);
    private readonly HashSet<string> _emails = new(StringComparer.Ordinal);
    private readonly List<string> _phones = [];

    public bool IsEmpty => _allSourceIds.Count == 0 && _emails.Count == 0 && _phones.Count == 0;

    /// <summary>The identifiers of the given profiles: their source identities, and every email and phone they hold
    /// (current and alternative values).</summary>
    public static ErasedSubjectMatch Of(IEnumerable<CustomerProfile> profiles)
    {
        var match = new ErasedSubjectMatch();
        foreach (var profile in profiles)
        {
            foreach (var identity in profile.Identities)
            {
                match.AddSourceId(identity.Source, identity.SourceId);
            }
            match.AddEmail(profile.Contact.Email);
            match.AddPhone(profile.Contact.Phone);
            foreach (var value in profile.ContactValues)
            {
                if (value.Field == "email")
                {
                    match.AddEmail(value.Value);
                }
                else if (value.Field == "phone")
                {
                    match.AddPhone(value.Value);
                }
            }
        }
        return match;
    }

    public void AddSourceId(string source, string sourceId)
    {
        var id = sourceId.Trim();
        if (id.Length == 0)
        {
            return;
        }
        if (!_sourceIds.TryGetValue(source.Trim(), out var ids))
        {
            _sourceIds[source.Trim()] = ids = new HashSet<string>(StringComparer.Ordinal);
        }
        ids.Add(id);
        _allSourceIds.Add(id);
    }

    public void AddEmail(string? email)
    {
        if (EmailAddress.Canonical(email) is { } canonical)
        {
            _emails.Add(canonical);
        }
    }

    public void AddPhone(string? phone)
    {
        var digits = Digits(phone);
        if (digits.Length >= MinPhoneDigits && !_phones.Contains(digits))
        {
            _phones.Add(digits);
        }
    }

    /// <summary>Whether the raw text of a rejected row names the person. <paramref name="dropSource"/>: the source of the drop
    /// the row came from, or null when unknown (then a source id of any of the person's sources counts).</summary>
    public bool Names(string? dropSource, string? raw)
    {
        if (string.IsNullOrEmpty(raw) || IsEmpty)
        {
            return false;
        }
        var sourceIds = dropSource is null ? _allSourceIds : _sourceIds.GetValueOrDefault(dropSource);
        foreach (var part in raw.Split(Separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (sourceIds?.Contains(part) == true)
            {
                return true;
            }
            if (part.Contains('@') && EmailAddress.Canonical(part) is { } email && _emails.Contains(email))
            {
                return true;
            }
            if (_phones.Count > 0 && Digits(part).TrimStart('0') is { Length: >= MinPhoneDigits } digits
                && _phones.Exists(p => p.EndsWith(digits, StringComparison.Ordinal)))
            {
                return true;
            }
        }
        return false;
    }

    private static string Digits(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        Span<char> buffer = stackalloc char[Math.Min(text.Length, 64)];
        var n = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c) && n < buffer.Length)
            {
                buffer[n++] = c;
            }
            else if (!char.IsAsciiDigit(c) && c is not (' ' or '-' or '.' or '(' or ')' or '+' or '/'))
            {
                return ""; // not a phone-like value (a date, an amount with letters, free text)
            }
        }
        return new string(buffer[..n]);
    }
}
