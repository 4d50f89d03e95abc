using System.IO.Compression;
using System.Text.Json;
using iCrm.Core.Features;
using Microsoft.ML;

namespace iCrm.Ml.Churn;

/// <summary>
/// A trained churn model: the ML.NET transformer (boosted trees or logistic regression), the same model flattened for
/// fast scoring with explanations (<see cref="Function"/>), the Platt calibration fitted on out-of-sample scores, the
/// configuration it was chosen as, the feature schema it reads (with its learnt target encodings), and the risk bands.
/// </summary>
public sealed class ChurnModel
{
    private const string MlNetEntry = "churn.mlnet.zip";
    private const string V1MlNetEntry = "churn-fasttree.mlnet.zip";
    private const string MetadataEntry = "churn.json";
    private const int FormatVersion = 2;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    internal ChurnModel(MLContext ml, ITransformer transformer, IChurnFunction function, PlattCalibration calibration,
        ChurnCandidate candidate, FeatureSchema schema, ChurnBands bands)
    {
        Ml = ml;
        Transformer = transformer;
        Function = function;
        Calibration = calibration;
        Candidate = candidate;
        Schema = schema;
        Bands = bands;
    }

    public FeatureSchema Schema { get; }

    public ChurnBands Bands { get; }

    /// <summary>The configuration this model was fitted with (what champion comparisons refit on the same rows).</summary>
    public ChurnCandidate Candidate { get; }

    public PlattCalibration Calibration { get; }

    internal MLContext Ml { get; }

    internal ITransformer Transformer { get; }

    internal IChurnFunction Function { get; }

    /// <summary>Scores from the flattened model: the fast path for the API and the training write-back.</summary>
    public ChurnScorer CreateScorer() => new(this);

    /// <summary>Scores through pooled ML.NET PredictionEngines: the reference path (same probabilities, slower).</summary>
    public ChurnEngineScorer CreateEngineScorer() => new(this);

    /// <summary>Writes the model as a zip (the ML.NET model plus a JSON entry with schema, bands, calibration and the
    /// flattened model's extra state).</summary>
    public void Save(Stream destination)
    {
        using var archive = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        using (var buffer = new MemoryStream())
        {
            // ML.NET writes its own zip and wants a seekable stream; a zip entry is not one.
            Ml.Model.Save(Transformer, ChurnRow.Load(Ml, [], [], Schema.Count).Schema, buffer);
            using var entry = archive.CreateEntry(MlNetEntry, CompressionLevel.NoCompression).Open();
            buffer.Position = 0;
            buffer.CopyTo(entry);
        }

        var trees = Function as ChurnTrees;
        var linear = Function as ChurnLinear;
        using var metadata = archive.CreateEntry(MetadataEntry, CompressionLevel.Optimal).Open();
        JsonSerializer.Serialize(metadata, new Metadata(FormatVersion, Schema, Bands, trees?.LeafCounts, Candidate, Calibration,
            linear is null ? null : new LinearState(linear.Weights, linear.Bias, linear.Means, linear.Scales)), Json);
    }

    /// <summary>Reads a model saved by <see cref="Save"/>, or a format-1 model (boosted trees with FastTree's own calibrator).</summary>
    public static ChurnModel Load(Stream source)
    {
        using var archive = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var metadataEntry = archive.GetEntry(MetadataEntry) ?? throw new InvalidDataException($"Churn model has no {MetadataEntry}.");
        Metadata metadata;
        using (var s = metadataEntry.Open())
        {
            metadata = JsonSerializer.Deserialize<Metadata>(s, Json) ?? throw new InvalidDataException("Empty churn model metadata.");
        }

        if (metadata.FormatVersion is < 1 or > FormatVersion)
        {
            throw new InvalidDataException($"Churn model format v{metadata.FormatVersion} is not readable by this version (v1–v{FormatVersion}).");
        }

        var modelEntry = archive.GetEntry(MlNetEntry) ?? archive.GetEntry(V1MlNetEntry) ?? throw new InvalidDataException($"Churn model has no {MlNetEntry}.");
        using var buffer = new MemoryStream();
        using (var s = modelEntry.Open())
        {
            s.CopyTo(buffer);
        }

        buffer.Position = 0;
        var ml = new MLContext(seed: 0);
        var transformer = ml.Model.Load(buffer, out _);
        var predictor = PredictorOf(transformer);
        if (metadata.Linear is { } l)
        {
            var linear = new ChurnLinear(l.Weights, l.Bias, l.Means, l.Scales);
            return new ChurnModel(ml, transformer, linear, Required(metadata.Calibration), Required(metadata.Candidate), metadata.Schema, metadata.Bands);
        }

        var trees = ChurnTrees.FromModel(predictor, metadata.Schema.Count);
        trees.SetLeafCounts(metadata.LeafCounts ?? throw new InvalidDataException("A boosted churn model has no leaf counts."));
        // Format 1 had no out-of-sample calibration or candidate: it used FastTree's own calibrator and the fixed settings.
        var calibration = metadata.Calibration ?? ChurnTrees.BuiltInCalibration(predictor)
            ?? throw new InvalidDataException("A format-1 churn model has no calibrator.");
        var candidate = metadata.Candidate ?? ChurnCandidate.Boosted(100, 16, 20, 0.1);
        return new ChurnModel(ml, transformer, trees, calibration, candidate, metadata.Schema, metadata.Bands);
    }

    private static T Required<T>(T? value) where T : class =>
        value ?? throw new InvalidDataException($"The churn model metadata lacks its {typeof(T).Name}.");

    internal static object PredictorOf(ITransformer transformer)
    {
        var last = transformer;
        while (last is IEnumerable<ITransformer> chain && chain.LastOrDefault() is { } inner)
        {
            last = inner;
        }

        return last is IPredictionTransformer<object> prediction
            ? prediction.Model
            : throw new InvalidDataException($"Expected a prediction transformer, found {last.GetType().Name}.");
    }

    private sealed record LinearState(float[] Weights, float Bias, float[] Means, float[] Scales);

    private sealed record Metadata(
        int FormatVersion, FeatureSchema Schema, ChurnBands Bands, long[][]? LeafCounts,
        ChurnCandidate? Candidate = null, PlattCalibration? Calibration = null, LinearState? Linear = null);
}
