using Azure;
using iCrm.Azure;
using iCrm.Azure.Storage;
using iCrm.Ml.Registry;

namespace iCrm.IntegrationTests;

public sealed class BlobAndQueueTests
{
    [Fact]
    public async Task A_drop_is_streamed_at_the_version_that_was_announced()
    {
        var blobs = LocalStack.Blobs();
        var container = blobs.GetBlobContainerClient(ResourceNames.DropsContainer);
        await container.CreateIfNotExistsAsync();
        var path = $"web/orders/{LocalStack.Unique()}.csv";
        await container.GetBlobClient(path).UploadAsync(BinaryData.FromString("a,b\n1,2\n"));
        var source = new BlobDropSource(blobs);

        var drop = await source.GetAsync(path);
        Assert.NotNull(drop);
        Assert.Equal(8, drop.Length);
        await using (var stream = await source.OpenReadAsync(drop))
        {
            Assert.Equal("a,b\n1,2\n", await new StreamReader(stream).ReadToEndAsync());
        }

        await container.GetBlobClient(path).UploadAsync(BinaryData.FromString("changed\n"), overwrite: true);
        await Assert.ThrowsAsync<RequestFailedException>(async () =>
        {
            await using var stale = await source.OpenReadAsync(drop);
            await stale.ReadExactlyAsync(new byte[4]);
        });
        Assert.Null(await source.GetAsync("web/orders/missing-" + LocalStack.Unique()));
    }

    [Fact]
    public async Task The_champion_pointer_swaps_only_from_the_expected_version()
    {
        var registry = new BlobModelRegistry(LocalStack.Blobs());
        var kind = "test-" + LocalStack.Unique();
        var card = new ModelCard { Kind = kind, Version = "v1", CreatedAt = DateTimeOffset.UtcNow, PromotionMetric = "auc", PromotionValue = 0.7 };
        await registry.PublishAsync(card, new MemoryStream([1, 2, 3]));

        Assert.True(await registry.TryPromoteAsync(new ChampionPointer(kind, "v1", DateTimeOffset.UtcNow, "auc", 0.7, null), null));
        Assert.False(await registry.TryPromoteAsync(new ChampionPointer(kind, "v2", DateTimeOffset.UtcNow, "auc", 0.8, null), null));
        var current = await registry.GetChampionAsync(kind);
        Assert.Equal("v1", current!.Value.Version);
        Assert.True(await registry.TryPromoteAsync(new ChampionPointer(kind, "v2", DateTimeOffset.UtcNow, "auc", 0.8, "v1"), current.ETag));
        Assert.False(await registry.TryPromoteAsync(new ChampionPointer(kind, "v3", DateTimeOffset.UtcNow, "auc", 0.9, "v1"), current.ETag));

        Assert.Equal("v2", (await registry.GetChampionAsync(kind))!.Value.Version);
        Assert.Equal(["v1"], await registry.ListVersionsAsync(kind));
        Assert.Equal(0.7, (await registry.GetCardAsync(kind, "v1"))!.PromotionValue);
    }

    [Fact]
    public async Task Only_one_training_run_holds_the_lease_at_a_time()
    {
        var registry = new BlobModelRegistry(LocalStack.Blobs());
        await using (var first = await registry.TryAcquireAsync())
        {
            Assert.NotNull(first);
            Assert.Null(await registry.TryAcquireAsync());
        }
        await using var again = await registry.TryAcquireAsync();
        Assert.NotNull(again);
    }
}
