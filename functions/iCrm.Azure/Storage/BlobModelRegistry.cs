using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using iCrm.Azure.Connections;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;

namespace iCrm.Azure.Storage;

/// <summary>The model registry in blob container <c>models</c>; champion pointers swapped with conditional writes.</summary>
public sealed class BlobModelRegistry(BlobServiceClient blobs) : IModelRegistry, ITrainingLease, ITrainingRunLog
{
    private static readonly JsonSerializerOptions CardJson = new(CosmosJsonSerializer.Options) { WriteIndented = true };
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(ResourceNames.ModelsContainer);
    private CreateOnce? _created;

    private async Task<BlobContainerClient> ContainerAsync(CancellationToken ct)
    {
        await LazyInitializer.EnsureInitialized(ref _created, () => new CreateOnce(() => _container.CreateIfNotExistsAsync())).EnsureAsync(ct);
        return _container;
    }

    public async Task<Versioned<ChampionPointer>?> GetChampionAsync(string kind, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        try
        {
            var result = await container.GetBlobClient($"{kind}/champion.json").DownloadContentAsync(cancellationToken);
            var pointer = result.Value.Content.ToObjectFromJson<ChampionPointer>(CosmosJsonSerializer.Options)!;
            return new Versioned<ChampionPointer>(pointer, result.Value.Details.ETag.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task PublishAsync(ModelCard card, Stream bundle, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        await container.GetBlobClient($"{card.Kind}/{card.Version}/model.zip").UploadAsync(bundle, overwrite: true, cancellationToken);
        await container.GetBlobClient($"{card.Kind}/{card.Version}/card.json")
            .UploadAsync(BinaryData.FromObjectAsJson(card, CardJson), overwrite: true, cancellationToken);
    }

    public async Task<Stream?> OpenBundleAsync(string kind, string version, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        try
        {
            var buffer = new MemoryStream();
            await container.GetBlobClient($"{kind}/{version}/model.zip").DownloadToAsync(buffer, cancellationToken);
            buffer.Position = 0;
            return buffer;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<ModelCard?> GetCardAsync(string kind, string version, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        try
        {
            var result = await container.GetBlobClient($"{kind}/{version}/card.json").DownloadContentAsync(cancellationToken);
            return result.Value.Content.ToObjectFromJson<ModelCard>(CosmosJsonSerializer.Options);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<string>> ListVersionsAsync(string kind, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        var versions = new List<string>();
        await foreach (var item in container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Delimiter = "/", Prefix = $"{kind}/" }, cancellationToken))
        {
            if (item.IsPrefix)
            {
                versions.Add(item.Prefix[(kind.Length + 1)..].TrimEnd('/'));
            }
        }
        versions.Sort(StringComparer.Ordinal);
        return versions;
    }

    public async Task<bool> TryPromoteAsync(ChampionPointer champion, string? expectedETag, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        var conditions = expectedETag is null
            ? new BlobRequestConditions { IfNoneMatch = ETag.All }
            : new BlobRequestConditions { IfMatch = new ETag(expectedETag) };
        try
        {
            await container.GetBlobClient($"{champion.Kind}/champion.json").UploadAsync(
                BinaryData.FromObjectAsJson(champion, CardJson), new BlobUploadOptions { Conditions = conditions }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    public async Task SaveAsync(TrainingRunRecord run, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        await container.GetBlobClient($"runs/{run.RunId}.json").UploadAsync(BinaryData.FromObjectAsJson(run, CardJson), overwrite: true, cancellationToken);
    }

    public async Task<TrainingRunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        try
        {
            var result = await container.GetBlobClient($"runs/{runId}.json").DownloadContentAsync(cancellationToken);
            return result.Value.Content.ToObjectFromJson<TrainingRunRecord>(CosmosJsonSerializer.Options);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<IAsyncDisposable?> TryAcquireAsync(CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken);
        var blob = container.GetBlobClient(ResourceNames.TrainLockBlob);
        try
        {
            await blob.UploadAsync(BinaryData.FromString("training lease"), overwrite: false, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            // Already exists: fine, the lease is what counts.
        }
        var leaseClient = blob.GetBlobLeaseClient();
        try
        {
            await leaseClient.AcquireAsync(TimeSpan.FromSeconds(60), cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return null;
        }
        return new RenewingLease(leaseClient);
    }

    /// <summary>Holds a 60 s lease and renews it every 20 s, so a crashed run frees the lock within a minute.</summary>
    private sealed class RenewingLease : IAsyncDisposable
    {
        private readonly BlobLeaseClient _lease;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;

        public RenewingLease(BlobLeaseClient lease)
        {
            _lease = lease;
            _renewal = RenewAsync();
        }

        private async Task RenewAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(20), _stop.Token);
                    await _lease.RenewAsync(cancellationToken: _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _renewal;
            try
            {
                await _lease.ReleaseAsync();
            }
            catch (RequestFailedException)
            {
                // Lost already: it expires by itself.
            }
            _stop.Dispose();
        }
    }
}
