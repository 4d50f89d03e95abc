using iCrm.Core.Features;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Churn;

/// <summary>Which churn label a model was trained on (the card says it in words).</summary>
public enum ChurnLabelDefinition
{
    /// <summary>The <c>churned</c> column of customers drops.</summary>
    Explicit,

    /// <summary>Derived from activity: no purchase (or every subscription ended) in the window after a cutoff.</summary>
    Derived,
}

/// <summary>
/// How a training run measures its models out of sample, decided from the labels the snapshot holds:
/// <list type="bullet">
/// <item>explicit labels (most labelled customers carry one): stratified k-fold cross-validation over them (a
/// stratified 80/20 holdout above <see cref="ChurnTrainingOptions.LargeDataRows"/>); labels without dates cannot be
/// split by time;</item>
/// <item>derived labels whose cutoffs spread: a time holdout (train on features at end − 2w with labels from the
/// window after, evaluate at end − w), with hyperparameters chosen by cross-validation inside the training rows;</item>
/// <item>derived labels with too short a history: stratified k-fold cross-validation on the latest labelled cutoff.</item>
/// </list>
/// Evaluation rows never train the model that scores them; the shipped model is refit on <see cref="All"/>.
/// </summary>
/// <param name="Selection">Rows the hyperparameter search cross-validates on (for a holdout protocol: the training rows).</param>
/// <param name="Holdout">The evaluation rows of a holdout protocol; null for cross-validation (its folds are out of sample).</param>
public sealed record ChurnPlan(
    ChurnLabelDefinition Labels, string Protocol, ChurnDataset Selection, ChurnDataset? Holdout, int Folds, int Seed, string Reason)
{
    public bool IsCrossValidation => Holdout is null;

    /// <summary>Every labelled row: what the shipped model is refit on after selection.</summary>
    public ChurnDataset All => Holdout is null ? Selection : Selection.Concat(Holdout);

    public int[] SelectionFolds() => Selection.StratifiedFolds(Folds, Seed);

    public static ChurnPlan Create(
        IReadOnlyCollection<CustomerProfile> profiles, FeatureBuilder builder, ChurnLabeler labeler, DateTimeOffset dataEnd, ChurnTrainingOptions options)
    {
        var window = TimeSpan.FromDays(labeler.Options.WindowDays);
        var latest = ChurnDataset.FromProfiles(profiles, builder, labeler, dataEnd - window);
        var explicitCount = labeler.Options.UseExplicitLabels ? profiles.Count(p => p.MergedInto is null && p.ChurnLabel is not null) : 0;
        if (explicitCount >= options.MinimumRows && explicitCount >= latest.Count)
        {
            var labelled = ChurnDataset.FromExplicitLabels(profiles, builder, dataEnd);
            if (labelled.Count > options.LargeDataRows)
            {
                var folds = labelled.StratifiedFolds(5, options.Seed);
                var selection = labelled.Subset([.. Enumerable.Range(0, labelled.Count).Where(i => folds[i] != 0)]);
                var holdout = labelled.Subset([.. Enumerable.Range(0, labelled.Count).Where(i => folds[i] == 0)]);
                return new ChurnPlan(ChurnLabelDefinition.Explicit, EvaluationProtocols.StratifiedHoldout, selection, holdout,
                    FoldCount(selection, 3), options.Seed, $"explicit labels on {labelled.Count:N0} customers: stratified 80/20 holdout");
            }

            return new ChurnPlan(ChurnLabelDefinition.Explicit, EvaluationProtocols.StratifiedCrossValidation, labelled, null,
                FoldCount(labelled, options.Folds), options.Seed, "explicit labels without dates cannot be split by time");
        }

        var train = ChurnDataset.FromProfiles(profiles, builder, labeler, dataEnd - window - window);
        if (train.Count >= options.MinimumTimeSplitRows && train.HasBothClasses(options.Folds)
            && latest.Count >= options.MinimumTimeSplitRows / 4 && latest.HasBothClasses())
        {
            return new ChurnPlan(ChurnLabelDefinition.Derived, EvaluationProtocols.TimeHoldout, train, latest,
                FoldCount(train, 3), options.Seed, "derived labels whose cutoffs spread over time");
        }

        return new ChurnPlan(ChurnLabelDefinition.Derived, EvaluationProtocols.StratifiedCrossValidation, latest, null,
            FoldCount(latest, options.Folds), options.Seed, "history too short for a time split");
    }

    /// <summary>No more folds than customers of the smaller class (every fold needs one of each).</summary>
    private static int FoldCount(ChurnDataset data, int wanted) => Math.Max(2, Math.Min(wanted, Math.Min(data.Positives, data.Count - data.Positives)));
}
