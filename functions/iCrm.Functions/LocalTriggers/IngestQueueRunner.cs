using System.Text.Json;
using iCrm.Azure.Storage;
using iCrm.Functions.Invocation;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.LocalTriggers;

/// <summary>
/// Locally stands in for the host's queue trigger on <c>ingest-events</c>: one message at a time (batchSize 1),
/// invoked through <see cref="FunctionInvoker"/> with the payload the host would post, retried after a delay on failure,
/// and moved to <c>ingest-events-poison</c> after <see cref="LocalTriggerOptions.MaxDequeueCount"/> attempts.
/// </summary>
public sealed class IngestQueueRunner(IngestQueue queue, FunctionInvoker invoker, IOptions<LocalTriggerOptions> options, ILogger<IngestQueueRunner> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await queue.EnsureCreatedAsync(stoppingToken);
                var message = await queue.ReceiveAsync(TimeSpan.FromMinutes(10), stoppingToken);
                if (message is null)
                {
                    await Task.Delay(settings.QueuePollInterval, stoppingToken);
                    continue;
                }
                var request = new InvocationRequest
                {
                    Data = { ["message"] = JsonSerializer.SerializeToElement(message.Body.ToString()) },
                    Metadata =
                    {
                        ["DequeueCount"] = JsonSerializer.SerializeToElement(message.DequeueCount),
                        ["Id"] = JsonSerializer.SerializeToElement(message.MessageId),
                        ["InsertionTime"] = JsonSerializer.SerializeToElement(message.InsertedOn),
                    },
                };
                var result = await invoker.InvokeAsync(FunctionNames.Ingest, request, stoppingToken);
                if (result.Succeeded)
                {
                    await queue.CompleteAsync(message, stoppingToken);
                }
                else if (message.DequeueCount >= settings.MaxDequeueCount)
                {
                    Log.MovedToPoison(log, message.MessageId, message.DequeueCount);
                    await queue.MoveToPoisonAsync(message, stoppingToken);
                }
                else
                {
                    await queue.Events.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: settings.RetryDelay,
                        cancellationToken: stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.LocalTriggerFailed(log, nameof(IngestQueueRunner), e.GetType().Name, e.Message);
                await Task.Delay(settings.QueuePollInterval, stoppingToken);
            }
        }
    }
}
