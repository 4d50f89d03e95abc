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

    /// <summary>Folds of the cross-validation protocol (fewer when the smaller class has fewer customers).</summary>
    public int Folds { get; init; } = 5;

    /// <summary>Fewer labelled customers than this: not enough to train.</summary>
    public int MinimumRows { get; init; } = 10;

    /// <summary>A time split needs at least this many rows at the earlier cutoff (and a quarter of it at the later one).</summary>
    public int MinimumTimeSplitRows { get; init; } = 200;

    /// <summary>Above this many explicitly labelled customers, a stratified 80/20 holdout replaces cross-validation.</summary>
    public int LargeDataRows { get; init; } = 50_000;

    /// <summary>Upper bound on customers per leaf; small tenants get smaller leaves so the trees can split at all.</summary>
    public int MinimumExamplesPerLeaf { get; init; } = 20;

    /// <summary>The hyperparameter search: L2 strengths of logistic regression.</summary>
    public IReadOnlyList<float> LogisticL2 { get; init; } = [0.1f, 1f, 10f];

    /// <summary>The hyperparameter search: (trees, leaves, learning rate) of boosted trees.</summary>
    public IReadOnlyList<(int Trees, int Leaves, double LearningRate)> Boosted { get; init; } = [(100, 8, 0.1), (200, 16, 0.05), (300, 8, 0.05)];

    /// <summary>Target encoding of high-cardinality attributes shrinks a value's churn rate towards the overall one as
    /// if this many average customers were added to it.</summary>
    public double TargetSmoothing { get; init; } = 20;

    /// <summary>Evaluation rows used for permutation importance (a seeded sample; 0 turns importance off).</summary>
    public int ImportanceSampleSize { get; init; } = 5_000;

    public ChurnBands Bands { get; init; } = new();

    public IReadOnlyList<ChurnCandidate> Candidates(int rows)
    {
        // A small tenant gets smaller leaves, so the trees can split at all (a tree without splits explains nothing).
        var minLeaf = Math.Clamp(rows / 20, 2, MinimumExamplesPerLeaf);
        return [.. LogisticL2.Select(ChurnCandidate.Logistic), .. Boosted.Select(b => ChurnCandidate.Boosted(b.Trees, b.Leaves, minLeaf, b.LearningRate))];
    }
}

/// <summary>Out-of-sample quality of one configuration of the search (pooled over the folds).</summary>
public sealed record CandidateScore(ChurnCandidate Candidate, double RocAuc);

/// <summary>Out-of-sample metrics of the chosen model, of the best configuration of each family (the chosen one is one
/// of them) and of the base rate (the training rows' churn rate for everyone).</summary>
/// <param name="Model">The chosen configuration, calibrated, on the evaluation rows.</param>
/// <param name="Rows">Evaluation rows (all labelled rows for cross-validation, the holdout otherwise).</param>
/// <param name="TrainRows">Rows each evaluated model was trained on (for cross-validation: per fold, about (k−1)/k of all).</param>
public sealed record ChurnEvaluation(
    BinaryMetrics Model,
    IReadOnlyDictionary<string, BinaryMetrics> Baselines,
    int Rows,
    int TrainRows,
    double TrainChurnRate);

/// <summary>Every evaluation row's out-of-sample probability and label: what the card's charts are drawn from.</summary>
public sealed record OutOfSample(IReadOnlyList<double> Probabilities, IReadOnlyList<bool> Labels);

public sealed record ChurnTrainingResult(
    ChurnModel Model,
    ChurnEvaluation Evaluation,
    OutOfSample OutOfSample,
    IReadOnlyList<CandidateScore> Search,
    IReadOnlyList<FeatureImportance> Importance,
    IReadOnlyDictionary<string, object> Parameters,
    IReadOnlyDictionary<string, double> StageSeconds,
    TimeSpan Duration);

