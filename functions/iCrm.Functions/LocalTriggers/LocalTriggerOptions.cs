namespace iCrm.Functions.LocalTriggers;

/// <summary>Section <c>LocalTriggers</c>: local stand-ins for the Functions host's triggers (<c>LocalTriggers__Enabled</c>;
/// never on in Azure).</summary>
public sealed class LocalTriggerOptions
{
    public const string Section = "LocalTriggers";

    public bool Enabled { get; set; }

    /// <summary>How often the drops container is listed for new blobs (Azurite has no Event Grid).</summary>
    public TimeSpan DropPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the ingest queue is polled when it was empty.</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Delay before a failed message is retried (host.json <c>visibilityTimeout</c>).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts before a message goes to the poison queue (host.json <c>maxDequeueCount</c>).</summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>NCRONTAB with seconds, from the app setting <c>TRAIN_SCHEDULE</c> that the timer trigger reads as
    /// <c>%TRAIN_SCHEDULE%</c> (the host resolves binding expressions from app settings, so it keeps its own name).</summary>
    public string TrainSchedule { get; set; } = "0 0 2 * * *";
}
