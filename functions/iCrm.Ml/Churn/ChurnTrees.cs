using Microsoft.ML.Calibrators;
using Microsoft.ML.Trainers.FastTree;

namespace iCrm.Ml.Churn;

/// <summary>
/// The boosted trees of a trained churn model, flattened into arrays so one customer is scored (with feature
/// contributions) without ML.NET's row machinery: a few hundred array reads per customer. Probabilities come from the
/// model's out-of-sample <see cref="PlattCalibration"/>, not from the calibrator FastTree fits on its own training rows.
/// </summary>
/// <remarks>
/// Contributions follow Saabas' path attribution: every node has an expected output (the training-weighted mean of
/// the leaves below it); walking a customer's path, each split moves the expected output from the node to the child
/// taken, and that change is credited to the split's feature. Per tree the credits sum to (leaf value − root
/// expectation), so over the ensemble: raw score = bias + Σ root expectations + Σ contributions. Contributions are in
/// raw-score units (the scorer turns them into log-odds of churn with the Platt slope). Compared with TreeSHAP
/// this favours features split near the leaves, but it is exact about the path and costs nothing extra at scoring time.
/// </remarks>
public sealed class ChurnTrees : IChurnFunction
{
    // Per tree, node arrays; a child index < 0 is a leaf (~child = leaf index), as in ML.NET's RegressionTree.
    private readonly int[][] _feature;
    private readonly float[][] _threshold;
    private readonly int[][] _left;
    private readonly int[][] _right;
    private readonly double[][] _leafValue;
    private readonly double[][] _nodeExpectation;
    private readonly double[] _weight;

    private ChurnTrees(
        int[][] feature, float[][] threshold, int[][] left, int[][] right, double[][] leafValue, double[] weight,
        double bias, int featureCount)
    {
        _feature = feature;
        _threshold = threshold;
        _left = left;
        _right = right;
        _leafValue = leafValue;
        _weight = weight;
        Bias = bias;
        FeatureCount = featureCount;
        _nodeExpectation = new double[feature.Length][];
        LeafCounts = new long[feature.Length][];
        for (var t = 0; t < feature.Length; t++)
        {
            LeafCounts[t] = new long[leafValue[t].Length];
            _nodeExpectation[t] = new double[feature[t].Length];
        }
    }

    public int TreeCount => _feature.Length;

    public int FeatureCount { get; }

    public double Bias { get; }

    /// <summary>How many training rows reached each leaf: the weights behind the node expectations.</summary>
    public long[][] LeafCounts { get; }

    /// <summary>The ensemble's expected raw score over the training rows (the "average customer").</summary>
    public double ExpectedScore { get; private set; }

    public static ChurnTrees FromModel(object calibratedModel, int featureCount)
    {
        var trees = Unwrap(calibratedModel);
        var ensemble = trees.TrainedTreeEnsemble;
        var n = ensemble.Trees.Count;
        var feature = new int[n][];
        var threshold = new float[n][];
        var left = new int[n][];
        var right = new int[n][];
        var leaf = new double[n][];
        var weight = new double[n];
        for (var t = 0; t < n; t++)
        {
            var tree = ensemble.Trees[t];
            if (tree.CategoricalSplitFlags.Any(f => f))
            {
                throw new NotSupportedException("Categorical splits are not used by the churn trainer and cannot be evaluated here.");
            }

            feature[t] = [.. tree.NumericalSplitFeatureIndexes];
            threshold[t] = [.. tree.NumericalSplitThresholds];
            left[t] = [.. tree.LeftChild];
            right[t] = [.. tree.RightChild];
            leaf[t] = [.. tree.LeafValues];
            weight[t] = ensemble.TreeWeights[t];
        }

        return new ChurnTrees(feature, threshold, left, right, leaf, weight, ensemble.Bias, featureCount);
    }

    /// <summary>Counts training rows per leaf and derives every node's expected output from them.</summary>
    public void LearnExpectations(IReadOnlyList<float[]> trainingRows)
    {
        foreach (var row in trainingRows)
        {
            for (var t = 0; t < _feature.Length; t++)
            {
                LeafCounts[t][LeafOf(t, row)]++;
            }
        }

        ComputeExpectations();
    }

    /// <summary>Restores leaf counts saved with the model.</summary>
    public void SetLeafCounts(long[][] counts)
    {
        if (counts.Length != LeafCounts.Length || counts.Where((c, t) => c.Length != LeafCounts[t].Length).Any())
        {
            throw new InvalidDataException("Saved leaf counts do not match the trees of the model.");
        }

        for (var t = 0; t < counts.Length; t++)
        {
            counts[t].CopyTo(LeafCounts[t], 0);
        }

        ComputeExpectations();
    }

