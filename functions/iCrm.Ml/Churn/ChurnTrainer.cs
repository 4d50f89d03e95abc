using System.Diagnostics;
using iCrm.Core.Features;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;

namespace iCrm.Ml.Churn;

public sealed record ChurnTrainingOptions
{
    public int Seed { get; init; } = 42;

    /// <summary>Fixed so that a run is reproducible (FastTree's parallel histogram building depends on it).</summary>
    public int NumberOfThreads { get; init; } = 2;

    public int NumberOfTrees { get; init; } = 100;

    public int NumberOfLeaves { get; init; } = 16;

    public int MinimumExamplesPerLeaf { get; init; } = 20;

    public double LearningRate { get; init; } = 0.1;

    /// <summary>Holdout rows used for permutation importance (a seeded sample; 0 turns importance off).</summary>
    public int ImportanceSampleSize { get; init; } = 5_000;

    public ChurnBands Bands { get; init; } = new();

    /// <summary>
    /// After evaluation, fit the same configuration again on the holdout snapshot (the most recent labelled data) and
    /// ship that model. Off by default: then the served model is exactly the one the metrics describe.
    /// </summary>
    public bool RefitOnLatest { get; init; }
}

/// <summary>Holdout metrics of the boosted model against logistic regression and the base rate (train churn rate for everyone).</summary>
public sealed record ChurnEvaluation(
    BinaryMetrics Boosted,
    BinaryMetrics Logistic,
    BinaryMetrics BaseRate,
    int TrainRows,
    int HoldoutRows,
    double TrainChurnRate,
    DateTimeOffset TrainAsOf,
    DateTimeOffset HoldoutAsOf);

public sealed record ChurnTrainingResult(
    ChurnModel Model,
    ChurnEvaluation Evaluation,
    IReadOnlyList<FeatureImportance> Importance,
    IReadOnlyDictionary<string, object> Parameters,
    IReadOnlyDictionary<string, double> StageSeconds,
    TimeSpan Duration);

/// <summary>
/// Trains the churn model: FastTree gradient-boosted trees (Platt-calibrated probabilities, as FastTree's binary
/// trainer does by default) on the training snapshot; evaluates it on the holdout against L-BFGS logistic regression
/// on standardised features and against the base rate; ranks features by permutation importance on the holdout.
/// </summary>
public static class ChurnTrainer
{
    public static ChurnTrainingResult Train(ChurnDataset train, ChurnDataset holdout, ChurnTrainingOptions? options = null)
    {
        options ??= new ChurnTrainingOptions();
        if (!train.Schema.IsCompatibleWith(holdout.Schema))
        {
            throw new ArgumentException("Training and holdout rows were built with different feature schemas.");
        }

        var churners = train.Labels.Count(l => l);
        if (churners == 0 || churners == train.Count)
        {
            throw new InvalidOperationException($"Churn training needs both churners and retained customers; the training set has {churners} of {train.Count}.");
        }

        var clock = Stopwatch.StartNew();
        var stages = new Dictionary<string, double>();
        var stage = Stopwatch.StartNew();
        void Lap(string name)
        {
            stages[name] = Math.Round(stage.Elapsed.TotalSeconds, 3);
            stage.Restart();
        }

        var ml = new MLContext(seed: options.Seed);
        var model = FitBoosted(ml, train, options);
        var trees = model.Trees;
        Lap("boosted");

        var boostedProbabilities = holdout.Features.Select(x => trees.Probability(trees.RawScore(x))).ToList();
        var logisticProbabilities = TrainLogistic(ml, train, holdout, options);
        Lap("logistic");
        var baseRate = Enumerable.Repeat(train.ChurnRate, holdout.Count).ToList();
        var evaluation = new ChurnEvaluation(
            BinaryMetrics.Compute(boostedProbabilities, holdout.Labels),
            BinaryMetrics.Compute(logisticProbabilities, holdout.Labels),
            BinaryMetrics.Compute(baseRate, holdout.Labels),
            train.Count, holdout.Count, train.ChurnRate, train.AsOf, holdout.AsOf);

        Lap("evaluation");
        var importance = PermutationImportance(trees, train.Schema, holdout, options);
        Lap("importance");
        if (options.RefitOnLatest && holdout.Labels.Any(l => l) && holdout.Labels.Any(l => !l))
        {
            model = FitBoosted(ml, holdout, options);
            Lap("refit");
        }

        var parameters = new Dictionary<string, object>
        {
            ["algorithm"] = "FastTree binary (gradient-boosted trees) + Platt calibration",
            ["trees"] = options.NumberOfTrees,
            ["leaves"] = options.NumberOfLeaves,
            ["minExamplesPerLeaf"] = options.MinimumExamplesPerLeaf,
            ["learningRate"] = options.LearningRate,
            ["seed"] = options.Seed,
            ["threads"] = options.NumberOfThreads,
            ["plattSlope"] = trees.PlattSlope,
            ["plattOffset"] = trees.PlattOffset,
            ["bandMedium"] = options.Bands.Medium,
            ["bandHigh"] = options.Bands.High,
            ["refitOnLatest"] = options.RefitOnLatest,
        };
        return new ChurnTrainingResult(model, evaluation, importance, parameters, stages, clock.Elapsed);
    }

