namespace iCrm.DataGen;

/// <summary>The small ways one person's record differs between systems: typos, case and whitespace, missing fields, formats.</summary>
internal sealed class Noise(GeneratorOptions options, Rng rng)
{
    public Rng Rng => rng;

    /// <summary>A name or street as a clerk or the person typed it.</summary>
    public string Text(string value)
    {
        string result = value;
        if (rng.Chance(options.TypoRate)) result = SwapLetters(result);
        if (rng.Chance(options.CaseNoiseRate)) result = CaseOrSpacing(result);
        return result;
    }

    /// <summary>Null (left empty) with the missing-field rate, unless the field is required for this record.</summary>
    public string? Optional(string? value, bool keep = false) => keep || !rng.Chance(options.MissingFieldRate) ? value : null;

    public string Email(string email)
    {
        double r = rng.NextDouble();
        string result = r switch
        {
            < 0.08 => CapitaliseParts(email),
            < 0.10 => email.ToUpperInvariant(),
            _ => email,
        };
        if (rng.Chance(0.02)) result = rng.Chance(0.5) ? " " + result : result + " ";
        return result;
    }

    /// <summary>Day and month swapped now and then (a classic of hand-typed birth dates).</summary>
    public DateOnly BirthDate(DateOnly date) =>
        date.Day <= 12 && date.Day != date.Month && rng.Chance(options.TypoRate / 2) ? new DateOnly(date.Year, date.Day, date.Month) : date;

    /// <summary>A ten-digit US number in the source's usual style, sometimes in another.</summary>
    public string Phone(string ten, int usualStyle)
    {
        int style = rng.Chance(0.1) ? rng.Next(6) : usualStyle;
        string a = ten[..3], b = ten[3..6], c = ten[6..];
        return style switch
        {
            0 => $"({a}) {b}-{c}",
            1 => $"+1 {a} {b} {c}",
            2 => $"+1{ten}",
            3 => $"{a}.{b}.{c}",
            4 => $"1-{a}-{b}-{c}",
            _ => $"{a}-{b}-{c}",
        };
    }

    public string Street(Person person)
    {
        var (longType, shortType) = Vocabulary.StreetTypes[person.StreetType];
        return Text($"{person.HouseNumber} {person.StreetName} {(rng.Chance(0.5) ? longType : shortType)}");
    }

    private string SwapLetters(string value)
    {
        if (value.Length < 3) return value;
        int i = rng.Next(value.Length - 1);
        if (!char.IsLetter(value[i]) || !char.IsLetter(value[i + 1]) || value[i] == value[i + 1]) return value;
        var chars = value.ToCharArray();
        (chars[i], chars[i + 1]) = (chars[i + 1], chars[i]);
        return new string(chars);
    }

    private string CaseOrSpacing(string value) => rng.Next(4) switch
    {
        0 => value.ToUpperInvariant(),
        1 => value.ToLowerInvariant(),
        2 => " " + value + "  ",
        _ => value.Contains(' ') ? value.Replace(" ", "  ") : value + " ",
    };

    private static string CapitaliseParts(string email)
    {
        var chars = email.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (i == 0 || chars[i - 1] is '.' or '@' or '_') chars[i] = char.ToUpperInvariant(chars[i]);
        }
        return new string(chars);
    }
}
