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

    /// <summary>A numeric customer attribute from a drop, discovered at training time.</summary>
    NumericAttribute,

    /// <summary>One bucket of the hashed block of categorical attributes (a count of attribute=value pairs hashed to it).</summary>
    HashedCategory,
}

/// <param name="Name">Stable machine name, e.g. <c>days_since_last_order</c>.</param>
/// <param name="Label">What a person reads in a model card or an explanation, e.g. "days since last order".</param>
public sealed record FeatureDefinition(string Name, FeatureKind Kind, string Label);

/// <summary>
/// The layout of the feature vector: which feature is at which index, how to read it, and which customer attributes
/// were found worth using when the schema was discovered. The model card stores it; a scorer compares its
/// <see cref="Fingerprint"/> with the feature builder's so a model never reads a vector laid out differently.
/// </summary>
public sealed class FeatureSchema
{
    /// <summary>Bumped whenever the fixed part of the layout or a feature's meaning changes.</summary>
    public const int CurrentVersion = 1;

    public const int DefaultHashBuckets = 16;

    [JsonConstructor]
    public FeatureSchema(
        int version,
        IReadOnlyList<FeatureDefinition> features,
        IReadOnlyList<string> numericAttributes,
        IReadOnlyList<string> categoricalAttributes,
        int hashBuckets)
    {
        Version = version;
        Features = features;
        NumericAttributes = numericAttributes;
        CategoricalAttributes = categoricalAttributes;
        HashBuckets = hashBuckets;
        Fingerprint = ComputeFingerprint();
    }

    public int Version { get; }

    public IReadOnlyList<FeatureDefinition> Features { get; }

    /// <summary>Attribute names (lower case) read as numbers, one slot each, in this order.</summary>
    public IReadOnlyList<string> NumericAttributes { get; }

    /// <summary>Attribute names (lower case) whose values are hashed into the categorical block.</summary>
    public IReadOnlyList<string> CategoricalAttributes { get; }

    public int HashBuckets { get; }

    /// <summary>First 16 hex characters of SHA-256 over the version and every feature name and kind.</summary>
    public string Fingerprint { get; }

    [JsonIgnore]
    public int Count => Features.Count;

    /// <summary>The schema with no attribute-derived slots beyond the hashed block (used when nothing was discovered).</summary>
    public static FeatureSchema Default { get; } = Create([], [], DefaultHashBuckets, bucketExamples: null);

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

    /// <summary>
    /// Builds the schema: the fixed features, then one slot per numeric attribute, then the hashed categorical block.
    /// <paramref name="bucketExamples"/> (optional) gives each hash bucket a readable label with the values that land in it.
    /// </summary>
    public static FeatureSchema Create(
        IReadOnlyList<string> numericAttributes,
        IReadOnlyList<string> categoricalAttributes,
        int hashBuckets,
        IReadOnlyDictionary<int, IReadOnlyList<string>>? bucketExamples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(hashBuckets);
        var features = new List<FeatureDefinition>(FixedFeatures.All);
        foreach (var name in numericAttributes)
        {
            features.Add(new FeatureDefinition("attr:" + name, FeatureKind.NumericAttribute, $"customer attribute '{name}'"));
        }

        for (var b = 0; b < hashBuckets; b++)
        {
            var label = bucketExamples is not null && bucketExamples.TryGetValue(b, out var examples) && examples.Count > 0
                ? $"customer attributes group {b} ({string.Join(", ", examples)})"
                : $"customer attributes group {b}";
            features.Add(new FeatureDefinition($"attr_hash:{b}", FeatureKind.HashedCategory, label));
        }

        return new FeatureSchema(CurrentVersion, features, numericAttributes, categoricalAttributes, hashBuckets);
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
