using System.Globalization;
using iCrm.Core.Profiles;

namespace iCrm.Core.Features;

/// <summary>Limits for turning free-form customer attributes into features.</summary>
public sealed record AttributeDiscoveryOptions
{
    /// <summary>An attribute is numeric when at least this share of its non-empty values parse as numbers (or yes/no).</summary>
    public double NumericShare { get; init; } = 0.95;

    /// <summary>An attribute must be present on at least this share of profiles to be used at all.</summary>
    public double MinPresence { get; init; } = 0.01;

    public int MaxNumericAttributes { get; init; } = 50;

    /// <summary>A categorical attribute with at most this many distinct values is one-hot encoded; above, it is encoded
    /// by frequency and target rate.</summary>
    public int MaxOneHotValues { get; init; } = 12;

    /// <summary>A one-hot value needs at least this many customers to get its own slot (rarer values set none).</summary>
    public int MinValueCount { get; init; } = 5;

    /// <summary>Distinct values are counted up to this many; an attribute with more is free text or an identifier: skipped.</summary>
    public int MaxCategories { get; init; } = 1_000;

    /// <summary>A categorical attribute whose distinct values exceed this share of its customers identifies them rather
    /// than grouping them (ids, free text): skipped, whatever its name.</summary>
    public double MaxDistinctShare { get; init; } = 0.5;

    /// <summary>
    /// Attributes configured as personal data (normalised names, exact match): never used as features. Contact fields
    /// (email, phone, names, address) are not attributes in the first place; this is for extra columns that carry them.
    /// </summary>
    public IReadOnlySet<string> PersonalData { get; init; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "ssn", "social_security_number", "national_id", "passport_number", "tax_id", "iban", "credit_card_number", "ip_address",
    };

    /// <summary>Attributes configured as stand-ins for the churn label (exact names), which would leak it into the features.</summary>
    public IReadOnlySet<string> LabelProxies { get; init; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "churn_reason", "churn_category", "churn_score", "cancellation_reason", "cancel_reason",
    };
}

