using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace iCrm.Core.Features;

/// <summary>How a feature's value should be read (model cards show it; trees do not care, linear models are normalised).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FeatureKind>))]
public enum FeatureKind
{
    /// <summary>A count, amount, duration or ratio.</summary>
    Numeric,

    /// <summary>0 or 1.</summary>
    Flag,

    /// <summary>A numeric (or yes/no) customer attribute from a drop, discovered at training time.</summary>
    NumericAttribute,

    /// <summary>One bucket of the hashed block of categorical attributes (schema v1 only; kept so v1 models still score).</summary>
    HashedCategory,

    /// <summary>1 when a low-cardinality attribute has this value, else 0 (one slot per value: no collisions).</summary>
    OneHotCategory,

    /// <summary>Share of customers with the same value of a high-cardinality attribute (0 for a value never seen).</summary>
    FrequencyEncoded,

    /// <summary>Smoothed churn rate of customers with the same value of a high-cardinality attribute, learnt by the
    /// trainer (out of fold for the rows it trains on) and stored with the model.</summary>
    TargetEncoded,

    /// <summary>The total of numeric attributes that measure one quantity in parts (e.g. day, evening and night minutes).</summary>
    AttributeTotal,
}

/// <param name="Name">Stable machine name, e.g. <c>days_since_last_order</c>.</param>
/// <param name="Label">What a person reads in a model card or an explanation, e.g. "days since last order".</param>
public sealed record FeatureDefinition(string Name, FeatureKind Kind, string Label);

/// <summary>A low-cardinality attribute and the values that got a one-hot slot each (others set none of them).</summary>
public sealed record OneHotAttribute(string Name, IReadOnlyList<string> Values);

/// <summary>
/// A high-cardinality attribute read through encodings: its value frequencies (label-free, from discovery) and, once a
/// trainer has set it, a target encoding. Values are normalised (<see cref="AttributeDiscovery.NormaliseValue"/>).
/// </summary>
public sealed record EncodedAttribute(string Name, IReadOnlyDictionary<string, float> Frequency, TargetEncoding? Target = null);

/// <summary>Numeric attributes whose names end in the same unit word (<c>day_minutes</c>, <c>night_minutes</c>): their
/// total gets a slot of its own, as an analyst would add it (trees cannot add features up by themselves).</summary>
public sealed record AttributeTotal(string Unit, IReadOnlyList<string> Members);

/// <summary>Smoothed label rate per value; <see cref="Prior"/> for a value not in <see cref="Rates"/>.</summary>
public sealed record TargetEncoding(float Prior, IReadOnlyDictionary<string, float> Rates)
{
    public float Of(string value) => Rates.TryGetValue(value, out var rate) ? rate : Prior;
}

/// <summary>
/// The layout of the feature vector: which feature is at which index, how to read it, and which customer attributes
/// were found worth using when the schema was discovered. The model card stores it; a scorer compares its
/// <see cref="Fingerprint"/> with the feature builder's so a model never reads a vector laid out differently.
/// Layout: the fixed features, one slot per numeric attribute, one slot per one-hot value, a frequency and a target
/// slot per encoded attribute, the totals of numeric attributes measured in parts, then (schema v1 only) the hashed categorical block.
/// </summary>
public sealed class FeatureSchema
{
    /// <summary>Bumped whenever the fixed part of the layout or a feature's meaning changes. v2 added one-hot and
    /// encoded attributes; v1 schemas (hashed categories) are still built, so v1 models keep scoring until retrained.</summary>
    public const int CurrentVersion = 2;

    public const int OldestReadableVersion = 1;

    [JsonConstructor]
    public FeatureSchema(
        int version,
        IReadOnlyList<FeatureDefinition> features,
        IReadOnlyList<string> numericAttributes,
        IReadOnlyList<string> categoricalAttributes,
        int hashBuckets,
        IReadOnlyList<OneHotAttribute>? oneHotAttributes = null,
        IReadOnlyList<EncodedAttribute>? encodedAttributes = null,
        IReadOnlyList<AttributeTotal>? attributeTotals = null)
    {
        Version = version;
        Features = features;
        NumericAttributes = numericAttributes;
        CategoricalAttributes = categoricalAttributes;
        HashBuckets = hashBuckets;
        OneHotAttributes = oneHotAttributes ?? [];
        EncodedAttributes = encodedAttributes ?? [];
        AttributeTotals = attributeTotals ?? [];
        Fingerprint = ComputeFingerprint();
    }

    public int Version { get; }

    public IReadOnlyList<FeatureDefinition> Features { get; }

    /// <summary>Attribute names (lower case) read as numbers (yes/no and true/false as 1/0), one slot each, in this order.</summary>
    public IReadOnlyList<string> NumericAttributes { get; }

    /// <summary>Schema v1: attribute names whose values are hashed into the categorical block. Empty from v2 on.</summary>
    public IReadOnlyList<string> CategoricalAttributes { get; }

