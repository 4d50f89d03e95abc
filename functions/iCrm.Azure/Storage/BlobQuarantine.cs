
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using iCrm.Azure.Connections;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Core.Storage;

namespace iCrm.Azure.Storage;

/// <summary>Rejected rows as JSON lines in an append blob <c>quarantine/{dropId}/rejected.jsonl</c>, plus <c>report.json</c>.
/// Erasure rewrites these files without the erased person's rows (<see cref="QuarantineErasure"/>).</summary>
public sealed partial class BlobQuarantine(BlobServiceClient blobs) : IQuarantine, IRejectedRows
{
    private const int MaxAppendBytes = 4 * 1024 * 1024;
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(ResourceNames.QuarantineContainer);

    public static string RejectedPath(string dropId) => $"{dropId}/rejected.jsonl";

    public static string ReportPath(string dropId) => $"{dropId}/report.json";

    public async Task<string> BeginAsync(string dropId, CancellationToken cancellationToken = default)
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var blob = _container.GetAppendBlobClient(RejectedPath(dropId));
        // A re-run reads the whole drop again, so the rejected file starts afresh: it always matches the last report.
        await blob.CreateAsync(new global::Azure.Storage.Blobs.Models.AppendBlobCreateOptions
        {
            HttpHeaders = new global::Azure.Storage.Blobs.Models.BlobHttpHeaders { ContentType = "application/x-ndjson" },
        }, cancellationToken);
        return $"{ResourceNames.QuarantineContainer}/{RejectedPath(dropId)}";
    }

    public async Task AppendRejectedAsync(string dropId, IReadOnlyList<RowRejection> rejections, CancellationToken cancellationToken = default)
    {
        if (rejections.Count == 0)
        {
            return;
        }
        var blob = _container.GetAppendBlobClient(RejectedPath(dropId));
        using var buffer = new MemoryStream();
        foreach (var rejection in rejections)
        {
            var line = JsonSerializer.SerializeToUtf8Bytes(new
            {
                line = rejection.Line,
                field = rejection.Field,
                reason = rejection.Reason,
                message = rejection.Message,
                raw = rejection.RawText,
            }, CosmosJsonSerializer.Options);
            if (buffer.Length + line.Length + 1 > MaxAppendBytes)
            {
                await FlushAsync(blob, buffer, cancellationToken);
            }
            buffer.Write(line);
            buffer.WriteByte((byte)'\n');
        }
        await FlushAsync(blob, buffer, cancellationToken);
    }

    public async Task<string> WriteReportAsync(IngestionReport report, CancellationToken cancellationToken = default)
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions(CosmosJsonSerializer.Options) { WriteIndented = true });
        await _container.GetBlobClient(ReportPath(report.Id)).UploadAsync(BinaryData.FromString(json), overwrite: true, cancellationToken);
        return $"{ResourceNames.QuarantineContainer}/{ReportPath(report.Id)}";
    }

    public async Task<IReadOnlyList<RowRejection>?> ReadAsync(string dropId, int max, CancellationToken cancellationToken = default)
    {
        Stream stream;
        try
        {
            stream = await _container.GetBlobClient(RejectedPath(dropId)).OpenReadAsync(cancellationToken: cancellationToken);
        }
        catch (global::Azure.RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        var rows = new List<RowRejection>();
        await using (stream)
        {
            // Streams from the start and stops after max rows: a drop with millions of rejections costs one small read.
            using var reader = new StreamReader(stream);
            while (rows.Count < max && await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                rows.Add(new RowRejection(
                    root.TryGetProperty("line", out var number) && number.TryGetInt64(out var n) ? n : 0,
                    Text("field"), Text("reason") ?? "", Text("message") ?? "", Text("raw") ?? ""));
            }
        }
        return rows;
    }

    private static async Task FlushAsync(AppendBlobClient blob, MemoryStream buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length == 0)
        {
            return;
        }
        buffer.Position = 0;
        await blob.AppendBlockAsync(buffer, cancellationToken: cancellationToken);
        buffer.SetLength(0);
    }

}