/// <summary>
/// Trains the churn model by a <see cref="ChurnPlan"/>: a small hyperparameter search over L2-regularised logistic
/// regression and FastTree boosted trees by stratified cross-validation (ROC-AUC of the pooled out-of-fold scores),
/// Platt calibration fitted on out-of-fold scores, evaluation on rows no evaluated model trained on (the folds
/// themselves, or the plan's holdout), permutation importance on those rows, and finally a refit of the chosen
/// configuration on every labelled row, which is the model shipped. High-cardinality attributes are target-encoded
/// out of fold: a row's encoding never includes its own label.
/// </summary>
public static class ChurnTrainer
{
    /// <summary>A time-holdout plan from two cutoffs' rows (what the derived-label protocol builds).</summary>
    public static ChurnTrainingResult Train(ChurnDataset train, ChurnDataset holdout, ChurnTrainingOptions? options = null)
    {
        options ??= new ChurnTrainingOptions();
        if (!train.Schema.IsCompatibleWith(holdout.Schema))
        {
            throw new ArgumentException("Training and holdout rows were built with different feature schemas.");
        }

        return Train(new ChurnPlan(ChurnLabelDefinition.Derived, Registry.EvaluationProtocols.TimeHoldout, train, holdout,
            Math.Max(2, Math.Min(3, Math.Min(train.Positives, train.Count - train.Positives))), options.Seed, "time split"), options);
    }