    /// <summary>Schema v1: size of the hashed block. 0 from v2 on.</summary>
    public int HashBuckets { get; }

    public IReadOnlyList<OneHotAttribute> OneHotAttributes { get; }

    public IReadOnlyList<EncodedAttribute> EncodedAttributes { get; }

    public IReadOnlyList<AttributeTotal> AttributeTotals { get; }

    /// <summary>First 16 hex characters of SHA-256 over the version and every feature name and kind (not the learnt
    /// encodings: a new target encoding does not change what the model reads where).</summary>
    public string Fingerprint { get; }

    [JsonIgnore]
    public int Count => Features.Count;

    /// <summary>The schema with no attribute-derived slots (used when nothing was discovered).</summary>
    public static FeatureSchema Default { get; } = Create([], [], [], []);

    public int IndexOf(string name)
    {
        for (var i = 0; i < Features.Count; i++)
        {
            if (Features[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Index of the target-encoding slot of each encoded attribute, in <see cref="EncodedAttributes"/> order.</summary>
    public IReadOnlyList<int> TargetSlots()
    {
        var start = FixedFeatures.Count + NumericAttributes.Count + OneHotAttributes.Sum(a => a.Values.Count);
        return [.. EncodedAttributes.Select((_, i) => start + 2 * i + 1)];
    }

    /// <summary>The same layout with target encodings learnt by a trainer (one per encoded attribute, in order).</summary>
    public FeatureSchema WithTargetEncodings(IReadOnlyList<TargetEncoding> encodings)
    {
        if (encodings.Count != EncodedAttributes.Count)
        {
            throw new ArgumentException($"{EncodedAttributes.Count} encoded attributes but {encodings.Count} target encodings.", nameof(encodings));
        }

        return new FeatureSchema(Version, Features, NumericAttributes, CategoricalAttributes, HashBuckets, OneHotAttributes,
            [.. EncodedAttributes.Select((a, i) => a with { Target = encodings[i] })], AttributeTotals);
    }

    public bool IsCompatibleWith(FeatureSchema other) => other.Fingerprint == Fingerprint;

    /// <summary>Throws when a model trained on <paramref name="modelSchema"/> cannot read vectors built with this schema.</summary>
    public void EnsureCompatibleWith(FeatureSchema modelSchema)
    {
        if (!IsCompatibleWith(modelSchema))
        {
            throw new InvalidOperationException(
                $"Feature schema mismatch: the model expects {modelSchema.Fingerprint} ({modelSchema.Count} features, v{modelSchema.Version}) " +
                $"but the feature builder produces {Fingerprint} ({Count} features, v{Version}). Retrain the model.");
        }
    }

    /// <summary>Builds a current-version schema: the fixed features, then the attribute slots in layout order.</summary>
    public static FeatureSchema Create(
        IReadOnlyList<string> numericAttributes,
        IReadOnlyList<OneHotAttribute> oneHotAttributes,
        IReadOnlyList<EncodedAttribute> encodedAttributes,
        IReadOnlyList<AttributeTotal> attributeTotals)
    {
        var features = new List<FeatureDefinition>(FixedFeatures.All);
        foreach (var name in numericAttributes)
        {
            features.Add(new FeatureDefinition("attr:" + name, FeatureKind.NumericAttribute, $"customer attribute '{name}'"));
        }

        foreach (var a in oneHotAttributes)
        {
            foreach (var value in a.Values)
            {
                features.Add(new FeatureDefinition($"attr:{a.Name}={value}", FeatureKind.OneHotCategory, $"customer attribute '{a.Name}' is '{value}'"));
            }
        }

        foreach (var a in encodedAttributes)
        {
            features.Add(new FeatureDefinition($"attr_freq:{a.Name}", FeatureKind.FrequencyEncoded, $"how common the customer's '{a.Name}' is"));
            features.Add(new FeatureDefinition($"attr_target:{a.Name}", FeatureKind.TargetEncoded, $"churn rate of customers with the same '{a.Name}'"));
        }

        foreach (var t in attributeTotals)
        {
            features.Add(new FeatureDefinition($"attr_total:{t.Unit}", FeatureKind.AttributeTotal, $"total {t.Unit.Replace('_', ' ')} ({string.Join(" + ", t.Members)})"));
        }

        return new FeatureSchema(CurrentVersion, features, numericAttributes, [], 0, oneHotAttributes, encodedAttributes, attributeTotals);
    }

    private string ComputeFingerprint()
    {
        var text = new StringBuilder().Append('v').Append(Version).Append('|').Append(HashBuckets);
        foreach (var f in Features)
        {
            text.Append('|').Append(f.Name).Append(':').Append((int)f.Kind);
        }

        foreach (var c in CategoricalAttributes)
        {
            text.Append("|cat:").Append(c);
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return Convert.ToHexStringLower(hash)[..16];
    }
}
