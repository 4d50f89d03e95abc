using System.Text;
using Azure.Storage.Queues;
using iCrm.Azure;
using iCrm.Azure.Storage;
using iCrm.Azure.Store;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Functions;
using iCrm.Functions.LocalTriggers;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Training;
using iCrm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace iCrm.IntegrationTests;

/// <summary>
/// The fan-out write-back on the real parts: slices read from the local Cosmos server by id range and written back with
/// patches, slice reports and the reduce as create-only blobs on Azurite, messages through the score-slices queue, and the
/// local queue runner's retries and poison queue.
/// </summary>
public sealed class ScoreSliceTests
{
    private readonly CosmosCustomerStore _customers = new(LocalStack.CosmosContainers());
    private readonly BlobScoringResults _results = new(LocalStack.Blobs());

    private sealed class ChurnStub : IModelTrainer, IModelLoader, IProfileScorer
    {
        public string Kind => ModelKinds.Churn;

        public string Version { get; private set; } = "";

        public PromotionRule Promotion => new(0.005, Always: true);

        public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken) =>
            Task.FromResult(new TrainedModel(new ModelCard { Kind = Kind, Version = version, CreatedAt = DateTimeOffset.UtcNow, PromotionMetric = "m", PromotionValue = 1 },
                Encoding.UTF8.GetBytes(version)));

        public IProfileScorer Load(Stream bundle, ModelCard card) => new ChurnStub { Version = card.Version };

