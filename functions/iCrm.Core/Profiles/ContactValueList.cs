namespace iCrm.Core.Profiles;

/// <summary>
/// Keeps every value sources gave a profile's contact fields (<see cref="CustomerProfile.ContactValues"/>): one entry per
/// field, value and source, with the last time it was seen. <see cref="CustomerProfile.Contact"/> holds the current value;
/// the others are its alternatives. Bounded per field: the oldest alternative goes first, the current value never.
/// </summary>
public static class ContactValueList
{
    public static void Record(CustomerProfile profile, string field, string value, string source, DateTimeOffset at, int maxPerField)
    {
        var values = profile.ContactValues;
        var count = 0;
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (!string.Equals(v.Field, field, StringComparison.Ordinal))
            {
                continue;
            }
            if (string.Equals(v.Value, value, StringComparison.Ordinal) && string.Equals(v.Source, source, StringComparison.Ordinal))
            {
                if (at > v.At)
                {
                    values[i] = v with { At = at };
                }
                return;
            }
            count++;
        }
        values.Add(new ContactValue(field, value, source, at));
        if (count + 1 > Math.Max(1, maxPerField))
        {
            DropOldestAlternative(profile, field);
        }
    }

    /// <summary>The values of <paramref name="field"/> other than the current one, newest first.</summary>
    public static IEnumerable<ContactValue> Alternatives(CustomerProfile profile, string field, string? current) =>
        profile.ContactValues.Where(v => v.Field == field && v.Value != current).OrderByDescending(v => v.At);

    /// <summary>Folds another profile's values into the survivor's (a merge): its list, and its current values in case it
    /// predates the list.</summary>
    public static void Union(CustomerProfile survivor, CustomerProfile other, int maxPerField)
    {
        foreach (var value in other.ContactValues)
        {
            Record(survivor, value.Field, value.Value, value.Source, value.At, maxPerField);
        }
        foreach (var (field, value) in Current(other.Contact))
        {
            if (value is not null && other.FieldStamps.TryGetValue(field, out var stamp))
            {
                Record(survivor, field, value, stamp.Source, stamp.At, maxPerField);
            }
        }
    }

    /// <summary>The contact fields by the names <see cref="CustomerProfile.FieldStamps"/> uses.</summary>
    public static IEnumerable<(string Field, string? Value)> Current(ContactDetails c)
    {
        yield return ("email", c.Email);
        yield return ("phone", c.Phone);
        yield return ("firstName", c.FirstName);
        yield return ("lastName", c.LastName);
        yield return ("birthDate", c.BirthDate?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        yield return ("gender", c.Gender);
        yield return ("street", c.Street);
        yield return ("city", c.City);
        yield return ("postcode", c.Postcode);
        yield return ("state", c.State);
        yield return ("country", c.Country);
        yield return ("loyaltyId", c.LoyaltyId);
    }

    private static void DropOldestAlternative(CustomerProfile profile, string field)
    {
        var current = Current(profile.Contact).FirstOrDefault(c => c.Field == field).Value;
        var values = profile.ContactValues;
        var oldest = -1;
        for (var i = 0; i < values.Count; i++)
        {
            if (values[i].Field == field && values[i].Value != current && (oldest < 0 || values[i].At < values[oldest].At))
            {
                oldest = i;
            }
        }
        if (oldest >= 0)
        {
            values.RemoveAt(oldest);
        }
    }
}
