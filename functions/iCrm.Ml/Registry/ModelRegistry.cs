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

    /// <summary>How the customers this model was fitted on were drawn from the store (set by the training run).</summary>
    public iCrm.Ml.Training.TrainingSampleInfo? Sample { get; set; }

    /// <summary>
    /// How every metric on this card was measured out of sample, in a stable name a program can check
    /// (<see cref="EvaluationProtocols"/>) followed by words for people, e.g.
    /// "stratified-5-fold-cv: 5 folds stratified by label; the shipped model is refit on all 2,666 rows".
    /// </summary>
    public string EvaluationProtocol { get; init; } = "";

    /// <summary>Plots a person needs to judge the model at a glance (ROC, precision–recall, calibration, lift, predicted
    /// vs actual, confusion matrix, …), keyed by a stable name such as <c>roc</c>; every point is out of sample.</summary>
    public Dictionary<string, CardChart> Charts { get; init; } = [];
}

/// <summary>Stable names of evaluation protocols; cards start <see cref="ModelCard.EvaluationProtocol"/> with one.</summary>
public static class EvaluationProtocols
{
    public const string TimeHoldout = "time-holdout";
    public const string StratifiedCrossValidation = "stratified-k-fold-cv";
    public const string StratifiedHoldout = "stratified-holdout";
    public const string PerUserRandomHoldout = "per-user-random-holdout";
    public const string Descriptive = "descriptive";
}

/// <summary>One plot of a model card: axes in words, points in drawing order, and the rows it was measured on.</summary>
/// <param name="Points">x, y and an optional label (a threshold, a decile, a class pair).</param>
public sealed record CardChart(string Title, string XLabel, string YLabel, List<CardPoint> Points, long Rows);

[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record CardPoint(double X, double Y, string? Label = null);

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
