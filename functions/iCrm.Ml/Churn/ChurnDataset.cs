using iCrm.Core.Features;
using iCrm.Core.Profiles;

namespace iCrm.Ml.Churn;

/// <summary>Labelled feature vectors for churn: one row per customer who could be labelled at <see cref="AsOf"/>.</summary>
public sealed class ChurnDataset
{
    public ChurnDataset(FeatureSchema schema, IReadOnlyList<float[]> features, IReadOnlyList<bool> labels, DateTimeOffset asOf)
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
    }

    public FeatureSchema Schema { get; }

    public IReadOnlyList<float[]> Features { get; }

    public IReadOnlyList<bool> Labels { get; }

    /// <summary>The cutoff: features are from before it, labels from the window after it.</summary>
    public DateTimeOffset AsOf { get; }

    public int Count => Features.Count;

    public double ChurnRate => Count == 0 ? 0 : Labels.Count(l => l) / (double)Count;

    /// <summary>Features as of <paramref name="asOf"/> and labels from the window after it, for every labellable profile.</summary>
    public static ChurnDataset FromProfiles(IEnumerable<CustomerProfile> profiles, FeatureBuilder builder, ChurnLabeler labeler, DateTimeOffset asOf)
    {
        var features = new List<float[]>();
        var labels = new List<bool>();
        foreach (var profile in profiles)
        {
            if (profile.MergedInto is not null || labeler.Label(profile, asOf) is not { } outcome)
            {
                continue;
            }

            features.Add(builder.Build(profile, asOf).Values);
            labels.Add(outcome.Churned);
        }

        return new ChurnDataset(builder.Schema, features, labels, asOf);
    }

    /// <summary>
    /// The time-based split used for evaluation: with the latest data at <paramref name="dataEnd"/> and a label window
    /// of w days, the holdout has features as of dataEnd − w and labels in [dataEnd − w, dataEnd); training has features
    /// as of dataEnd − 2w and labels in [dataEnd − 2w, dataEnd − w). Training never sees a label from the holdout's
    /// window, so the holdout measures what a model trained then would have achieved now.
    /// </summary>
    public static (ChurnDataset Train, ChurnDataset Holdout) TimeSplit(
        IReadOnlyCollection<CustomerProfile> profiles, FeatureBuilder builder, ChurnLabeler labeler, DateTimeOffset dataEnd)
    {
        var window = TimeSpan.FromDays(labeler.Options.WindowDays);
        var holdout = FromProfiles(profiles, builder, labeler, dataEnd - window);
        var train = FromProfiles(profiles, builder, labeler, dataEnd - window - window);
        return (train, holdout);
    }

    /// <summary>
    /// The time split when both snapshots are big enough and hold both classes; otherwise (short history) a seeded
    /// 80/20 random split of the latest labelled snapshot. <see cref="ChurnSplit.Method"/> says which, for the model card.
    /// </summary>
    public static ChurnSplit Split(
        IReadOnlyCollection<CustomerProfile> profiles, FeatureBuilder builder, ChurnLabeler labeler, DateTimeOffset dataEnd,
        int minimumRows = 200, int seed = 42)
    {
        var (train, holdout) = TimeSplit(profiles, builder, labeler, dataEnd);
        if (train.IsUsable(minimumRows) && holdout.IsUsable(minimumRows / 4))
        {
            return new ChurnSplit(train, holdout, "time");
        }

        var (randomTrain, randomHoldout) = holdout.RandomSplit(0.2, seed);
        return new ChurnSplit(randomTrain, randomHoldout, "random 80/20 (history too short for a time split)");
    }

    private bool IsUsable(int minimumRows) => Count >= minimumRows && Labels.Any(l => l) && Labels.Any(l => !l);

    /// <summary>A seeded random split, for when history is too short for a time split (documented in the model card).</summary>
    public (ChurnDataset Train, ChurnDataset Holdout) RandomSplit(double holdoutShare, int seed)
    {
        var rng = new Random(seed);
        var order = Enumerable.Range(0, Count).OrderBy(_ => rng.Next()).ToArray();
        var cut = (int)Math.Round(Count * (1 - holdoutShare));
        ChurnDataset Take(IEnumerable<int> idx)
        {
            var list = idx.Order().ToList();
            return new ChurnDataset(Schema, list.Select(i => Features[i]).ToList(), list.Select(i => Labels[i]).ToList(), AsOf);
        }

        return (Take(order[..cut]), Take(order[cut..]));
    }
}

/// <param name="Method">"time" for the time-based split, otherwise a description of the fallback.</param>
public sealed record ChurnSplit(ChurnDataset Train, ChurnDataset Holdout, string Method);
