using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using iCrm.Core.Storage;

namespace iCrm.Ml.Registry;

/// <summary>Model kinds of the registry (<c>models/{kind}/...</c>).</summary>
public static class ModelKinds
{
    public const string Churn = "churn";
    public const string Clv = "clv";
    public const string Segments = "segments";
    public const string Recommendations = "recommendations";
    public const string Sentiment = "sentiment";

    public static readonly IReadOnlyList<string> All = [Churn, Clv, Segments, Recommendations, Sentiment];
}

/// <summary><c>models/{kind}/champion.json</c>: the version the API serves. Swapping it is the commit point of a training run.</summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record ChampionPointer(string Kind, string Version, DateTimeOffset PromotedAt, string Metric, double Value, string? PreviousVersion);

/// <summary>One feature of a model's input, with the label people read in explanations.</summary>
public sealed record FeatureDescription(string Name, string Type, string Label);

/// <summary><c>models/{kind}/{version}/card.json</c>: what a person needs to trust (or not) a model version.</summary>
/// <remarks>An unmeasurable metric (e.g. a holdout with one class) is NaN, written as "NaN".</remarks>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed class ModelCard
{
    public required string Kind { get; init; }
    public required string Version { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string Description { get; init; } = "";
    public string Algorithm { get; init; } = "";
    public string PromotionMetric { get; init; } = "";
    public double PromotionValue { get; init; }
    public bool HigherIsBetter { get; init; } = true;
    public Dictionary<string, double> Metrics { get; init; } = [];
    public Dictionary<string, Dictionary<string, double>> Baselines { get; init; } = [];
    public List<FeatureDescription> FeatureSchema { get; init; } = [];
    public Dictionary<string, double> GlobalImportance { get; init; } = [];
    public DateTimeOffset? TrainingWindowStart { get; init; }
    public DateTimeOffset? Cutoff { get; init; }
    public Dictionary<string, long> RowCounts { get; init; } = [];
    public Dictionary<string, string> Parameters { get; init; } = [];
    public double DurationSeconds { get; init; }
    public string DataFingerprint { get; init; } = "";
    public JsonObject? Details { get; init; }
}

public interface IModelRegistry
{
    Task<Versioned<ChampionPointer>?> GetChampionAsync(string kind, CancellationToken cancellationToken = default);

    /// <summary>Writes <c>{kind}/{version}/model.zip</c> and <c>card.json</c>. Publishing does not promote.</summary>
    Task PublishAsync(ModelCard card, Stream bundle, CancellationToken cancellationToken = default);

    Task<Stream?> OpenBundleAsync(string kind, string version, CancellationToken cancellationToken = default);

    Task<ModelCard?> GetCardAsync(string kind, string version, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<string>> ListVersionsAsync(string kind, CancellationToken cancellationToken = default);

    /// <summary>Swaps the champion pointer if it is still at <paramref name="expectedETag"/> (null: only if there is none yet).</summary>
    Task<bool> TryPromoteAsync(ChampionPointer champion, string? expectedETag, CancellationToken cancellationToken = default);
}

/// <summary>Keeps two training runs from overlapping (a blob lease on <c>models/train.lock</c> in production).</summary>
public interface ITrainingLease
{
    /// <summary>Returns a handle that holds the lease until disposed, or null when another run holds it.</summary>
    Task<IAsyncDisposable?> TryAcquireAsync(CancellationToken cancellationToken = default);
}