    public static ChurnTrainingResult Train(ChurnPlan plan, ChurnTrainingOptions? options = null)
    {
        options ??= new ChurnTrainingOptions();
        var selection = plan.Selection;
        if (!selection.HasBothClasses(2))
        {
            throw new InvalidOperationException($"Churn training needs both churners and retained customers; the training set has {selection.Positives} of {selection.Count}.");
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
        var folds = plan.SelectionFolds();
        var runs = options.Candidates(selection.Count).Select(c => CrossValidate(ml, c, selection, folds, plan.Folds, options)).ToList();
        Lap("search");
        // Ties go to the earlier (simpler) candidate: logistic regression is listed first.
        var best = runs.OrderByDescending(r => r.Auc).First();
        var rival = runs.Where(r => r.Candidate.IsBoosted != best.Candidate.IsBoosted).OrderByDescending(r => r.Auc).FirstOrDefault();
        var calibration = PlattCalibration.Fit(best.OutOfFold, selection.Labels);

        ChurnEvaluation evaluation;
        OutOfSample outOfSample;
        IReadOnlyList<FeatureImportance> importance;
        if (plan.Holdout is not { } holdout)
        {
            var probabilities = CrossCalibrated(best.OutOfFold, selection.Labels, folds, plan.Folds);
            var baselines = new Dictionary<string, BinaryMetrics>
            {
                ["base_rate"] = BinaryMetrics.Compute(FoldBaseRates(selection.Labels, folds, plan.Folds), selection.Labels),
            };
            if (rival is not null)
            {
                baselines[rival.Candidate.Family] = BinaryMetrics.Compute(CrossCalibrated(rival.OutOfFold, selection.Labels, folds, plan.Folds), selection.Labels);
            }

            var metrics = BinaryMetrics.Compute(probabilities, selection.Labels);
            baselines[best.Candidate.Family] = metrics;
            evaluation = new ChurnEvaluation(metrics, baselines, selection.Count,
                (int)Math.Round(selection.Count * (plan.Folds - 1) / (double)plan.Folds), selection.ChurnRate);
            outOfSample = new OutOfSample(probabilities, selection.Labels);
            Lap("evaluation");
            importance = PermutationImportance(best.Folds, selection.Schema, options);
        }
        else
        {
            var (function, holdoutRows) = FitAndScoreHoldout(ml, best.Candidate, selection, holdout, options);
            var probabilities = holdoutRows.Select(x => calibration.Probability(function.RawScore(x))).ToList();
            var baselines = new Dictionary<string, BinaryMetrics>
            {
                ["base_rate"] = BinaryMetrics.Compute(Enumerable.Repeat(selection.ChurnRate, holdout.Count).ToList(), holdout.Labels),
            };
            if (rival is not null)
            {
                var (rivalFunction, _) = FitAndScoreHoldout(ml, rival.Candidate, selection, holdout, options);
                var rivalCalibration = PlattCalibration.Fit(rival.OutOfFold, selection.Labels);
                baselines[rival.Candidate.Family] = BinaryMetrics.Compute(
                    holdoutRows.Select(x => rivalCalibration.Probability(rivalFunction.RawScore(x))).ToList(), holdout.Labels);
            }

            var metrics = BinaryMetrics.Compute(probabilities, holdout.Labels);
            baselines[best.Candidate.Family] = metrics;
            evaluation = new ChurnEvaluation(metrics, baselines, holdout.Count, selection.Count, selection.ChurnRate);
            outOfSample = new OutOfSample(probabilities, holdout.Labels);
            Lap("evaluation");
            importance = PermutationImportance([(function, holdoutRows, holdout.Labels)], selection.Schema, options);
        }

        Lap("importance");
        var all = plan.All;
        var (rows, schema) = EncodeForRefit(all, options);
        var (transformer, shipped) = Fit(ml, best.Candidate, rows, all.Labels, schema.Count, options);
        var model = new ChurnModel(ml, transformer, shipped, calibration, best.Candidate, schema, options.Bands);
        Lap("refit");

        var parameters = new Dictionary<string, object>
        {
            ["algorithm"] = best.Candidate.Key,
            ["family"] = best.Candidate.Family,
            ["searched"] = string.Join("; ", runs.Select(r => r.Candidate.Key)),
            ["seed"] = options.Seed,
            ["threads"] = options.NumberOfThreads,
            ["folds"] = plan.Folds,
            ["plattSlope"] = calibration.Slope,
            ["plattOffset"] = calibration.Offset,
            ["targetSmoothing"] = options.TargetSmoothing,
            ["bandMedium"] = options.Bands.Medium,
            ["bandHigh"] = options.Bands.High,
            ["refitRows"] = all.Count,
        };
        if (best.Candidate.IsBoosted)
        {
            parameters["trees"] = best.Candidate.Trees;
            parameters["leaves"] = best.Candidate.Leaves;
            parameters["minExamplesPerLeaf"] = best.Candidate.MinimumExamplesPerLeaf;
            parameters["learningRate"] = best.Candidate.LearningRate;
        }
        else
        {
            parameters["l2"] = best.Candidate.L2;
        }

        return new ChurnTrainingResult(model, evaluation, outOfSample, [.. runs.Select(r => new CandidateScore(r.Candidate, r.Auc))],
            importance, parameters, stages, clock.Elapsed);
    }

    /// <summary>
    /// The out-of-sample ROC-AUC of <paramref name="candidate"/> under <paramref name="plan"/>, measured exactly as the
    /// chosen model is (same folds or same holdout): how a champion's configuration is compared with a challenger's.
    /// </summary>
    public static double Evaluate(ChurnPlan plan, ChurnCandidate candidate, ChurnTrainingOptions? options = null)
    {
        options ??= new ChurnTrainingOptions();
        var ml = new MLContext(seed: options.Seed);
        if (plan.Holdout is not { } holdout)
        {
            return CrossValidate(ml, candidate, plan.Selection, plan.SelectionFolds(), plan.Folds, options).Auc;
        }

        var (function, rows) = FitAndScoreHoldout(ml, candidate, plan.Selection, holdout, options);
        return BinaryMetrics.Compute(rows.Select(x => function.RawScore(x)).ToList(), holdout.Labels).RocAuc;
    }

    private sealed record CrossValidation(ChurnCandidate Candidate, double[] OutOfFold, double Auc, List<(IChurnFunction, IReadOnlyList<float[]>, IReadOnlyList<bool>)> Folds);

    private static CrossValidation CrossValidate(MLContext ml, ChurnCandidate candidate, ChurnDataset data, int[] fold, int folds, ChurnTrainingOptions options)
    {
        var outOfFold = new double[data.Count];
        var models = new List<(IChurnFunction, IReadOnlyList<float[]>, IReadOnlyList<bool>)>();
        for (var k = 0; k < folds; k++)
        {
            var train = Enumerable.Range(0, data.Count).Where(i => fold[i] != k).ToArray();
            var test = Enumerable.Range(0, data.Count).Where(i => fold[i] == k).ToArray();
            var (trainRows, testRows) = TargetEncode(data, train, test, options);
            var (_, function) = Fit(ml, candidate, trainRows, [.. train.Select(i => data.Labels[i])], data.Schema.Count, options);
            for (var j = 0; j < test.Length; j++)
            {
                outOfFold[test[j]] = function.RawScore(testRows[j]);
            }

            models.Add((function, testRows, [.. test.Select(i => data.Labels[i])]));
        }

        // Ranked as shipped: each fold's scores calibrated on the other folds (per-fold score scales differ, and the
        // pooled ranking of calibrated probabilities is what the card reports).
        return new CrossValidation(candidate, outOfFold, BinaryMetrics.Compute(CrossCalibrated(outOfFold, data.Labels, fold, folds), data.Labels).RocAuc, models);
    }

    private static (IChurnFunction Function, List<float[]> HoldoutRows) FitAndScoreHoldout(
        MLContext ml, ChurnCandidate candidate, ChurnDataset train, ChurnDataset holdout, ChurnTrainingOptions options)
    {
        var both = train.Concat(holdout);
        var (trainRows, holdoutRows) = TargetEncode(both, [.. Enumerable.Range(0, train.Count)], [.. Enumerable.Range(train.Count, holdout.Count)], options);
        var (_, function) = Fit(ml, candidate, trainRows, train.Labels, train.Schema.Count, options);
        return (function, holdoutRows);
    }

    /// <summary>Platt scaling per fold fitted on the other folds' scores, so no row's probability is calibrated on itself.</summary>
    private static List<double> CrossCalibrated(double[] scores, IReadOnlyList<bool> labels, int[] fold, int folds)
    {
        var result = new double[scores.Length];
        for (var k = 0; k < folds; k++)
        {
            var others = Enumerable.Range(0, scores.Length).Where(i => fold[i] != k).ToArray();
            var platt = PlattCalibration.Fit([.. others.Select(i => scores[i])], [.. others.Select(i => labels[i])]);
            for (var i = 0; i < scores.Length; i++)
            {
                if (fold[i] == k)
                {
                    result[i] = platt.Probability(scores[i]);
                }
            }
        }

        return [.. result];
    }

    private static List<double> FoldBaseRates(IReadOnlyList<bool> labels, int[] fold, int folds)
    {
        var rates = Enumerable.Range(0, folds).Select(k =>
        {
            var train = Enumerable.Range(0, labels.Count).Where(i => fold[i] != k).ToList();
            return train.Count(i => labels[i]) / (double)train.Count;
        }).ToArray();
        return [.. fold.Select(k => rates[k])];
    }

    private static (ITransformer Transformer, IChurnFunction Function) Fit(
        MLContext ml, ChurnCandidate candidate, IReadOnlyList<float[]> rows, IReadOnlyList<bool> labels, int featureCount, ChurnTrainingOptions options)
    {
        if (candidate.IsBoosted)
        {
            var boosted = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
            {
                NumberOfTrees = candidate.Trees,
                NumberOfLeaves = candidate.Leaves,
                MinimumExampleCountPerLeaf = candidate.MinimumExamplesPerLeaf,
                LearningRate = candidate.LearningRate,
                NumberOfThreads = options.NumberOfThreads,
                FeatureSelectionSeed = options.Seed,
                CategoricalSplit = false,
            }).Fit(ChurnRow.Load(ml, rows, labels, featureCount));
            var trees = ChurnTrees.FromModel(boosted.Model, featureCount);
            trees.LearnExpectations(rows);
            return (boosted, trees);
        }

        var (means, scales) = ChurnLinear.Standardisation(rows, featureCount);
        var standardised = rows.Select(x =>
        {
            var z = new float[featureCount];
            for (var f = 0; f < featureCount; f++)
            {
                z[f] = (x[f] - means[f]) / scales[f];
            }

            return z;
        }).ToList();
        var logistic = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            NumberOfThreads = options.NumberOfThreads,
            L2Regularization = candidate.L2,
            L1Regularization = 0,
            MaximumNumberOfIterations = 200,
        }).Fit(ChurnRow.Load(ml, standardised, labels, featureCount));
        var linear = logistic.Model.SubModel;
        return (logistic, new ChurnLinear([.. linear.Weights], linear.Bias, means, scales));
    }

    /// <summary>
    /// Copies of the rows with the target-encoding slots filled without leaking labels: <paramref name="test"/> rows
    /// from rates of all <paramref name="train"/> rows; each train row from rates of the other train rows' inner folds.
    /// </summary>
    private static (List<float[]> Train, List<float[]> Test) TargetEncode(ChurnDataset data, int[] train, int[] test, ChurnTrainingOptions options)
    {
        var attributes = data.Schema.EncodedAttributes.Count;
        if (attributes == 0)
        {
            return ([.. train.Select(i => data.Features[i])], [.. test.Select(i => data.Features[i])]);
        }

        var slots = data.Schema.TargetSlots();
        var trainRows = train.Select(i => (float[])data.Features[i].Clone()).ToList();
        var testRows = test.Select(i => (float[])data.Features[i].Clone()).ToList();
        var inner = InnerFolds(train.Length, options.Seed);
        for (var a = 0; a < attributes; a++)
        {
            var full = FitTargetEncoding(data, train, a, options.TargetSmoothing);
            for (var j = 0; j < test.Length; j++)
            {
                testRows[j][slots[a]] = EncodeValue(full, data.Categories[test[j]][a]);
            }

            for (var k = 0; k < InnerFoldCount; k++)
            {
                var others = train.Where((_, j) => inner[j] != k).ToArray();
                var table = FitTargetEncoding(data, others, a, options.TargetSmoothing);
                for (var j = 0; j < train.Length; j++)
                {
                    if (inner[j] == k)
                    {
                        trainRows[j][slots[a]] = EncodeValue(table, data.Categories[train[j]][a]);
                    }
                }
            }
        }

        return (trainRows, testRows);
    }

    /// <summary>The refit's rows (encoded out of fold, as during evaluation) and the schema with encodings learnt from every row.</summary>
    private static (List<float[]> Rows, FeatureSchema Schema) EncodeForRefit(ChurnDataset all, ChurnTrainingOptions options)
    {
        var every = Enumerable.Range(0, all.Count).ToArray();
        var (rows, _) = TargetEncode(all, every, [], options);
        var tables = Enumerable.Range(0, all.Schema.EncodedAttributes.Count).Select(a => FitTargetEncoding(all, every, a, options.TargetSmoothing)).ToList();
        return (rows, tables.Count == 0 ? all.Schema : all.Schema.WithTargetEncodings(tables));
    }

    private const int InnerFoldCount = 5;

    private static int[] InnerFolds(int count, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed + 1).Shuffle(order);
        var fold = new int[count];
        for (var j = 0; j < count; j++)
        {
            fold[order[j]] = j % InnerFoldCount;
        }

        return fold;
    }

    private static float EncodeValue(TargetEncoding encoding, string? value) => value is null ? encoding.Prior : encoding.Of(value);

    private static TargetEncoding FitTargetEncoding(ChurnDataset data, int[] rows, int attribute, double smoothing)
    {
        var prior = rows.Length == 0 ? 0 : rows.Count(i => data.Labels[i]) / (double)rows.Length;
        var counts = new Dictionary<string, (int N, int Churned)>(StringComparer.Ordinal);
        foreach (var i in rows)
        {
            if (data.Categories[i][attribute] is { } value)
            {
                var c = counts.GetValueOrDefault(value);
                counts[value] = (c.N + 1, c.Churned + (data.Labels[i] ? 1 : 0));
            }
        }

        return new TargetEncoding((float)prior, counts.ToDictionary(
            kv => kv.Key, kv => (float)((kv.Value.Churned + smoothing * prior) / (kv.Value.N + smoothing)), StringComparer.Ordinal));
    }

    /// <summary>
    /// Permutation feature importance on evaluation rows (each row scored by a model that did not train on it): per
    /// feature, shuffle its column within each fold's seeded sample and measure the mean ROC-AUC drop.
    /// </summary>
    private static List<FeatureImportance> PermutationImportance(
        IReadOnlyList<(IChurnFunction Function, IReadOnlyList<float[]> Rows, IReadOnlyList<bool> Labels)> folds, FeatureSchema schema, ChurnTrainingOptions options)
    {
        var result = new List<FeatureImportance>();
        if (options.ImportanceSampleSize <= 0)
        {
            return result;
        }

        var drops = new double[schema.Count];
        var measured = 0;
        var rng = new Random(options.Seed);
        foreach (var (function, allRows, allLabels) in folds)
        {
            if (!allLabels.Any(l => l) || allLabels.All(l => l))
            {
                continue;
            }

            measured++;
            var pick = Enumerable.Range(0, allRows.Count).OrderBy(_ => rng.Next()).Take(Math.Max(50, options.ImportanceSampleSize / folds.Count)).ToArray();
            var rows = pick.Select(i => (float[])allRows[i].Clone()).ToArray();
            var labels = pick.Select(i => allLabels[i]).ToArray();
            var scores = new double[rows.Length];
            double Auc()
            {
                for (var i = 0; i < rows.Length; i++)
                {
                    scores[i] = function.RawScore(rows[i]);
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

                if (!column.Any(v => v != column[0]))
                {
                    continue;
                }

                var shuffled = column.OrderBy(_ => rng.Next()).ToArray();
                for (var i = 0; i < rows.Length; i++)
                {
                    rows[i][f] = shuffled[i];
                }

                drops[f] += baseline - Auc();
                for (var i = 0; i < rows.Length; i++)
                {
                    rows[i][f] = column[i];
                }
            }
        }

        for (var f = 0; f < schema.Count; f++)
        {
            result.Add(new FeatureImportance(schema.Features[f].Name, schema.Features[f].Label, measured == 0 ? 0 : drops[f] / measured));
        }

        return [.. result.OrderByDescending(x => x.AucDrop).ThenBy(x => x.Feature, StringComparer.Ordinal)];
    }
}
