using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using iCrm.Azure;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.LocalTriggers;

/// <summary>
/// Locally plays the queue extension for <see cref="ScoreSlice"/>: <see cref="LocalTriggerOptions.ScoreWorkers"/> workers
/// each take a message from <c>score-slices</c> (invisible for <see cref="LocalTriggerOptions.ScoreVisibilityTimeout"/> while
/// it runs), call the function, delete the message on success, and on failure let it reappear after
/// <see cref="LocalTriggerOptions.RetryDelay"/>; a message that failed its <see cref="ScoreSlice.MaxAttempts"/>th delivery
/// goes to <c>score-slices-poison</c>, as the extension does with host.json's <c>maxDequeueCount</c> 5 (the function has
/// marked the run failed by then).
/// </summary>
public sealed class ScoreSliceRunner(QueueServiceClient queues, IServiceProvider services, IOptions<LocalTriggerOptions> options,
    TimeProvider time, ILogger<ScoreSliceRunner> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = queues.GetQueueClient(ResourceNames.ScoreSlicesQueue);
        var poison = queues.GetQueueClient(ResourceNames.ScoreSlicesPoisonQueue);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                await poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LocalTriggerFailed(log, nameof(ScoreSliceRunner), e.GetType().Name, e.Message);
                await Task.Delay(options.Value.DropPollInterval, time, stoppingToken);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, options.Value.ScoreWorkers).Select(_ => WorkAsync(queue, poison, stoppingToken)));
    }

    private async Task WorkAsync(QueueClient queue, QueueClient poison, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage? message = null;
            try
            {
                message = (await queue.ReceiveMessageAsync(settings.ScoreVisibilityTimeout, stoppingToken)).Value;
                if (message is null)
                {
                    await Task.Delay(settings.ScorePollInterval, time, stoppingToken);
                    continue;
                }
                await using (var scope = services.CreateAsyncScope())
                {
                    var function = ActivatorUtilities.CreateInstance<ScoreSlice>(scope.ServiceProvider);
                    await function.Run(message.Body.ToString(), message.DequeueCount, stoppingToken);
                }
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LocalTriggerFailed(log, nameof(ScoreSliceRunner), e.GetType().Name, e.Message);
                if (message is not null)
                {
                    await FailedAsync(queue, poison, message, settings, stoppingToken);
                }
            }
        }
    }

    private async Task FailedAsync(QueueClient queue, QueueClient poison, QueueMessage message, LocalTriggerOptions settings, CancellationToken cancellationToken)
    {
        try
        {
            if (message.DequeueCount >= ScoreSlice.MaxAttempts)
            {
                await poison.SendMessageAsync(message.Body.ToString(), cancellationToken);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
                Log.SliceMovedToPoison(log, message.MessageId, message.DequeueCount);
                return;
            }
            await queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: settings.RetryDelay, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The message reappears after its visibility timeout anyway.
            Log.LocalTriggerFailed(log, nameof(ScoreSliceRunner), e.GetType().Name, e.Message);
        }
    }
}
