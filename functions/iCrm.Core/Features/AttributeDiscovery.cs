using System.Globalization;
using iCrm.Core.Profiles;

namespace iCrm.Core.Features;

/// <summary>Limits for turning free-form customer attributes into features.</summary>
public sealed record AttributeDiscoveryOptions
{
    /// <summary>An attribute is numeric when at least this share of its non-empty values parse as numbers (or booleans).</summary>
    public double NumericShare { get; init; } = 0.95;

    /// <summary>An attribute must be present on at least this share of profiles to be used at all.</summary>
    public double MinPresence { get; init; } = 0.01;

    /// <summary>Categorical attributes with more distinct values than this are identifiers or free text: skipped.</summary>
    public int MaxCategories { get; init; } = 50;

    public int MaxNumericAttributes { get; init; } = 20;

    public int HashBuckets { get; init; } = FeatureSchema.DefaultHashBuckets;
}

/// <summary>
/// Decides at training time which customer attributes become features, so a drop with extra columns is used without
/// code changes: numeric ones get a named slot each (stored in the schema), categorical ones are hashed into a fixed
/// block of <see cref="AttributeDiscoveryOptions.HashBuckets"/> counts. Attributes that could carry the label
/// (churn, cancellation, end dates) or identify a person (ids, emails) are never used.
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
                if (IsExcluded(key))
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
                if (s.Values.Count <= options.MaxCategories)
                {
                    var v = NormaliseValue(value);
                    s.Values[v] = s.Values.GetValueOrDefault(v) + 1;
                }
            }
        }

        var minPresent = Math.Max(1, (int)Math.Ceiling(options.MinPresence * total));
        var usable = stats.Where(kv => kv.Value.Present >= minPresent).ToList();
        var numeric = usable
            .Where(kv => kv.Value.Numeric >= options.NumericShare * kv.Value.Present)
            .OrderByDescending(kv => kv.Value.Present).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(options.MaxNumericAttributes)
            .Select(kv => kv.Key)
            .OrderBy(k => k, StringComparer.Ordinal)
            .ToList();
        var categorical = usable
            .Where(kv => kv.Value.Numeric < options.NumericShare * kv.Value.Present && kv.Value.Values.Count <= options.MaxCategories)
            .Select(kv => kv.Key)
            .OrderBy(k => k, StringComparer.Ordinal)
            .ToList();

        // Readable labels for the hash buckets: the most frequent attribute=value pairs that land in each.
        var examples = new Dictionary<int, IReadOnlyList<string>>();
        if (options.HashBuckets > 0)
        {
            var pairs = categorical
                .SelectMany(name => stats[name].Values.Select(v => (Text: $"{name}={v.Key}", v.Value)))
                .GroupBy(p => HashBucket(p.Text, options.HashBuckets));
            foreach (var group in pairs)
            {
                examples[group.Key] = group.OrderByDescending(p => p.Value).ThenBy(p => p.Text, StringComparer.Ordinal)
                    .Take(3).Select(p => p.Text).ToList();
            }
        }

        return FeatureSchema.Create(numeric, categorical, options.HashBuckets, examples);
    }

    /// <summary>The attributes plus gender and country (profile fields that behave like categorical attributes).</summary>
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
    }

    internal static string NormaliseName(string name) => name.Trim().ToLowerInvariant().Replace(' ', '_').Replace('-', '_');

    internal static string NormaliseValue(string value) => value.Trim().ToLowerInvariant();

    internal static bool IsExcluded(string key) =>
        key.Contains("churn", StringComparison.Ordinal)
        || key.Contains("cancel", StringComparison.Ordinal)
        || key.Contains("end_date", StringComparison.Ordinal)
        || key.Contains("ended", StringComparison.Ordinal)
        || key.Contains("email", StringComparison.Ordinal)
        || key.Contains("phone", StringComparison.Ordinal)
        || key.Contains("name", StringComparison.Ordinal)
        || key is "id" || key.EndsWith("_id", StringComparison.Ordinal) || key.EndsWith("uuid", StringComparison.Ordinal);

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

    /// <summary>FNV-1a over the lower-case "name=value" text: stable across processes, unlike string.GetHashCode.</summary>
    internal static int HashBucket(string text, int buckets) => (int)(Fnv1a.Add(Fnv1a.Seed, text) % (uint)buckets);

    private sealed class AttributeStats
    {
        public int Present;
        public int Numeric;
        public readonly Dictionary<string, int> Values = new(StringComparer.Ordinal);
    }
}
