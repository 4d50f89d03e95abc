using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using iCrm.Core.Privacy;

namespace iCrm.Azure.Storage;

/// <summary>
/// Erasure of a person's rows from the quarantine files. Rejected rows keep only raw text, so every
/// <c>{dropId}/rejected.jsonl</c> is read (streamed) and matched by <see cref="ErasedSubjectMatch"/>, using the drop's source
/// from its <c>report.json</c>. A file holding such rows is rewritten without them: the kept rows go to a temporary file,
/// then the append blob is created again (only if it did not change since it was read) and refilled in blocks, so memory
/// stays flat whatever the file's size. The cost grows with the quarantine's size, which its lifecycle rule bounds.
/// </summary>
public sealed partial class BlobQuarantine : IQuarantineEraser
{
    private const int MaxRewriteAttempts = 3;

    public async Task<int> RemoveRowsAsync(ErasedSubjectMatch subject, CancellationToken cancellationToken = default)
    {
        if (subject.IsEmpty || !await _container.ExistsAsync(cancellationToken))
        {
            return 0;
        }
        var removed = 0;
        await foreach (var item in _container.GetBlobsAsync(cancellationToken: cancellationToken))
        {
            var slash = item.Name.IndexOf('/');
            if (slash <= 0 || !item.Name.EndsWith("/rejected.jsonl", StringComparison.Ordinal))
            {
                continue;
            }
            var source = await DropSourceAsync(item.Name[..slash], cancellationToken);
            removed += await RemoveRowsAsync(_container.GetAppendBlobClient(item.Name), subject, source, cancellationToken);
        }
        return removed;
    }

    private async Task<int> RemoveRowsAsync(AppendBlobClient blob, ErasedSubjectMatch subject, string? source, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var kept = Path.Combine(Path.GetTempPath(), $"icrm-quarantine-{Guid.NewGuid():N}.jsonl");
            try
            {
                int removed;
                ETag etag;
                await using (var output = new FileStream(kept, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
                {
                    BlobDownloadStreamingResult download;
                    try
                    {
                        download = (await blob.DownloadStreamingAsync(cancellationToken: cancellationToken)).Value;
                    }
                    catch (RequestFailedException e) when (e.Status == 404)
                    {
                        return 0;
                    }
                    etag = download.Details.ETag;
                    using var reader = new StreamReader(download.Content, Encoding.UTF8);
                    removed = 0;
                    while (await reader.ReadLineAsync(cancellationToken) is { } line)
                    {
                        if (line.Length == 0)
                        {
                            continue;
                        }
                        if (subject.Names(source, RawOf(line)))
                        {
                            removed++;
                            continue;
                        }
                        var bytes = Encoding.UTF8.GetBytes(line);
                        await output.WriteAsync(bytes, cancellationToken);
                        output.WriteByte((byte)'\n');
                    }
                }
                if (removed == 0)
                {
                    return 0;
                }
                try
                {
                    await RewriteAsync(blob, kept, etag, cancellationToken);
                    return removed;
                }
                catch (RequestFailedException e) when (e.Status == 412 && attempt < MaxRewriteAttempts)
                {
                    // A drop appended rows meanwhile: read the file again.
                }
            }
            finally
            {
                File.Delete(kept);
            }
        }
    }

    private static async Task RewriteAsync(AppendBlobClient blob, string keptPath, ETag etag, CancellationToken cancellationToken)
    {
        var created = await blob.CreateAsync(new AppendBlobCreateOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/x-ndjson" },
            Conditions = new AppendBlobRequestConditions { IfMatch = etag },
        }, cancellationToken);
        var current = created.Value.ETag;
        await using var input = File.OpenRead(keptPath);
        var buffer = new byte[MaxAppendBytes];
        int read;
        while ((read = await FillAsync(input, buffer, cancellationToken)) > 0)
        {
            using var block = new MemoryStream(buffer, 0, read, writable: false);
            var appended = await blob.AppendBlockAsync(block, new AppendBlobAppendBlockOptions
            {
                Conditions = new AppendBlobRequestConditions { IfMatch = current },
            }, cancellationToken);
            current = appended.Value.ETag;
        }
    }

    private static async Task<int> FillAsync(Stream input, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await input.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }
        return total;
    }

    private static string? RawOf(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            return json.RootElement.TryGetProperty("raw", out var raw) && raw.ValueKind == JsonValueKind.String ? raw.GetString() : null;
        }
        catch (JsonException)
        {
            return line; // not a row this app wrote: match its text as it is
        }
    }

    /// <summary>The source of the drop (from its report), or null while the drop has no report yet.</summary>
    private async Task<string?> DropSourceAsync(string dropId, CancellationToken cancellationToken)
    {
        try
        {
            var content = (await _container.GetBlobClient(ReportPath(dropId)).DownloadContentAsync(cancellationToken)).Value.Content;
            using var json = JsonDocument.Parse(content.ToMemory());
            return json.RootElement.TryGetProperty("source", out var source) && source.GetString() is { Length: > 0 } s ? s : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
