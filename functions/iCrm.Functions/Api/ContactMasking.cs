using iCrm.Core.Profiles;

namespace iCrm.Functions.Api;

/// <summary>
/// Contact fields as a caller may see them. Marketers need the real address to send a campaign and the privacy role must
/// see what is held to answer a data-subject request, so they see everything; a reader (profiles and scores) and an admin
/// (training, settings) see enough to recognise a customer and nothing to contact them with: the email's first character
/// and domain (<c>j***@example.com</c>), a phone's last two digits (<c>*******89</c>), the last name's initial, no street,
/// the postcode's first two characters, the birth year only, the loyalty id's last two characters. City, state, country and
/// gender stay (coarse, used by segments).
/// </summary>
public static class ContactMasking
{
    public const string Hidden = "***";

    /// <summary>Whether <paramref name="caller"/> sees contact fields unmasked.</summary>
    public static bool SeesFullContact(ApiCaller caller) =>
        caller.Roles.Contains(ApiRole.Marketer) || caller.Roles.Contains(ApiRole.Privacy);

    public static ContactDetails Mask(ContactDetails c) => new()
    {
        Email = Email(c.Email),
        Phone = Digits(c.Phone),
        FirstName = c.FirstName,
        LastName = Initial(c.LastName),
        BirthDate = null,
        Gender = c.Gender,
        Street = c.Street is null ? null : Hidden,
        City = c.City,
        Postcode = Prefix(c.Postcode),
        State = c.State,
        Country = c.Country,
        LoyaltyId = Digits(c.LoyaltyId),
    };

    /// <summary>A value of field <paramref name="field"/> (names of <see cref="ContactValueList.Current"/>), masked as above.</summary>
    public static string? Mask(string field, string? value) => field switch
    {
        "email" => Email(value),
        "phone" or "loyaltyId" => Digits(value),
        "lastName" => Initial(value),
        "birthDate" => value is { Length: >= 4 } ? value[..4] : null,
        "street" => value is null ? null : Hidden,
        "postcode" => Prefix(value),
        _ => value,
    };

    public static string? Email(string? email)
    {
        if (string.IsNullOrEmpty(email))
        {
            return email;
        }
        var at = email.LastIndexOf('@');
        return at <= 0 ? Hidden : $"{email[0]}{Hidden}{email[at..]}";
    }

    /// <summary>Every character but the last two as <c>*</c> (separators dropped), so the length of the number shows.</summary>
    public static string? Digits(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return value;
        }
        var kept = value.Where(char.IsLetterOrDigit).ToArray();
        return kept.Length <= 2 ? new string('*', kept.Length) : new string('*', kept.Length - 2) + new string(kept[^2..]);
    }

    private static string? Initial(string? name) => string.IsNullOrEmpty(name) ? name : $"{name[0]}.";

    private static string? Prefix(string? value) => string.IsNullOrEmpty(value) ? value : value.Length <= 2 ? Hidden : value[..2] + Hidden;
}
