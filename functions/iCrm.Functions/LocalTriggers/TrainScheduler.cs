using Cronos;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.LocalTriggers;

/// <summary>Locally stands in for the timer trigger of Train: calls <see cref="Training.Train"/> on
/// <c>TRAIN_SCHEDULE</c> (NCRONTAB with seconds, UTC).</summary>
public sealed class TrainScheduler(IServiceProvider services, IOptions<LocalTriggerOptions> options, TimeProvider time, ILogger<TrainScheduler> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = CronExpression.Parse(options.Value.TrainSchedule, CronFormat.IncludeSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = schedule.GetNextOccurrence(time.GetUtcNow(), TimeZoneInfo.Utc);
            if (next is null)
            {
                return;
            }
            Log.NextTraining(log, next.Value);
            var delay = next.Value - time.GetUtcNow();
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            try
            {
                await using var scope = services.CreateAsyncScope();
                var training = ActivatorUtilities.CreateInstance<Training>(scope.ServiceProvider);
                await training.Train(new TimerInfo { IsPastDue = false }, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LocalTriggerFailed(log, nameof(TrainScheduler), e.GetType().Name, e.Message);
            }
        }
    }
}
