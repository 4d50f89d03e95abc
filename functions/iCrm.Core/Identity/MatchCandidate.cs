using System.Text;
using iCrm.Core.Drops;
using iCrm.Core.Profiles;

namespace iCrm.Core.Identity;

/// <summary>
/// The fields the probabilistic matcher compares, normalised for comparison: lower-case, single spaces, no punctuation.
/// Build it from a drop row (<see cref="FromRecord"/>) or a profile's contact fields (<see cref="FromContact"/>).
/// A profile keeps a few of these (one per distinct spelling seen, see <see cref="ProfileVariants"/>) so a new record is
/// compared with every way the person has been written, not only the first.
/// </summary>
public sealed record MatchCandidate(
    string? GivenName,
    string? Surname,
    string? StreetNumber,
    string? Street,
    string? Suburb,
    string? Postcode,
    string? State,
    DateOnly? BirthDate)
{
    public static MatchCandidate FromRecord(CustomerRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Create(record.FirstName, record.LastName, record.Street, record.City, record.Postcode, record.State, record.BirthDate);
    }

    public static MatchCandidate FromContact(ContactDetails contact)
    {
        ArgumentNullException.ThrowIfNull(contact);
        return Create(contact.FirstName, contact.LastName, contact.Street, contact.City, contact.Postcode, contact.State, contact.BirthDate);
    }

    /// <summary>
    /// From raw-ish fields; <paramref name="streetLine"/> is the first address line, whose leading house number
    /// (<c>"6 tullaroop street"</c>, <c>"12a main rd"</c>) is split off so number and street are compared separately.
    /// </summary>
    public static MatchCandidate Create(
        string? givenName, string? surname, string? streetLine, string? suburb, string? postcode, string? state, DateOnly? birthDate)
    {
        var street = Normalise(streetLine);
        string? number = null;
        if (street is not null && char.IsAsciiDigit(street[0]))
        {
            var space = street.IndexOf(' ');
            var token = space < 0 ? street : street[..space];
            // "6", "12a", "3b": a house number; longer tokens are more likely a unit-and-street run together.
            if (token.Length <= 6)
            {
                number = token;
                street = space < 0 ? null : street[(space + 1)..];
            }
        }

        return new MatchCandidate(
            Normalise(givenName), Normalise(surname), number, street, Normalise(suburb), NormalisePostcode(postcode),
            Normalise(state), birthDate);
    }

    /// <summary>
    /// Postcodes as channels write the same one differently: a US ZIP+4 (<c>02116-1234</c>) is its five-digit ZIP, and
    /// leading zeros are not significant (tills and spreadsheets that store postcodes as numbers turn <c>02116</c> into
    /// <c>2116</c>; both sides lose them, so no two different postcodes become equal).
    /// </summary>
    internal static string? NormalisePostcode(string? text)
    {
        var spaced = Normalise(text);
        if (spaced is null)
        {
            return null;
        }
        var space = spaced.IndexOf(' ');
        var zipPlusFour = space == 5 && spaced.Length == 10
            && !spaced.AsSpan(0, 5).ContainsAnyExceptInRange('0', '9') && !spaced.AsSpan(6).ContainsAnyExceptInRange('0', '9');
        var code = zipPlusFour
            ? spaced[..5]
            : spaced.Replace(" ", "", StringComparison.Ordinal);
        var trimmed = code.TrimStart('0');
        return trimmed.Length == 0 ? code : trimmed;
    }

    /// <summary>True when nothing the matcher could use is present (such a record is never matched probabilistically).</summary>
    public bool IsEmpty =>
        GivenName is null && Surname is null && Street is null && Suburb is null && Postcode is null && BirthDate is null;

    /// <summary>Lower-case letters and digits, words separated by one space; diacritics folded (é → e); null if nothing is left.</summary>
    internal static string? Normalise(string? text, bool keepSpaces = true)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        // Most contact data is ASCII; decomposing it (to drop accents) is only needed otherwise.
        var folded = System.Text.Ascii.IsValid(text) ? text : text.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(folded.Length);
        var pendingSpace = false;
        foreach (var raw in folded)
        {
            if (char.GetUnicodeCategory(raw) == System.Globalization.UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (char.IsLetterOrDigit(raw))
            {
                if (pendingSpace && sb.Length > 0 && keepSpaces)
                {
                    sb.Append(' ');
                }

                pendingSpace = false;
                sb.Append(char.ToLowerInvariant(raw));
            }
            else if (raw is not '\'')
            {
                // Apostrophes join (o'brien → obrien); any other punctuation or space separates words.
                pendingSpace = true;
            }
        }

        return sb.Length == 0 ? null : sb.ToString();
    }
}

