using iCrm.Core.Features;
using iCrm.Core.Profiles;

namespace iCrm.Ml.Churn;

/// <summary>
/// Labelled feature vectors for churn: one row per labelled customer, plus each row's values of the schema's encoded
/// (high-cardinality) attributes, which the trainer target-encodes out of fold.
/// </summary>
public sealed class ChurnDataset
{
    public ChurnDataset(FeatureSchema schema, IReadOnlyList<float[]> features, IReadOnlyList<bool> labels, DateTimeOffset asOf,
        IReadOnlyList<string?[]>? categories = null)
    {
        if (features.Count != labels.Count)
        {
            throw new ArgumentException($"{features.Count} feature rows but {labels.Count} labels.");
        }

        foreach (var row in features)
        {
            if (row.Length != schema.Count)
            {
                throw new ArgumentException($"A feature row has {row.Length} values; the schema has {schema.Count}.");
            }
        }

        Schema = schema;
        Features = features;
        Labels = labels;
        AsOf = asOf;
        Categories = categories ?? [.. features.Select(_ => new string?[schema.EncodedAttributes.Count])];
        if (Categories.Count != features.Count || Categories.Any(c => c.Length != schema.EncodedAttributes.Count))
        {
            throw new ArgumentException("One value per encoded attribute is needed for every row.");
        }
    }

    public FeatureSchema Schema { get; }

    public IReadOnlyList<float[]> Features { get; }

    public IReadOnlyList<bool> Labels { get; }

    /// <summary>Per row, the normalised value of each of <see cref="FeatureSchema.EncodedAttributes"/> (null when absent).</summary>
    public IReadOnlyList<string?[]> Categories { get; }

    /// <summary>The cutoff: features are from before it, labels from the window after it (for explicit labels: the data end).</summary>
    public DateTimeOffset AsOf { get; }

    public int Count => Features.Count;

    public int Positives => Labels.Count(l => l);

    public double ChurnRate => Count == 0 ? 0 : Positives / (double)Count;

    /// <summary>Holds both classes with at least <paramref name="perClass"/> customers each.</summary>
    public bool HasBothClasses(int perClass = 1) => Positives >= perClass && Count - Positives >= perClass;

    /// <summary>
    /// Features as of <paramref name="asOf"/> and labels from the window after it, for every profile with a dated
    /// label (derived from activity, a subscription or an explicit label with its date). Undated explicit labels are
    /// left out: they are the same at every cutoff, so they would put one customer on both sides of a time split.
    /// </summary>
    public static ChurnDataset FromProfiles(IEnumerable<CustomerProfile> profiles, FeatureBuilder builder, ChurnLabeler labeler, DateTimeOffset asOf)
    {
        var rows = new Rows(builder);
        foreach (var profile in profiles)
        {
            if (profile.MergedInto is null && labeler.Label(profile, asOf) is { Dated: true } outcome)
            {
                rows.Add(profile, asOf, outcome.Churned);
            }
        }

        return rows.ToDataset(asOf);
    }

    /// <summary>
    /// Every profile with an explicit label from a drop: churned or not, whatever its date. Features are as of the
    /// label's date for a dated churner (what was known before it left) and as of <paramref name="dataEnd"/> otherwise.
    /// </summary>
    public static ChurnDataset FromExplicitLabels(IEnumerable<CustomerProfile> profiles, FeatureBuilder builder, DateTimeOffset dataEnd)
    {
        var rows = new Rows(builder);
        foreach (var profile in profiles)
        {
            if (profile.MergedInto is null && profile.ChurnLabel is { } label)
            {
                var asOf = label is { Churned: true, ChurnedAt: { } at } && new DateTimeOffset(at.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) is var day && day < dataEnd
                    ? day
                    : dataEnd;
                rows.Add(profile, asOf, label.Churned);
            }
        }

        return rows.ToDataset(dataEnd);
    }

    /// <summary>The rows at <paramref name="indices"/>.</summary>
    public ChurnDataset Subset(IReadOnlyList<int> indices) =>
        new(Schema, [.. indices.Select(i => Features[i])], [.. indices.Select(i => Labels[i])], AsOf, [.. indices.Select(i => Categories[i])]);

    /// <summary>Both data sets' rows, in order (for the refit on every labelled row after a time split).</summary>
    public ChurnDataset Concat(ChurnDataset other) =>
        new(Schema, [.. Features, .. other.Features], [.. Labels, .. other.Labels], other.AsOf, [.. Categories, .. other.Categories]);

    /// <summary>
    /// Seeded stratified folds: churners and the others are each shuffled and dealt round-robin, so every fold has the
    /// data set's churn rate (± one customer). Returns the fold of every row.
    /// </summary>
    public int[] StratifiedFolds(int folds, int seed)
    {
        var fold = new int[Count];
        var rng = new Random(seed);
        foreach (var cls in new[] { true, false })
        {
            var members = Enumerable.Range(0, Count).Where(i => Labels[i] == cls).ToArray();
            rng.Shuffle(members);
            for (var j = 0; j < members.Length; j++)
            {
                fold[members[j]] = j % folds;
            }
        }

        return fold;
    }

    private sealed class Rows(FeatureBuilder builder)
    {
        private readonly List<float[]> _features = [];
        private readonly List<bool> _labels = [];
        private readonly List<string?[]> _categories = [];

        public void Add(CustomerProfile profile, DateTimeOffset asOf, bool churned)
        {
            _features.Add(builder.Build(profile, asOf).Values);
            _labels.Add(churned);
            var encoded = builder.Schema.EncodedAttributes;
            var values = new string?[encoded.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = AttributeDiscovery.ValueOf(profile, encoded[i].Name);
            }

            _categories.Add(values);
        }

        public ChurnDataset ToDataset(DateTimeOffset asOf) => new(builder.Schema, _features, _labels, asOf, _categories);
    }
}