    /// <summary>The raw (uncalibrated) ensemble score.</summary>
    public double RawScore(ReadOnlySpan<float> x)
    {
        var score = Bias;
        for (var t = 0; t < _feature.Length; t++)
        {
            score += _weight[t] * _leafValue[t][LeafOf(t, x)];
        }

        return score;
    }

    /// <summary>Raw score plus per-feature contributions (raw-score units), written into <paramref name="contributions"/>.</summary>
    public double ScoreWithContributions(ReadOnlySpan<float> x, Span<double> contributions)
    {
        contributions.Clear();
        var score = Bias;
        for (var t = 0; t < _feature.Length; t++)
        {
            var feature = _feature[t];
            var threshold = _threshold[t];
            var left = _left[t];
            var right = _right[t];
            var expectation = _nodeExpectation[t];
            var w = _weight[t];
            var node = 0;
            var before = expectation[0];
            while (true)
            {
                var f = feature[node];
                var next = x[f] <= threshold[node] ? left[node] : right[node];
                var after = next < 0 ? _leafValue[t][~next] : expectation[next];
                contributions[f] += w * (after - before);
                if (next < 0)
                {
                    score += w * after;
                    break;
                }

                node = next;
                before = after;
            }
        }

        return score;
    }

    private int LeafOf(int t, ReadOnlySpan<float> x)
    {
        var feature = _feature[t];
        if (feature.Length == 0)
        {
            return 0; // a single-leaf tree
        }

        var threshold = _threshold[t];
        var left = _left[t];
        var right = _right[t];
        var node = 0;
        while (node >= 0)
        {
            node = x[feature[node]] <= threshold[node] ? left[node] : right[node];
        }

        return ~node;
    }

    private void ComputeExpectations()
    {
        double expected = Bias;
        for (var t = 0; t < _feature.Length; t++)
        {
            if (_feature[t].Length == 0)
            {
                expected += _weight[t] * _leafValue[t][0];
                continue;
            }

            var sum = new double[_feature[t].Length];
            var count = new double[_feature[t].Length];
            Accumulate(t, 0, sum, count);
            for (var node = 0; node < sum.Length; node++)
            {
                // A node no training row reached (possible after pruning) gets the plain mean of its leaves' values.
                _nodeExpectation[t][node] = count[node] > 0 ? sum[node] / count[node] : UnweightedMean(t, node);
            }

            expected += _weight[t] * _nodeExpectation[t][0];
        }

        ExpectedScore = expected;
    }

    private (double Sum, double Count) Accumulate(int t, int node, double[] sum, double[] count)
    {
        (double, double) Child(int child) => child < 0
            ? (LeafCounts[t][~child] * _leafValue[t][~child], LeafCounts[t][~child])
            : Accumulate(t, child, sum, count);
        var (ls, lc) = Child(_left[t][node]);
        var (rs, rc) = Child(_right[t][node]);
        sum[node] = ls + rs;
        count[node] = lc + rc;
        return (sum[node], count[node]);
    }

    private double UnweightedMean(int t, int node)
    {
        double total = 0;
        var leaves = 0;
        void Walk(int n)
        {
            if (n < 0)
            {
                total += _leafValue[t][~n];
                leaves++;
                return;
            }

            Walk(_left[t][n]);
            Walk(_right[t][n]);
        }

        Walk(node);
        return total / leaves;
    }

    private static TreeEnsembleModelParametersBasedOnRegressionTree Unwrap(object model)
    {
        if (model is TreeEnsembleModelParametersBasedOnRegressionTree plain)
        {
            return plain;
        }

        // After Model.Load the generic arguments of the calibrated wrapper can differ from those at training time,
        // so read its SubModel by name rather than by a cast to one closed generic type.
        var type = model.GetType();
        return type.GetProperties().Where(p => p.Name == "SubModel" && p.GetIndexParameters().Length == 0)
            .Select(p => p.GetValue(model)).OfType<TreeEnsembleModelParametersBasedOnRegressionTree>().FirstOrDefault()
            ?? throw new InvalidDataException($"Expected boosted trees, found {type.Name}.");
    }

    /// <summary>The Platt calibrator FastTree fitted itself (schema-v1 models, which had no out-of-sample calibration).</summary>
    internal static PlattCalibration? BuiltInCalibration(object model)
    {
        var calibrator = model.GetType().GetProperties().Where(p => p.Name == "Calibrator" && p.GetIndexParameters().Length == 0)
            .Select(p => p.GetValue(model)).OfType<PlattCalibrator>().FirstOrDefault();
        return calibrator is null ? null : new PlattCalibration(calibrator.Slope, calibrator.Offset);
    }
}
