namespace iCrm.DataGen;

/// <summary>The true person behind one or more source records, with the parameters of their purchase story.</summary>
internal sealed class Person
{
    public required int Index { get; init; }
    public string Id => $"person-{Index + 1:D7}";
    public required string FirstName { get; init; }
    public required string LastName { get; init; }
    public required char Gender { get; init; }
    public required DateOnly BirthDate { get; init; }
    public required int HouseNumber { get; init; }
    public required string StreetName { get; init; }
    public required int StreetType { get; init; }
    public required int City { get; init; }
    public required string Postcode { get; init; }
    public required string Email { get; init; }
    public required string WorkEmail { get; init; }
    /// <summary>Ten digits, US national number (area code first).</summary>
    public required string Phone { get; init; }
    public required string? Loyalty { get; init; }
    public required bool ConsentEmail { get; init; }
    public required bool ConsentSms { get; init; }
    public required DateOnly Signup { get; init; }

    /// <summary>Purchases per year while alive (BG/NBD λ).</summary>
    public required double Lambda { get; init; }
    /// <summary>Probability of dropping out right after each purchase (BG/NBD p).</summary>
    public required double DropoutProbability { get; init; }
    /// <summary>Gamma–Gamma rate ν; the mean order value is shape / ν.</summary>
    public required double SpendRate { get; init; }
    public required double SpendMean { get; init; }
    /// <summary>1..5: how happy they tend to be; lower for people likely to drop out.</summary>
    public required double Satisfaction { get; init; }
    /// <summary>Multiplier on web/app/email activity, rising with the purchase rate.</summary>
    public required double Engagement { get; init; }
    public required int[] Categories { get; init; }
    public required double[] CategoryCumulative { get; init; }

    public List<Account> Accounts { get; } = [];
    public DateTime? DropoutAt { get; set; }
    public Subscription? Subscription { get; set; }
    public string CityName => Vocabulary.Cities[City].City;
    public string State => Vocabulary.Cities[City].State;

    /// <summary>Activity multiplier at a time: full while engaged, fading over the 90 days before dropout, a trickle after.</summary>
    public double ActivityAt(DateTime at)
    {
        if (DropoutAt is not DateTime dropout) return 1.0;
        double daysToDropout = (dropout - at).TotalDays;
        if (daysToDropout > 90) return 1.0;
        if (daysToDropout >= 0) return 0.15 + 0.85 * daysToDropout / 90.0;
        return 0.05;
    }

    public bool InDecline(DateTime at) => DropoutAt is DateTime d && (d - at).TotalDays is >= 0 and <= 90;
}

/// <summary>A person's record in one source system.</summary>
internal sealed class Account
{
    public required string Source { get; init; }
    public required string CustomerId { get; init; }
    public required DateOnly Joined { get; init; }
    public required bool IsPrimary { get; init; }
    /// <summary>Shares no deterministic key with the person's other records (only name, postcode, birth date).</summary>
    public bool FuzzyOnly { get; set; }
    /// <summary>A second account of the person in the same source (registered with the work email, linked by phone).</summary>
    public bool SecondInSource { get; init; }
    public string? EmittedEmail { get; set; }
    public bool EmitsPhone { get; set; }
    public bool EmitsLoyalty { get; set; }
}

internal sealed record Subscription(string Plan, decimal Amount, string Period, DateOnly Start, DateOnly? End);

internal sealed record OrderLine(int Line, Product Product, int Quantity, decimal UnitPrice, bool Returned)
{
    public decimal Amount => Quantity * UnitPrice;
}

internal sealed record Order(string OrderId, Account Account, string Channel, DateTime At, List<OrderLine> Lines)
{
    public decimal Total => Lines.Sum(l => l.Amount);
}

/// <summary>Draws people: identity attributes and the latent parameters of their purchase process.</summary>
internal sealed class PersonFactory(GeneratorOptions options, ProductCatalogue catalogue)
{
    // 200..999 without N11 service codes: 792 exchanges × 10,000 lines, enough unique numbers for 7.9M people.
    private static readonly int[] Exchanges = Enumerable.Range(200, 800).Where(n => n % 100 != 11).ToArray();

