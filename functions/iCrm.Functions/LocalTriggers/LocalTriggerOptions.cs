namespace iCrm.Functions.LocalTriggers;

/// <summary>Local stand-ins for Event Grid and the timer (setting <c>ICRM_LOCAL_TRIGGERS</c>; never on in Azure).</summary>
public sealed class LocalTriggerOptions
{
    public bool Enabled { get; set; }

    /// <summary>How often the drops container is listed for new blobs (Azurite has no Event Grid).</summary>
    public TimeSpan DropPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Delay before a failed drop is tried again (the blob extension retries through its queue, after its
    /// visibility timeout).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts before a drop goes to the poison queue (the blob extension's <c>maxDequeueCount</c>).</summary>
    public int MaxAttempts { get; set; } = Ingest.MaxAttempts;

    /// <summary>NCRONTAB with seconds, as the timer trigger reads <c>%TRAIN_SCHEDULE%</c>.</summary>
    public string TrainSchedule { get; set; } = "0 0 2 * * *";
}
