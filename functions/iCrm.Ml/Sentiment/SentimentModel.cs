using System.IO.Compression;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Transforms.Text;

namespace iCrm.Ml.Sentiment;

/// <summary>A text with a (possibly weak) sentiment label.</summary>
public sealed record SentimentExample(string Text, bool Positive);

public sealed record SentimentTrainingOptions
{
    public int Seed { get; init; } = 42;

    public int NumberOfThreads { get; init; } = 1;

    public int MaximumIterations { get; init; } = 300;

    public float L2Regularization { get; init; } = 1e-4f;

    /// <summary>Larger training sets are sampled down to this many texts (seeded): accuracy saturates long before, time does not.</summary>
    public int MaximumExamples { get; init; } = 20_000;

    /// <summary>L-BFGS logistic regression instead of SDCA.</summary>
    public bool UseLbfgs { get; init; }
}

/// <summary>Accuracy (P(positive) ≥ 0.5 taken as positive) on held-out labelled texts.</summary>
[System.Text.Json.Serialization.JsonNumberHandling(System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record SentimentEvaluation(double Accuracy, int TrainRows, int TestRows, double TestPositiveRate);

/// <summary>
/// The local sentiment model: ML.NET FeaturizeText (normalised word unigrams + bigrams and character trigrams) and
/// SDCA logistic regression, giving P(positive). Scoring is thread-safe through a pool of PredictionEngines.
/// </summary>
public sealed class SentimentModel
{
    private const string MlNetEntry = "sentiment.mlnet.zip";

    private readonly MLContext _ml;
    private readonly ITransformer _transformer;
    private readonly ObjectPool<PredictionEngine<TextRow, TextScore>> _engines;

    private SentimentModel(MLContext ml, ITransformer transformer)
    {
        _ml = ml;
        _transformer = transformer;
        _engines = new DefaultObjectPoolProvider { MaximumRetained = Environment.ProcessorCount * 2 }
            .Create(new EnginePolicy(ml, transformer));
    }

    public static SentimentModel Train(IReadOnlyList<SentimentExample> examples, SentimentTrainingOptions? options = null)
    {
        options ??= new SentimentTrainingOptions();
        var positives = examples.Count(e => e.Positive);
        if (positives == 0 || positives == examples.Count)
        {
            throw new InvalidOperationException($"Sentiment training needs positive and negative texts; got {positives} positive of {examples.Count}.");
        }

        if (examples.Count > options.MaximumExamples)
        {
            var rng = new Random(options.Seed);
            examples = examples.OrderBy(_ => rng.Next()).Take(options.MaximumExamples).ToList();
        }

        var ml = new MLContext(seed: options.Seed);
        var data = ml.Data.LoadFromEnumerable(examples.Select(e => new TextRow { Text = e.Text, Label = e.Positive }));
        var pipeline = ml.Transforms.Text.FeaturizeText("Features", new TextFeaturizingEstimator.Options
            {
                CaseMode = TextNormalizingEstimator.CaseMode.Lower,
                KeepDiacritics = false,
                KeepPunctuations = false,
                KeepNumbers = true,
                WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, UseAllLengths = true },
                CharFeatureExtractor = new WordBagEstimator.Options { NgramLength = 3, UseAllLengths = false },
                Norm = TextFeaturizingEstimator.NormFunction.L2,
            }, nameof(TextRow.Text));
        IEstimator<ITransformer> trainer = options.UseLbfgs
            ? ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
            {
                NumberOfThreads = options.NumberOfThreads,
                MaximumNumberOfIterations = options.MaximumIterations,
                L2Regularization = options.L2Regularization,
            })
            : ml.BinaryClassification.Trainers.SdcaLogisticRegression(new SdcaLogisticRegressionBinaryTrainer.Options
            {
                NumberOfThreads = options.NumberOfThreads,
                MaximumNumberOfIterations = options.MaximumIterations,
                L2Regularization = options.L2Regularization,
                Shuffle = true,
            });
        return new SentimentModel(ml, pipeline.Append(trainer).Fit(data));
    }

    /// <summary>Seeded split into train and test, trains on the first part and reports accuracy on the rest.</summary>
    public static (SentimentModel Model, SentimentEvaluation Evaluation) TrainAndEvaluate(
        IReadOnlyList<SentimentExample> examples, double testShare = 0.2, SentimentTrainingOptions? options = null)
    {
        options ??= new SentimentTrainingOptions();
        var rng = new Random(options.Seed);
        var shuffled = examples.OrderBy(_ => rng.Next()).ToList();
        var cut = (int)Math.Round(shuffled.Count * (1 - testShare));
        var train = shuffled[..cut];
        var test = shuffled[cut..];
        var model = Train(train, options);
        var correct = test.Count(e => model.Score(e.Text) >= 0.5 == e.Positive);
        var evaluation = new SentimentEvaluation(
            test.Count == 0 ? double.NaN : correct / (double)test.Count, train.Count, test.Count,
            test.Count == 0 ? double.NaN : test.Count(e => e.Positive) / (double)test.Count);
        return (model, evaluation);
    }

    /// <summary>P(positive) in [0, 1]. Empty text scores 0.5 (no evidence either way).</summary>
    public double Score(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return 0.5;
        }

        var engine = _engines.Get();
        try
        {
            var p = engine.Predict(new TextRow { Text = text }).Probability;
            return float.IsFinite(p) ? Math.Clamp(p, 0, 1) : 0.5;
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    public void Save(Stream destination)
    {
        using var archive = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        using var buffer = new MemoryStream();
        _ml.Model.Save(_transformer, _ml.Data.LoadFromEnumerable(Array.Empty<TextRow>()).Schema, buffer);
        using var entry = archive.CreateEntry(MlNetEntry, CompressionLevel.NoCompression).Open();
        buffer.Position = 0;
        buffer.CopyTo(entry);
    }

    public static SentimentModel Load(Stream source)
    {
        using var archive = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var entry = archive.GetEntry(MlNetEntry) ?? throw new InvalidDataException($"Sentiment model has no {MlNetEntry}.");
        using var buffer = new MemoryStream();
        using (var s = entry.Open())
        {
            s.CopyTo(buffer);
        }

        buffer.Position = 0;
        var ml = new MLContext(seed: 0);
        return new SentimentModel(ml, ml.Model.Load(buffer, out _));
    }

    internal sealed class TextRow
    {
        public string Text { get; set; } = "";

        public bool Label { get; set; }
    }

    internal sealed class TextScore
    {
        public float Probability { get; set; }
    }

    private sealed class EnginePolicy(MLContext ml, ITransformer transformer) : PooledObjectPolicy<PredictionEngine<TextRow, TextScore>>
    {
        public override PredictionEngine<TextRow, TextScore> Create() => ml.Model.CreatePredictionEngine<TextRow, TextScore>(transformer);

        public override bool Return(PredictionEngine<TextRow, TextScore> obj) => true;
    }
}