        public Prediction Score(CustomerProfile profile, DateTimeOffset asOf) => new(Version, asOf, profile.Orders.Count > 0 ? 0.2 : 0.9, null, []);
    }

    /// <summary>Profiles with hash-shaped ids, so they spread over every slice.</summary>
    private async Task<List<string>> SeedAsync(int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => "c_" + Guid.NewGuid().ToString("N")[..24]).ToList();
        foreach (var id in ids)
        {
            Assert.NotNull(await _customers.TryCreateAsync(new CustomerProfile
            {
                Id = id,
                CreatedAt = DateTimeOffset.UtcNow,
                Orders = [new OrderLine("o-1", 1, DateTimeOffset.UtcNow.AddDays(-3), "p-1", 1, 9.5m, "web", false)],
            }));
        }
        return ids;
    }

    private static (TrainingRunner Runner, InMemoryModelRegistry Registry, SliceScorer Scorer, ChurnStub Kind) World(ICustomerStore store, IScoringResults results, IScoreSliceQueue queue, int slices)
    {
        var registry = new InMemoryModelRegistry();
        var kind = new ChurnStub();
        var champions = new ChampionModels(registry, [kind], TimeProvider.System) { RefreshInterval = TimeSpan.Zero };
        var scorer = new SliceScorer(store, champions, [kind], results, registry, TimeProvider.System, concurrency: 4);
        var runner = new TrainingRunner(store, registry, registry, registry, [kind], [kind], champions, TimeProvider.System,
            new iCrm.Ml.ModelOptions { ScoreSlices = slices }, queue);
        return (runner, registry, scorer, kind);
    }

    private static async Task<List<ScoreSliceMessage>> TakeMessagesAsync(QueueClient queue, string runId, int expected)
    {
        var mine = new List<ScoreSliceMessage>();
        for (var round = 0; round < 50 && mine.Count < expected; round++)
        {
            foreach (var m in (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value)
            {
                var message = StorageQueueScoreSlices.Decode(m.Body.ToString())!;
                if (message.RunId == runId)
                {
                    mine.Add(message);
                    await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
                }
            }
        }
        return mine;
    }

    [Fact]
    public async Task Slices_go_through_the_queue_are_patched_into_Cosmos_once_and_reduced_on_Azurite()
    {
        var ids = await SeedAsync(24);
        var queue = LocalStack.Queues().GetQueueClient(ResourceNames.ScoreSlicesQueue);
        var (runner, registry, scorer, _) = World(_customers, _results, new StorageQueueScoreSlices(LocalStack.Queues()), slices: 4);

        var run = await runner.RunAsync(new TrainingRunRecord { RunId = "it" + LocalStack.Unique(), Trigger = "test", AsOf = DateTimeOffset.UtcNow, RequestedAt = DateTimeOffset.UtcNow });
        Assert.Equal(4, run.Scoring!.Slices);
        var messages = await TakeMessagesAsync(queue, run.RunId, 4);
        Assert.Equal([0, 1, 2, 3], messages.Select(m => m.Slice).Order());

        foreach (var m in messages)
        {
            await scorer.ScoreAsync(m);
        }
        var version = run.Models[ModelKinds.Churn].Version;
        var after = new Dictionary<string, string>();
        foreach (var id in ids)
        {
            var stored = (await _customers.GetAsync(id))!;
            Assert.Equal(version, stored.Value.Predictions[ModelKinds.Churn].ModelVersion);
            Assert.Single(stored.Value.Orders); // a patch: the rest of the profile is as it was
            after[id] = stored.ETag;
        }
        var record = (await registry.GetAsync(run.RunId))!;
        Assert.Equal(4, record.Scoring!.SlicesDone);
        Assert.NotNull(record.Scoring.CompletedAt);
        Assert.True(record.Scoring.Customers >= ids.Count); // the container is shared with other tests' profiles
        Assert.NotNull(await _results.GetSummaryAsync(run.RunId));
        Assert.Equal(4, await _results.CountSlicesAsync(run.RunId));

        // Re-delivered: reported already, so nothing is scored; even with the reports gone, every prediction is current.
        Assert.Null(await scorer.ScoreAsync(messages[0]));
        var replay = new SliceScorer(_customers, new ChampionModels(registry, [new ChurnStub()], TimeProvider.System) { RefreshInterval = TimeSpan.Zero },
            [new ChurnStub()], new InProcessScoringResults(), registry, TimeProvider.System);
        foreach (var m in messages)
        {
            Assert.Equal(0, (await replay.ScoreAsync(m))!.Written);
        }
        foreach (var id in ids)
        {
            Assert.Equal(after[id], (await _customers.GetAsync(id))!.ETag);
        }
    }

    /// <summary>Fails its first <paramref name="failures"/> prediction writes, then writes to Cosmos.</summary>
    private sealed class FlakyStore(ICustomerStore inner, int failures) : ICustomerStore
    {
        private int _failures = failures;

        public Task<Versioned<CustomerProfile>?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);
        public Task<string?> TryCreateAsync(CustomerProfile profile, CancellationToken cancellationToken = default) => inner.TryCreateAsync(profile, cancellationToken);
        public Task<string?> TryReplaceAsync(CustomerProfile profile, string etag, CancellationToken cancellationToken = default) => inner.TryReplaceAsync(profile, etag, cancellationToken);
        public Task<Page<CustomerProfile>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default) => inner.ListAsync(pageSize, continuationToken, cancellationToken);
        public IAsyncEnumerable<CustomerProfile> ReadAllAsync(CancellationToken cancellationToken = default) => inner.ReadAllAsync(cancellationToken);
        public IAsyncEnumerable<Versioned<CustomerProfile>> ReadSliceAsync(CustomerSlice slice, CancellationToken cancellationToken = default) => inner.ReadSliceAsync(slice, cancellationToken);
        public Task<Page<CustomerProfile>> QueryAsync(CustomerListQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
            inner.QueryAsync(query, pageSize, continuationToken, cancellationToken);
        public Task<long> CountAsync(CustomerListQuery query, CancellationToken cancellationToken = default) => inner.CountAsync(query, cancellationToken);

        public Task<string?> TryWritePredictionsAsync(string id, string etag, IReadOnlyDictionary<string, Prediction> predictions, IReadOnlyList<FeedbackItem>? feedback,
            CancellationToken cancellationToken = default) =>
            Interlocked.Decrement(ref _failures) >= 0
                ? throw new IOException("Cosmos unavailable (injected)")
                : inner.TryWritePredictionsAsync(id, etag, predictions, feedback, cancellationToken);
    }

    [Fact]
    public async Task The_local_queue_runner_retries_a_failing_slice_until_it_completes_and_poisons_one_that_always_fails()
    {
        await SeedAsync(8);
        var queues = LocalStack.Queues();
        var queue = queues.GetQueueClient(ResourceNames.ScoreSlicesQueue);
        var poison = queues.GetQueueClient(ResourceNames.ScoreSlicesPoisonQueue);
        await queue.CreateIfNotExistsAsync();
        await poison.CreateIfNotExistsAsync();
        await queue.ClearMessagesAsync();
        await poison.ClearMessagesAsync();

        // Two failures, then Cosmos answers: the runner's retries complete the run.
        var flaky = new FlakyStore(_customers, failures: 2);
        var (runner, registry, scorer, _) = World(flaky, _results, new StorageQueueScoreSlices(queues), slices: 2);
        var run = await runner.RunAsync(new TrainingRunRecord { RunId = "it" + LocalStack.Unique(), Trigger = "test", AsOf = DateTimeOffset.UtcNow, RequestedAt = DateTimeOffset.UtcNow });
        await RunQueueAsync(scorer, async () => (await registry.GetAsync(run.RunId))!.Scoring!.CompletedAt is not null);
        Assert.NotNull((await registry.GetAsync(run.RunId))!.Scoring!.CompletedAt);
        Assert.Equal(TrainingRunStatus.Running, run.Status); // when the runner returned, the slices were on the queue
        Assert.Equal(TrainingRunStatus.Succeeded, (await registry.GetAsync(run.RunId))!.Status);

        // Always failing: five deliveries, then score-slices-poison.
        var broken = new FlakyStore(_customers, failures: int.MaxValue);
        var (runner2, registry2, scorer2, _) = World(broken, _results, new StorageQueueScoreSlices(queues), slices: 1);
        var run2 = await runner2.RunAsync(new TrainingRunRecord { RunId = "it" + LocalStack.Unique(), Trigger = "test", AsOf = DateTimeOffset.UtcNow, RequestedAt = DateTimeOffset.UtcNow });
        await RunQueueAsync(scorer2, async () => (await poison.PeekMessagesAsync(32)).Value.Any(m => StorageQueueScoreSlices.Decode(m.Body.ToString())!.RunId == run2.RunId));
        var poisoned = (await poison.PeekMessagesAsync(32)).Value.Select(m => StorageQueueScoreSlices.Decode(m.Body.ToString())!).Single(m => m.RunId == run2.RunId);
        Assert.Equal(0, poisoned.Slice);
        Assert.Equal(0, await _results.CountSlicesAsync(run2.RunId));
        var failed = (await registry2.GetAsync(run2.RunId))!;
        Assert.Equal(TrainingRunStatus.Failed, failed.Status); // the last attempt marked the run before the poison queue
        Assert.Contains("slice 0 of 1 failed after every attempt", failed.Error, StringComparison.Ordinal);
    }

    private static async Task RunQueueAsync(SliceScorer scorer, Func<Task<bool>> done)
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(scorer).BuildServiceProvider();
        var options = Options.Create(new LocalTriggerOptions { ScoreWorkers = 2, RetryDelay = TimeSpan.Zero, ScorePollInterval = TimeSpan.FromMilliseconds(100), MaxAttempts = ScoreSlice.MaxAttempts });
        using var runner = new ScoreSliceRunner(LocalStack.Queues(), services, options, TimeProvider.System, NullLogger<ScoreSliceRunner>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await runner.StartAsync(timeout.Token);
        try
        {
            while (!await done())
            {
                await Task.Delay(200, timeout.Token);
            }
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }
}