/// <summary>The bounded list of spellings a profile keeps for matching.</summary>
public static class ProfileVariants
{
    /// <summary>Default cap: enough for the worst Febrl case (an original plus nine duplicates) and small in a profile document.</summary>
    public const int DefaultCap = 10;

    /// <summary>
    /// Adds <paramref name="variant"/> unless an identical one is kept; when the list is full the oldest variant after the
    /// first is dropped (the first is the profile's founding record and stays). Returns whether the list changed.
    /// </summary>
    public static bool Add(List<MatchCandidate> variants, MatchCandidate variant, int cap = DefaultCap)
    {
        ArgumentNullException.ThrowIfNull(variants);
        ArgumentNullException.ThrowIfNull(variant);
        if (variant.IsEmpty || variants.Contains(variant))
        {
            return false;
        }

        if (variants.Count >= cap)
        {
            if (cap <= 1)
            {
                return false;
            }

            variants.RemoveAt(1);
        }

        variants.Add(variant);
        return true;
    }
}

/// <summary>
/// Blocking: the cheap keys under which records are filed so a new record is compared only with profiles sharing one.
/// Each payload names its recipe (e.g. <c>pc+sx</c>) and is hashed by <see cref="MatchKeyHasher.BlockingKey"/>.
/// </summary>
public static class BlockingKeys
{
    /// <summary>How many customer ids one blocking key document holds; later profiles are found through their other keys.</summary>
    public const int CandidateCap = 20;

    /// <summary>
    /// Files <paramref name="customerId"/> under a blocking key's candidate list (the <c>bk:</c> document's ids): not when an
    /// id already there is (after following <c>mergedInto</c> with <paramref name="current"/>) the same customer, not when the
    /// list is full. Returns whether the list changed (i.e. whether the document needs a write).
    /// </summary>
    public static bool TryFile(List<string> candidates, string customerId, Func<string, string> current, int cap = CandidateCap)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(current);
        if (candidates.Count >= cap)
        {
            return false;
        }

        foreach (var id in candidates)
        {
            if (id == customerId || current(id) == customerId)
            {
                return false;
            }
        }

        candidates.Add(customerId);
        return true;
    }

    public static IReadOnlyList<string> Payloads(MatchCandidate c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var keys = new List<string>(8);
        var surname = Phonetic.Soundex(c.Surname);
        var given = Phonetic.Soundex(c.GivenName);
        var givenInitial = c.GivenName is { Length: > 0 } g ? g[..1] : null;
        var surnameInitial = c.Surname is { Length: > 0 } s ? s[..1] : null;
        var dob = c.BirthDate?.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
        var year = c.BirthDate?.Year.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // Sources that swap given name and surname: every recipe over one name is filed under either name's code,
        // and the two-name recipe uses the codes in sorted order.
        Add(keys, "pc+nx", c.Postcode, surname);
        Add(keys, "pc+nx", c.Postcode, given);
        Add(keys, "dob+gi", dob, givenInitial);
        Add(keys, "dob+si", dob, surnameInitial);
        Add(keys, "nx+nx", string.CompareOrdinal(given, surname) <= 0 ? given : surname, string.CompareOrdinal(given, surname) <= 0 ? surname : given);
        Add(keys, "dob+nx", dob, surname);
        Add(keys, "dob+nx", dob, given);
        Add(keys, "pc+dob", c.Postcode, dob);
        Add(keys, "sn+st", c.StreetNumber, Phonetic.Soundex(c.Street));
        return keys;
    }

    private static void Add(List<string> keys, string recipe, string? a, string? b)
    {
        if (string.IsNullOrEmpty(a) || string.IsNullOrEmpty(b))
        {
            return;
        }

        var payload = string.Concat(recipe, "|", a, "|", b);
        if (!keys.Contains(payload))
        {
            keys.Add(payload);
        }
    }
}
