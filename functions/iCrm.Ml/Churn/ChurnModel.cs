using System.IO.Compression;
using System.Text.Json;
using iCrm.Core.Features;
using Microsoft.ML;

namespace iCrm.Ml.Churn;

/// <summary>
/// A trained churn model: the ML.NET boosted-tree transformer (with its Platt calibrator), the same trees flattened for
/// fast scoring with explanations, the feature schema it was trained on, and the risk bands.
/// </summary>
public sealed class ChurnModel
{
    private const string MlNetEntry = "churn-fasttree.mlnet.zip";
    private const string MetadataEntry = "churn.json";
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    internal ChurnModel(MLContext ml, ITransformer transformer, ChurnTrees trees, FeatureSchema schema, ChurnBands bands)
    {
        Ml = ml;
        Transformer = transformer;
        Trees = trees;
        Schema = schema;
        Bands = bands;
    }

    public FeatureSchema Schema { get; }

    public ChurnBands Bands { get; }

    internal MLContext Ml { get; }

    internal ITransformer Transformer { get; }

    internal ChurnTrees Trees { get; }

    /// <summary>Scores from the flattened trees: the fast path for the API and the training write-back.</summary>
    public ChurnScorer CreateScorer() => new(this);

    /// <summary>Scores through pooled ML.NET PredictionEngines: the reference path (same probabilities, slower).</summary>
    public ChurnEngineScorer CreateEngineScorer() => new(this);

    /// <summary>Writes the model as a zip (the ML.NET model plus a JSON entry with schema, bands and leaf counts).</summary>
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

        using var metadata = archive.CreateEntry(MetadataEntry, CompressionLevel.Optimal).Open();
        JsonSerializer.Serialize(metadata, new Metadata(FormatVersion, Schema, Bands, Trees.LeafCounts), Json);
    }

    public static ChurnModel Load(Stream source)
    {
        using var archive = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var metadataEntry = archive.GetEntry(MetadataEntry) ?? throw new InvalidDataException($"Churn model has no {MetadataEntry}.");
        Metadata metadata;
        using (var s = metadataEntry.Open())
        {
            metadata = JsonSerializer.Deserialize<Metadata>(s, Json) ?? throw new InvalidDataException("Empty churn model metadata.");
        }

        if (metadata.FormatVersion != FormatVersion)
        {
            throw new InvalidDataException($"Churn model format v{metadata.FormatVersion} is not readable by this version (v{FormatVersion}).");
        }

        var modelEntry = archive.GetEntry(MlNetEntry) ?? throw new InvalidDataException($"Churn model has no {MlNetEntry}.");
        using var buffer = new MemoryStream();
        using (var s = modelEntry.Open())
        {
            s.CopyTo(buffer);
        }

        buffer.Position = 0;
        var ml = new MLContext(seed: 0);
        var transformer = ml.Model.Load(buffer, out _);
        var trees = ChurnTrees.FromModel(PredictorOf(transformer), metadata.Schema.Count);
        trees.SetLeafCounts(metadata.LeafCounts);
        return new ChurnModel(ml, transformer, trees, metadata.Schema, metadata.Bands);
    }

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

    private sealed record Metadata(int FormatVersion, FeatureSchema Schema, ChurnBands Bands, long[][] LeafCounts);
}
