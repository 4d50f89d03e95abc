using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace iCrm.Azure.Storage;

/// <summary>The <c>ingest-events</c> queue and its poison queue, as the local trigger runner uses them (in Azure the
/// Functions host reads the queue).</summary>
public sealed class IngestQueue(QueueServiceClient queues)
{
    public QueueClient Events { get; } = queues.GetQueueClient(ResourceNames.IngestQueue);

    public QueueClient Poison { get; } = queues.GetQueueClient(ResourceNames.IngestPoisonQueue);

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        await Events.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await Poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    public Task SendAsync(string message, CancellationToken cancellationToken = default) =>
        Events.SendMessageAsync(message, cancellationToken);

    public async Task<QueueMessage?> ReceiveAsync(TimeSpan visibilityTimeout, CancellationToken cancellationToken = default) =>
        (await Events.ReceiveMessageAsync(visibilityTimeout, cancellationToken)).Value;

    public Task CompleteAsync(QueueMessage message, CancellationToken cancellationToken = default) =>
        Events.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);

    /// <summary>Moves a message that failed too often to <c>ingest-events-poison</c>, as the host does after maxDequeueCount.</summary>
    public async Task MoveToPoisonAsync(QueueMessage message, CancellationToken cancellationToken = default)
    {
        await Poison.SendMessageAsync(message.Body.ToString(), cancellationToken);
        await Events.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
    }
}
