namespace iCrm.Functions.LocalTriggers;

/// <summary>Section <c>LocalTriggers</c>: local stand-ins for Event Grid and the timer (<c>LocalTriggers__Enabled</c>;
/// never on in Azure).</summary>
public sealed class LocalTriggerOptions
{
    public const string Section = "LocalTriggers";

    public bool Enabled { get; set; }

    /// <summary>How often the drops container is listed for new blobs (Azurite has no Event Grid).</summary>
    public TimeSpan DropPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Delay before a failed drop is tried again (the blob extension retries through its queue, after its
    /// visibility timeout).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts before a drop goes to the poison queue (the blob extension's <c>maxDequeueCount</c>).</summary>
    public int MaxAttempts { get; set; } = Ingest.MaxAttempts;

    /// <summary>Slices of a training run's write-back scored at once (queue <c>score-slices</c>; in Azure, instances scale out).</summary>
    public int ScoreWorkers { get; set; } = 2;

    /// <summary>How long a worker waits before asking an empty <c>score-slices</c> queue again.</summary>
    public TimeSpan ScorePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a slice being scored stays invisible to the other workers (a slice of 1/64 of a large store takes minutes).</summary>
    public TimeSpan ScoreVisibilityTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>NCRONTAB with seconds, from the app setting <c>TRAIN_SCHEDULE</c> that the timer trigger reads as
    /// <c>%TRAIN_SCHEDULE%</c> (the host resolves binding expressions from app settings, so it keeps its own name).</summary>
    public string TrainSchedule { get; set; } = "0 0 2 * * *";
}
