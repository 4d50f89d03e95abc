using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using iCrm.Azure.Connections;
using iCrm.Ml.Scoring;

namespace iCrm.Azure.Storage;

/// <summary>
/// Slice reports of the fan-out write-back in the registry container: <c>models/runs/{runId}/slices/{n}.json</c> and the
/// reduce <c>models/runs/{runId}/summary.json</c>, both written create-only (<c>If-None-Match: *</c>), so a re-delivered
/// slice or a second reducer changes nothing.
/// </summary>
public sealed class BlobScoringResults(BlobServiceClient blobs) : IScoringResults
{
    private static readonly JsonSerializerOptions Json = CosmosJsonSerializer.Options;
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(ResourceNames.ModelsContainer);
    private CreateOnce? _created;

    private static string SlicePath(string runId, int slice) => $"runs/{runId}/slices/{slice.ToString("D3", CultureInfo.InvariantCulture)}.json";

    private static string SummaryPath(string runId) => $"runs/{runId}/summary.json";

    public Task<bool> TryWriteSliceAsync(string runId, int slice, ScoringTally tally, CancellationToken cancellationToken = default) =>
        TryCreateAsync(SlicePath(runId, slice), BinaryData.FromObjectAsJson(tally, Json), cancellationToken);

    public async Task<bool> IsSliceDoneAsync(string runId, int slice, CancellationToken cancellationToken = default) =>
        await (await ContainerAsync(cancellationToken)).GetBlobClient(SlicePath(runId, slice)).ExistsAsync(cancellationToken);

    public async Task<IReadOnlyDictionary<int, ScoringTally>> ReadSlicesAsync(string runId, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        var slices = new Dictionary<int, ScoringTally>();
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"runs/{runId}/slices/", cancellationToken))
        {
            var name = Path.GetFileNameWithoutExtension(blob.Name);
            if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var slice))
            {
                var content = await container.GetBlobClient(blob.Name).DownloadContentAsync(cancellationToken);
                slices[slice] = content.Value.Content.ToObjectFromJson<ScoringTally>(Json)!;
            }
        }
        return slices;
    }

    public async Task<int> CountSlicesAsync(string runId, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        var count = 0;
        await foreach (var _ in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"runs/{runId}/slices/", cancellationToken))
        {
            count++;
        }
        return count;
    }

    public Task<bool> TryWriteSummaryAsync(ScoringSummary summary, CancellationToken cancellationToken = default) =>
        TryCreateAsync(SummaryPath(summary.RunId), BinaryData.FromObjectAsJson(summary, Json), cancellationToken);

    public async Task<ScoringSummary?> GetSummaryAsync(string runId, CancellationToken cancellationToken = default)
    {
        try
        {
            var content = await (await ContainerAsync(cancellationToken)).GetBlobClient(SummaryPath(runId)).DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToObjectFromJson<ScoringSummary>(Json);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private const string LatestPath = "runs/latest-summary.json";

    public async Task PublishLatestAsync(ScoringSummary summary, CancellationToken cancellationToken = default)
    {
        var blob = (await ContainerAsync(cancellationToken)).GetBlobClient(LatestPath);
        // Read, compare, replace with the ETag read: a concurrent reducer of another run makes the write fail, and the
        // comparison runs again against what it wrote.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            ScoringSummary? current = null;
            ETag? etag = null;
            try
            {
                var content = await blob.DownloadContentAsync(cancellationToken);
                current = content.Value.Content.ToObjectFromJson<ScoringSummary>(Json);
                etag = content.Value.Details.ETag;
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
            }
            if (!summary.IsNewerThan(current))
            {
                return;
            }
            try
            {
                await blob.UploadAsync(BinaryData.FromObjectAsJson(summary, Json), new BlobUploadOptions
                {
                    Conditions = etag is { } tag ? new BlobRequestConditions { IfMatch = tag } : new BlobRequestConditions { IfNoneMatch = ETag.All },
                }, cancellationToken);
                return;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
            }
        }
        throw new InvalidOperationException("The latest scoring summary kept changing while it was being replaced.");
    }

    public async Task<ScoringSummary?> GetLatestSummaryAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var content = await (await ContainerAsync(cancellationToken)).GetBlobClient(LatestPath).DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToObjectFromJson<ScoringSummary>(Json);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    private async Task<bool> TryCreateAsync(string path, BinaryData content, CancellationToken cancellationToken)
    {
        try
        {
            await (await ContainerAsync(cancellationToken)).GetBlobClient(path).UploadAsync(content,
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    private async Task<BlobContainerClient> ContainerAsync(CancellationToken ct)
    {
        await LazyInitializer.EnsureInitialized(ref _created, () => new CreateOnce(() => _container.CreateIfNotExistsAsync())).EnsureAsync(ct);
        return _container;
    }
}
