using System.Text.Json.Serialization;

namespace iCrm.Ml.Registry;

public enum TrainingRunStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

/// <summary>Progress and outcome of one training run (<c>models/runs/{runId}.json</c>), readable from any instance.</summary>
public sealed class TrainingRunRecord
{
    public required string RunId { get; init; }
    public required string Trigger { get; init; }
    public TrainingRunStatus Status { get; set; }
    public DateTimeOffset RequestedAt { get; init; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public DateTimeOffset AsOf { get; set; }
    public List<string> Kinds { get; set; } = [];
    public string? Stage { get; set; }
    public Dictionary<string, ModelOutcome> Models { get; set; } = [];
    public long Profiles { get; set; }

    /// <summary>Profiles left out of the snapshot because their profiling consent is withdrawn (<c>consent.profiling</c> false).</summary>
    public long ProfilesWithoutProfilingConsent { get; set; }
    public long PredictionsWritten { get; set; }

    /// <summary>How the fitting sample was drawn (null for runs that read every profile into one list).</summary>
    public iCrm.Ml.Training.TrainingSampleInfo? Sample { get; set; }

    /// <summary>The fan-out write-back: slices done / total; null until the run has enqueued it.</summary>
    public iCrm.Ml.Scoring.ScoringProgress? Scoring { get; set; }
    public Dictionary<string, double> StageSeconds { get; set; } = [];
    public string? Error { get; set; }

    /// <summary>The status the models alone give the run: failed when a kind failed to train, else succeeded. A run ends
    /// with it once its write-back is done (until then it is running, stage <c>write-back</c>).</summary>
    public TrainingRunStatus StatusOfModels() =>
        Models.Values.Any(m => m.Reason.StartsWith("failed", StringComparison.Ordinal)) ? TrainingRunStatus.Failed : TrainingRunStatus.Succeeded;

    /// <summary>Ends the run after its write-back: the models' status, no stage, completed at <paramref name="at"/>.</summary>
    public void Complete(DateTimeOffset at)
    {
        Status = StatusOfModels();
        Stage = null;
        CompletedAt = at;
    }
}

/// <summary>What happened to one model kind in a run: trained version, its metric, and whether it became champion.</summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record ModelOutcome(string Version, string Metric, double Value, double? ChampionValue, bool Promoted, string Reason);

public interface ITrainingRunLog
{
    Task SaveAsync(TrainingRunRecord run, CancellationToken cancellationToken = default);

    Task<TrainingRunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default);
}