    private static ChurnModel FitBoosted(MLContext ml, ChurnDataset data, ChurnTrainingOptions options)
    {
        var n = data.Schema.Count;
        var boosted = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            NumberOfTrees = options.NumberOfTrees,
            NumberOfLeaves = options.NumberOfLeaves,
            MinimumExampleCountPerLeaf = options.MinimumExamplesPerLeaf,
            LearningRate = options.LearningRate,
            NumberOfThreads = options.NumberOfThreads,
            FeatureSelectionSeed = options.Seed,
            CategoricalSplit = false,
        }).Fit(ChurnRow.Load(ml, data.Features, data.Labels, n));
        var trees = ChurnTrees.FromModel(boosted.Model, n);
        trees.LearnExpectations(data.Features);
        return new ChurnModel(ml, boosted, trees, data.Schema, options.Bands);
    }

    private static List<double> TrainLogistic(MLContext ml, ChurnDataset train, ChurnDataset holdout, ChurnTrainingOptions options)
    {
        if (holdout.Count == 0)
        {
            return [];
        }

        var n = train.Schema.Count;
        var pipeline = ml.Transforms.NormalizeMeanVariance("Features")
            .Append(ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
            {
                NumberOfThreads = options.NumberOfThreads,
                L2Regularization = 1f,
                MaximumNumberOfIterations = 50,
            }));
        var logistic = pipeline.Fit(ChurnRow.Load(ml, train.Features, train.Labels, n));
        var scored = logistic.Transform(ChurnRow.Load(ml, holdout.Features, holdout.Labels, n));
        return scored.GetColumn<float>("Probability").Select(p => (double)p).ToList();
    }

    /// <summary>
    /// Permutation feature importance computed on the flattened trees (same model, no ML.NET row overhead): per
    /// feature, shuffle its column in a seeded holdout sample and measure the ROC-AUC drop.
    /// </summary>
    private static List<FeatureImportance> PermutationImportance(ChurnTrees trees, FeatureSchema schema, ChurnDataset holdout, ChurnTrainingOptions options)
    {
        var result = new List<FeatureImportance>();
        if (options.ImportanceSampleSize <= 0 || holdout.Count == 0 || holdout.Labels.All(l => l) || !holdout.Labels.Any(l => l))
        {
            return result;
        }

        var rng = new Random(options.Seed);
        var pick = Enumerable.Range(0, holdout.Count).OrderBy(_ => rng.Next()).Take(options.ImportanceSampleSize).ToArray();
        var rows = pick.Select(i => (float[])holdout.Features[i].Clone()).ToArray();
        var labels = pick.Select(i => holdout.Labels[i]).ToArray();
        var scores = new double[rows.Length];
        double Auc()
        {
            for (var i = 0; i < rows.Length; i++)
            {
                scores[i] = trees.RawScore(rows[i]);
            }

            return BinaryMetrics.Compute(scores, labels).RocAuc;
        }

        var baseline = Auc();
        var column = new float[rows.Length];
        for (var f = 0; f < schema.Count; f++)
        {
            for (var i = 0; i < rows.Length; i++)
            {
                column[i] = rows[i][f];
            }

            var drop = 0.0;
            if (column.Any(v => v != column[0]))
            {
                var shuffled = column.OrderBy(_ => rng.Next()).ToArray();
                for (var i = 0; i < rows.Length; i++)
                {
                    rows[i][f] = shuffled[i];
                }

                drop = baseline - Auc();
                for (var i = 0; i < rows.Length; i++)
                {
                    rows[i][f] = column[i];
                }
            }

            result.Add(new FeatureImportance(schema.Features[f].Name, schema.Features[f].Label, drop));
        }

        return result.OrderByDescending(x => x.AucDrop).ThenBy(x => x.Feature, StringComparer.Ordinal).ToList();
    }
}
