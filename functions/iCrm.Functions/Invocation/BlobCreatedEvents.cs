using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;

namespace iCrm.Functions.Invocation;

/// <summary>A blob that was created: container and path inside it.</summary>
public sealed record CreatedBlob(string Container, string Path);

/// <summary>
/// Reads BlobCreated events from an ingest queue message: plain JSON or base64-encoded JSON, Event Grid or CloudEvents
/// schema, one event or an array. The blob comes from the event's <c>data.url</c>.
/// </summary>
public static class BlobCreatedEvents
{
    public const string EventType = "Microsoft.Storage.BlobCreated";

    public static IReadOnlyList<CreatedBlob> Parse(JsonElement message)
    {
        var root = Unwrap(message);
        var blobs = new List<CreatedBlob>();
        if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in root.EnumerateArray())
            {
                Add(item, blobs);
            }
        }
        else
        {
            Add(root, blobs);
        }
        return blobs;
    }

    /// <summary>The message may arrive as a JSON object, a JSON string holding JSON, or a string holding base64 of JSON.</summary>
    private static JsonElement Unwrap(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.String)
        {
            return message;
        }
        var text = message.GetString()!.Trim();
        if (text.StartsWith('{') || text.StartsWith('['))
        {
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(text)).Trim();
            return JsonDocument.Parse(decoded).RootElement.Clone();
        }
        catch (FormatException)
        {
            throw new InvalidEventException("The queue message is neither JSON nor base64-encoded JSON.");
        }
        catch (JsonException)
        {
            throw new InvalidEventException("The queue message is base64 but does not decode to JSON.");
        }
    }

    private static void Add(JsonElement e, List<CreatedBlob> blobs)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidEventException("An event must be a JSON object.");
        }
        // Event Grid schema names the type "eventType"; CloudEvents 1.0 names it "type".
        var type = Property(e, "eventType") ?? Property(e, "type");
        if (!string.Equals(type, EventType, StringComparison.Ordinal))
        {
            return;
        }
        if (!e.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object || Property(data, "url") is not { } url)
        {
            throw new InvalidEventException("A BlobCreated event must carry data.url.");
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new InvalidEventException("data.url is not an absolute URL.");
        }
        var builder = new BlobUriBuilder(uri);
        if (string.IsNullOrEmpty(builder.BlobContainerName) || string.IsNullOrEmpty(builder.BlobName))
        {
            throw new InvalidEventException("data.url does not name a blob.");
        }
        blobs.Add(new CreatedBlob(builder.BlobContainerName, builder.BlobName));
    }

    private static string? Property(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>A queue message that can never be processed (retrying will not help).</summary>
public sealed class InvalidEventException(string message) : Exception(message);
