using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Functions.Api;

/// <summary>Runs HTTP-started training in the background (HTTP responses are cut after ~230 s in Azure) and lets
/// shutdown wait for them.</summary>
public sealed class TrainingJobs(TrainingRunner runner, ITrainingRunLog runs, TimeProvider time, IHostApplicationLifetime lifetime) : IAsyncDisposable
{
    private readonly List<Task> _running = [];

    public async Task<TrainingRunRecord> StartAsync(DateTimeOffset asOf, List<string> kinds)
    {
        var run = new TrainingRunRecord
        {
            RunId = Guid.NewGuid().ToString("N"),
            Trigger = "http",
            Status = TrainingRunStatus.Queued,
            RequestedAt = time.GetUtcNow(),
            AsOf = asOf,
            Kinds = kinds,
        };
        await runs.SaveAsync(run);
        var task = Task.Run(() => runner.RunAsync(run, lifetime.ApplicationStopping));
        lock (_running)
        {
            _running.RemoveAll(t => t.IsCompleted);
            _running.Add(task);
        }
        return run;
    }

    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        lock (_running)
        {
            pending = [.. _running];
        }
        try
        {
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception)
        {
            // Shutting down: a run cut short leaves the champion untouched and is redone by the next run.
        }
    }
}
