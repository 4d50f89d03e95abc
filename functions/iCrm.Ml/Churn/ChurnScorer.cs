using iCrm.Core.Features;
using iCrm.Core.Profiles;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;

namespace iCrm.Ml.Churn;

/// <summary>
/// Scores one customer's churn risk with its top factors straight from the flattened model. Thread-safe and
/// allocation-light (the only allocations are the result and its factors).
/// </summary>
public sealed class ChurnScorer
{
    private readonly ChurnModel _model;
    private readonly IChurnFunction _function;
    private readonly PlattCalibration _calibration;
    private readonly IReadOnlyList<FeatureDefinition> _features;

    internal ChurnScorer(ChurnModel model)
    {
        _model = model;
        _function = model.Function;
        _calibration = model.Calibration;
        _features = model.Schema.Features;
    }

    public FeatureSchema Schema => _model.Schema;

    /// <summary>Scores features built by a feature builder; throws if they were laid out by a different schema.</summary>
    public ChurnPrediction Score(CustomerFeatures features, int topFactors = 3)
    {
        if (!ReferenceEquals(features.Schema, _model.Schema))
        {
            features.Schema.EnsureCompatibleWith(_model.Schema);
        }

        return Score(features.Values, topFactors);
    }

    public ChurnPrediction Score(ReadOnlySpan<float> features, int topFactors = 3)
    {
        if (features.Length != _features.Count)
        {
            throw new ArgumentException($"The model reads {_features.Count} features, got {features.Length}.", nameof(features));
        }

        Span<double> contributions = _features.Count <= 512 ? stackalloc double[_features.Count] : new double[_features.Count];
        var probability = _calibration.Probability(_function.ScoreWithContributions(features, contributions));
        // Raw-score units → log-odds of churn (the Platt slope is negative for a score that grows with churn).
        var scale = -_calibration.Slope;
        for (var i = 0; i < contributions.Length; i++)
        {
            contributions[i] *= scale;
        }

        return new ChurnPrediction(probability, _model.Bands.Of(probability), TopFactors(contributions, topFactors));
    }

    /// <summary>The probability alone (no explanation), for bulk scoring.</summary>
    public double Probability(ReadOnlySpan<float> features) => _calibration.Probability(_function.RawScore(features));

    private Factor[] TopFactors(ReadOnlySpan<double> contributions, int k)
    {
        k = Math.Min(k, contributions.Length);
        Span<int> best = stackalloc int[k];
        var found = 0;
        for (var i = 0; i < contributions.Length; i++)
        {
            var size = Math.Abs(contributions[i]);
            if (size == 0 || (found == k && size <= Math.Abs(contributions[best[k - 1]])))
            {
                continue;
            }

            // Insertion into the small sorted list of the k largest so far.
            var at = found < k ? found++ : k - 1;
            while (at > 0 && Math.Abs(contributions[best[at - 1]]) < size)
            {
                best[at] = best[at - 1];
                at--;
            }

            best[at] = i;
        }

        var factors = new Factor[found];
        for (var j = 0; j < found; j++)
        {
            var f = _features[best[j]];
            factors[j] = new Factor(f.Name, f.Label, contributions[best[j]]);
        }

        return factors;
    }
}

/// <summary>
/// Scores through ML.NET PredictionEngines (not thread-safe, so pooled). Same probabilities as <see cref="ChurnScorer"/>;
/// kept as the reference the fast path is tested against and measured with.
/// </summary>
public sealed class ChurnEngineScorer
{
    private readonly ChurnModel _model;
    private readonly ObjectPool<PredictionEngine<ChurnRow, ChurnScoreRow>> _engines;

    internal ChurnEngineScorer(ChurnModel model)
    {
        _model = model;
        _engines = new DefaultObjectPoolProvider { MaximumRetained = Environment.ProcessorCount * 2 }
            .Create(new EnginePolicy(model));
    }

    public double Probability(float[] features)
    {
        if (features.Length != _model.Schema.Count)
        {
            throw new ArgumentException($"The model reads {_model.Schema.Count} features, got {features.Length}.", nameof(features));
        }

        var engine = _engines.Get();
        try
        {
            // The engine gives the raw score (of standardised features for logistic regression); the model's
            // out-of-sample calibration turns it into a probability, as in the fast path.
            var input = _model.Function is ChurnLinear linear ? linear.Standardise(features) : features;
            return _model.Calibration.Probability(engine.Predict(new ChurnRow { Features = input }).Score);
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    private sealed class EnginePolicy(ChurnModel model) : PooledObjectPolicy<PredictionEngine<ChurnRow, ChurnScoreRow>>
    {
        public override PredictionEngine<ChurnRow, ChurnScoreRow> Create() =>
            model.Ml.Model.CreatePredictionEngine<ChurnRow, ChurnScoreRow>(
                model.Transformer, inputSchemaDefinition: ChurnRow.Definition(model.Schema.Count));

        public override bool Return(PredictionEngine<ChurnRow, ChurnScoreRow> obj) => true;
    }
}