    public Person Create(int index)
    {
        var rng = Rng.For(options.Seed, index, 1);
        char gender = rng.NextDouble() switch { < 0.49 => 'F', < 0.98 => 'M', _ => 'X' };
        string first = gender switch
        {
            'F' => rng.Pick(Vocabulary.FemaleFirstNames),
            'M' => rng.Pick(Vocabulary.MaleFirstNames),
            _ => rng.Chance(0.5) ? rng.Pick(Vocabulary.FemaleFirstNames) : rng.Pick(Vocabulary.MaleFirstNames),
        };
        string last = rng.Pick(Vocabulary.LastNames);
        int city = rng.Next(Vocabulary.Cities.Length);
        var (_, _, zipPrefix, areaCodes) = Vocabulary.Cities[city];
        string postcode = zipPrefix + rng.Next(100).ToString("D2", System.Globalization.CultureInfo.InvariantCulture);

        // Unique by construction: the trailing number of an email, the phone's last seven digits and the loyalty id
        // are bijections of the person index, so two people never share a deterministic key.
        int number = index + 1;
        string local = LocalPart(first, last, rng);
        string email = $"{local}{number}@{rng.Pick(Vocabulary.ConsumerDomains)}";
        string workEmail = $"{Ascii(first)}.{Ascii(last)}{number}@{rng.Pick(Vocabulary.WorkDomains)}";
        long line = ((long)index * 7919 + 12345) % (Exchanges.Length * 10_000L);
        string phone = $"{rng.Pick(areaCodes)}{Exchanges[line / 10_000]}{line % 10_000:D4}";
        string? loyalty = rng.Chance(options.LoyaltyRate) ? $"LY{((long)index * 7331 + 99) % 1_000_000_000L:D9}" : null;

        int span = options.End.DayNumber - options.Start.DayNumber;
        var signup = options.Start.AddDays(rng.Next(span + 1));
        var birth = new DateOnly(1945, 1, 1).AddDays(rng.Next(365 * 60));

        double lambda = rng.Gamma(options.PurchaseRateShape, options.PurchaseRateRate);
        double p = rng.Beta(options.DropoutA, options.DropoutB);
        double nu = rng.Gamma(options.SpendScaleShape, options.SpendScaleRate);
        double meanLambda = options.PurchaseRateShape / options.PurchaseRateRate;
        double satisfaction = Math.Clamp(4.4 - 8.0 * p + 0.5 * rng.Normal(), 1.0, 5.0);
        double engagement = Math.Clamp(Math.Sqrt(lambda / meanLambda), 0.2, 3.0);

        // Preferred categories: one to three, the second and third usually in the first one's affinity group.
        int count = rng.NextDouble() switch { < 0.35 => 1, < 0.8 => 2, _ => 3 };
        var categories = new List<int> { rng.Next(catalogue.CategoryCount) };
        while (categories.Count < count)
        {
            int candidate = rng.Chance(0.75)
                ? SameGroup(catalogue, categories[0], rng)
                : rng.Next(catalogue.CategoryCount);
            if (!categories.Contains(candidate)) categories.Add(candidate);
        }
        var cumulative = new double[categories.Count];
        double total = 0;
        for (int i = 0; i < categories.Count; i++)
        {
            total += i == 0 ? 0.6 : 0.4 / (categories.Count - 1);
            cumulative[i] = total;
        }

        return new Person
        {
            Index = index,
            FirstName = first,
            LastName = last,
            Gender = gender,
            BirthDate = birth,
            HouseNumber = rng.Between(1, 9999),
            StreetName = rng.Pick(Vocabulary.StreetNames),
            StreetType = rng.Next(Vocabulary.StreetTypes.Length),
            City = city,
            Postcode = postcode,
            Email = email,
            WorkEmail = workEmail,
            Phone = phone,
            Loyalty = loyalty,
            ConsentEmail = rng.Chance(0.7),
            ConsentSms = rng.Chance(0.35),
            Signup = signup,
            Lambda = lambda,
            DropoutProbability = p,
            SpendRate = nu,
            SpendMean = options.SpendShape / nu,
            Satisfaction = satisfaction,
            Engagement = engagement,
            Categories = categories.ToArray(),
            CategoryCumulative = cumulative,
        };
    }

    private static int SameGroup(ProductCatalogue catalogue, int category, Rng rng)
    {
        int group = catalogue.CategoryGroup[category];
        int perGroup = catalogue.CategoryCount / Vocabulary.CategoryGroups.Length;
        return group * perGroup + rng.Next(perGroup);
    }

    private static string LocalPart(string first, string last, Rng rng)
    {
        string f = Ascii(first), l = Ascii(last);
        return rng.Next(4) switch
        {
            0 => $"{f}.{l}",
            1 => $"{f[0]}{l}",
            2 => $"{f}_{l}",
            _ => f,
        };
    }

    /// <summary>Lower-case letters only (O'Brien → obrien, Müller → muller), as people type them into email addresses.</summary>
    internal static string Ascii(string name)
    {
        var chars = new List<char>(name.Length);
        foreach (char c in name.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z') chars.Add(c);
            else if (c == 'ü') chars.Add('u');
        }
        return new string(chars.ToArray());
    }
}
