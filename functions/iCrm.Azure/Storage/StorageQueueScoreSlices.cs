using System.Text.Json;
using Azure.Storage.Queues;
using iCrm.Azure.Connections;
using iCrm.Ml.Scoring;

namespace iCrm.Azure.Storage;

/// <summary>Sends a run's slices to the <c>score-slices</c> queue, where the ScoreSlice function picks them up on as many
/// instances as it scales to. Messages are base64 of the JSON, the queue extension's default <c>messageEncoding</c>.</summary>
public sealed class StorageQueueScoreSlices(QueueServiceClient queues) : IScoreSliceQueue
{
    private readonly QueueClient _queue = queues.GetQueueClient(ResourceNames.ScoreSlicesQueue);
    private CreateOnce? _created;

    public bool CompletesInline => false;

    public async Task EnqueueAsync(IReadOnlyList<ScoreSliceMessage> messages, CancellationToken cancellationToken = default)
    {
        await LazyInitializer.EnsureInitialized(ref _created, () => new CreateOnce(() => _queue.CreateIfNotExistsAsync())).EnsureAsync(cancellationToken);
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (m, ct) => await _queue.SendMessageAsync(Encode(m), ct));
    }

    public static string Encode(ScoreSliceMessage message) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(message, CosmosJsonSerializer.Options));

    /// <summary>The message from the queue text: base64 of JSON as sent here, or plain JSON (a message written by hand).</summary>
    public static ScoreSliceMessage? Decode(string text)
    {
        var trimmed = text.AsSpan().Trim();
        if (trimmed.Length > 0 && trimmed[0] != '{')
        {
            var buffer = new byte[trimmed.Length];
            if (Convert.TryFromBase64Chars(trimmed, buffer, out var written))
            {
                return JsonSerializer.Deserialize<ScoreSliceMessage>(buffer.AsSpan(0, written), CosmosJsonSerializer.Options);
            }
        }
        return JsonSerializer.Deserialize<ScoreSliceMessage>(trimmed, CosmosJsonSerializer.Options);
    }
}