/// <summary>
/// Decides at training time which customer attributes become features, so a drop with extra columns is used without
/// code changes, the way an analyst would: yes/no and true/false and numeric-looking text as numbers, low-cardinality
/// categories one-hot (a slot per value, no collisions), high-cardinality ones by value frequency and (learnt by the
/// trainer) target rate, and numeric attributes that measure one quantity in parts (same unit word at the end of their
/// names, e.g. day/evening/night <c>_minutes</c>) also as their total. An attribute is left out only when it is configured as personal data or as a label proxy, or
/// when its values identify customers instead of grouping them; never because of its name.
/// </summary>
public static class AttributeDiscovery
{
    public static FeatureSchema Discover(IEnumerable<CustomerProfile> profiles, AttributeDiscoveryOptions? options = null)
    {
        options ??= new AttributeDiscoveryOptions();
        var stats = new Dictionary<string, AttributeStats>(StringComparer.Ordinal);
        var total = 0;
        foreach (var profile in profiles)
        {
            total++;
            foreach (var (rawKey, rawValue) in Inputs(profile))
            {
                var value = rawValue?.Trim();
                if (string.IsNullOrEmpty(value))
                {
                    continue;
                }

                var key = NormaliseName(rawKey);
                if (options.PersonalData.Contains(key) || options.LabelProxies.Contains(key))
                {
                    continue;
                }

                if (!stats.TryGetValue(key, out var s))
                {
                    stats[key] = s = new AttributeStats();
                }

                s.Present++;
                if (TryParseNumber(value, out _))
                {
                    s.Numeric++;
                }

                // Count distinct values only while it is still a plausible category (bounded memory).
                if (!s.TooMany)
                {
                    var v = NormaliseValue(value);
                    s.Values[v] = s.Values.GetValueOrDefault(v) + 1;
                    s.TooMany = s.Values.Count > options.MaxCategories;
                }
            }
        }

        var minPresent = Math.Max(1, (int)Math.Ceiling(options.MinPresence * total));
        var usable = stats.Where(kv => kv.Value.Present >= minPresent).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        bool IsNumeric(AttributeStats s) => s.Numeric >= options.NumericShare * s.Present;
        var numeric = usable
            .Where(kv => IsNumeric(kv.Value))
            .OrderByDescending(kv => kv.Value.Present).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(options.MaxNumericAttributes)
            .Select(kv => kv.Key)
            .OrderBy(k => k, StringComparer.Ordinal)
            .ToList();
        var oneHot = new List<OneHotAttribute>();
        var encoded = new List<EncodedAttribute>();
        foreach (var (name, s) in usable)
        {
            if (IsNumeric(s) || s.TooMany || s.Values.Count > options.MaxDistinctShare * s.Present && s.Values.Count > options.MaxOneHotValues)
            {
                continue;
            }

            if (s.Values.Count <= options.MaxOneHotValues)
            {
                var values = s.Values.Where(v => v.Value >= options.MinValueCount).Select(v => v.Key).Order(StringComparer.Ordinal).ToList();
                // One value alone says nothing when it covers every customer who has the attribute.
                if (values.Count > 1 || values.Count == 1 && s.Values[values[0]] < total)
                {
                    oneHot.Add(new OneHotAttribute(name, values));
                }
            }
            else
            {
                var frequency = s.Values.ToDictionary(v => v.Key, v => (float)(v.Value / (double)total), StringComparer.Ordinal);
                encoded.Add(new EncodedAttribute(name, frequency));
            }
        }

        // Parts of one quantity share the unit word at the end of their names; two or more of them get a total.
        var totals = numeric
            .Where(n => n.LastIndexOf('_') is var at && at > 0 && n.Length - at > 3)
            .GroupBy(n => n[(n.LastIndexOf('_') + 1)..], StringComparer.Ordinal)
            .Where(g => g.Count() >= 2 && !numeric.Contains(g.Key))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new AttributeTotal(g.Key, [.. g]))
            .ToList();
        return FeatureSchema.Create(numeric, oneHot, encoded, totals);
    }

    /// <summary>The attributes plus gender, country and state (coarse profile fields that behave like categorical attributes).</summary>
    internal static IEnumerable<KeyValuePair<string, string>> Inputs(CustomerProfile profile)
    {
        foreach (var kv in profile.Attributes)
        {
            yield return kv;
        }

        if (!string.IsNullOrWhiteSpace(profile.Contact.Gender) && !profile.Attributes.ContainsKey("gender"))
        {
            yield return new("gender", profile.Contact.Gender);
        }

        if (!string.IsNullOrWhiteSpace(profile.Contact.Country) && !profile.Attributes.ContainsKey("country"))
        {
            yield return new("country", profile.Contact.Country);
        }

        if (!string.IsNullOrWhiteSpace(profile.Contact.State) && !profile.Attributes.ContainsKey("state"))
        {
            yield return new("state", profile.Contact.State);
        }
    }

    /// <summary>The normalised value of one attribute (as <see cref="Inputs"/> names it) on a profile, or null.</summary>
    public static string? ValueOf(CustomerProfile profile, string name)
    {
        foreach (var (rawKey, rawValue) in Inputs(profile))
        {
            if (!string.IsNullOrWhiteSpace(rawValue) && NormaliseName(rawKey) == name)
            {
                return NormaliseValue(rawValue);
            }
        }

        return null;
    }

    internal static string NormaliseName(string name) => name.Trim().ToLowerInvariant().Replace(' ', '_').Replace('-', '_');

    public static string NormaliseValue(string value) => value.Trim().ToLowerInvariant();

    internal static bool TryParseNumber(string value, out double number)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number))
        {
            return true;
        }

        switch (value.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "y":
                number = 1;
                return true;
            case "false" or "no" or "n":
                number = 0;
                return true;
            default:
                number = 0;
                return false;
        }
    }

    /// <summary>FNV-1a over the lower-case "name=value" text: stable across processes, unlike string.GetHashCode (schema v1).</summary>
    internal static int HashBucket(string text, int buckets) => (int)(Fnv1a.Add(Fnv1a.Seed, text) % (uint)buckets);

    private sealed class AttributeStats
    {
        public int Present;
        public int Numeric;
        public bool TooMany;
        public readonly Dictionary<string, int> Values = new(StringComparer.Ordinal);
    }
}
