using System.Collections.Concurrent;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Training;
using iCrm.Testing;

namespace iCrm.Ml.Tests.Training;

/// <summary>
/// The bounded training sample and the fan-out write-back, with in-memory stores: every slice scored once, a
/// re-delivered slice changes nothing, a failing slice is retried and the run completes, the run shows slices done / total.
/// </summary>
public sealed class FanOutSpecification
{
    private static readonly PromotionRule Absolute = new(0.005);

    private static string Id(int i) => "c_" + ((uint)(i * 2654435761u)).ToString("x8", System.Globalization.CultureInfo.InvariantCulture) + i.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    private static List<CustomerProfile> Customers(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new CustomerProfile
        {
            Id = Id(i),
            SeenKeys = ["k1", "k2"],
            Orders = i % 4 == 0 ? [] : [new OrderLine($"o{i}", 1, TrainingWorld.AsOf.AddDays(-(i % 200)), "p1", 1, 10m, "web", false)],
        })];

    /// <summary>A queue that only collects the messages (as the storage queue does), for driving slices by hand.</summary>
    private sealed class CollectingQueue : IScoreSliceQueue
    {
        public ConcurrentQueue<ScoreSliceMessage> Messages { get; } = new();

        public bool CompletesInline => false;

        public Task EnqueueAsync(IReadOnlyList<ScoreSliceMessage> messages, CancellationToken cancellationToken = default)
        {
            foreach (var m in messages)
            {
                Messages.Enqueue(m);
            }
            return Task.CompletedTask;
        }
    }

    private sealed record World(TrainingRunner Runner, InMemoryModelRegistry Registry, InMemoryCustomerStore Store, SliceScorer Scorer,
        InProcessScoringResults Results, FixedKind Kind);

    private static async Task<World> CreateAsync(int customers, IScoreSliceQueue? queue = null, int slices = 8, int maxTraining = 200_000)
    {
        var store = await TrainingWorld.StoreAsync(Customers(customers));
        var registry = new InMemoryModelRegistry();
        var kind = new FixedKind("churn", Absolute);
        var champions = TrainingWorld.Champions(registry, [kind]);
        var results = new InProcessScoringResults();
        var scorer = new SliceScorer(store, champions, [kind], results, registry, TimeProvider.System, concurrency: 4);
        var options = new ModelOptions { ScoreSlices = slices, MaxTrainingCustomers = maxTraining, TrainingReadParallelism = 3 };
        var runner = new TrainingRunner(store, registry, registry, registry, [kind], [kind], champions, TimeProvider.System, options,
            queue ?? new InProcessScoreSliceQueue(scorer, workers: 2));
        return new World(runner, registry, store, scorer, results, kind);
    }

    [Fact]
    public async Task Every_slice_is_scored_once_and_the_reduce_counts_every_customer_once()
    {
        var world = await CreateAsync(300);

        var run = await world.Runner.RunAsync(TrainingWorld.Run());

        Assert.Equal(TrainingRunStatus.Succeeded, run.Status);
        Assert.Equal(8, run.Scoring!.Slices);
        Assert.Equal(8, run.Scoring.SlicesDone);
        Assert.NotNull(run.Scoring.CompletedAt);
        Assert.Equal(300, run.Scoring.Customers);
        Assert.Equal(300, run.PredictionsWritten);
        Assert.Equal(300, world.Store.Writes - 300); // 300 creates, then exactly one write per customer
        var version = run.Models["churn"].Version;
        Assert.All(world.Store.All(), p => Assert.Equal(version, p.Predictions["churn"].ModelVersion));
        var summary = await world.Results.GetSummaryAsync(run.RunId);
        Assert.Equal(300, summary!.Totals.Customers);
        Assert.Equal(300, summary.Totals.Distributions[ModelKinds.Churn].Counts.Sum());
    }

    [Fact]
    public async Task A_redelivered_slice_writes_nothing_and_reports_nothing_new()
    {
        var queue = new CollectingQueue();
        var world = await CreateAsync(200, queue, slices: 4);
        var run = await world.Runner.RunAsync(TrainingWorld.Run());
        var first = queue.Messages.First();

        var tally = await world.Scorer.ScoreAsync(first);
        var writes = world.Store.Writes;
        var again = await world.Scorer.ScoreAsync(first);

        Assert.NotNull(tally);
        Assert.True(tally.Written > 0);
        Assert.Null(again); // already reported: nothing scored
        Assert.Equal(writes, world.Store.Writes);

        // Delivered again after the profiles were written but before the slice reported (the worker died in between):
        // it scores, finds every prediction current and writes nothing.
        var freshResults = new InProcessScoringResults();
        var scorer = new SliceScorer(world.Store, TrainingWorld.Champions(world.Registry, [world.Kind]), [world.Kind], freshResults, world.Registry, TimeProvider.System);
        var replay = await scorer.ScoreAsync(first);
        Assert.Equal(0, replay!.Written);
        Assert.Equal(tally.Written, replay.AlreadyCurrent);
        Assert.Equal(writes, world.Store.Writes);
        Assert.Equal(TrainingRunStatus.Running, run.Status); // three slices are still on the queue
        Assert.Equal("write-back", run.Stage);
    }

    [Fact]
    public async Task The_run_shows_slices_done_of_total_and_completes_when_the_last_slice_reports()
    {
        var queue = new CollectingQueue();
        var world = await CreateAsync(120, queue, slices: 6);
        var run = await world.Runner.RunAsync(TrainingWorld.Run());
        Assert.Equal(TrainingRunStatus.Running, run.Status); // models trained, predictions not yet written
        Assert.Equal(TrainingRunStatus.Running, (await world.Registry.GetAsync(run.RunId))!.Status);
        Assert.Null(run.CompletedAt);
        Assert.Equal(6, run.Scoring!.Slices);
        Assert.Equal(0, run.Scoring.SlicesDone);
        Assert.Null(run.Scoring.CompletedAt);

        var messages = queue.Messages.ToList();
        foreach (var m in messages.Take(4))
        {
            await world.Scorer.ScoreAsync(m);
        }
        Assert.Equal(4, await world.Results.CountSlicesAsync(run.RunId));
        Assert.Null((await world.Registry.GetAsync(run.RunId))!.Scoring!.CompletedAt);
        Assert.Equal(TrainingRunStatus.Running, (await world.Registry.GetAsync(run.RunId))!.Status);

        foreach (var m in messages.Skip(4).Reverse())
        {
            await world.Scorer.ScoreAsync(m);
        }
        var done = (await world.Registry.GetAsync(run.RunId))!;
        Assert.Equal(6, done.Scoring!.SlicesDone);
        Assert.NotNull(done.Scoring.CompletedAt);
        Assert.Equal(120, done.Scoring.Customers);
        Assert.Equal(120, done.PredictionsWritten);
        Assert.Equal(TrainingRunStatus.Succeeded, done.Status); // the last slice's reducer ended the run
        Assert.Null(done.Stage);
        Assert.NotNull(done.CompletedAt);
    }

    [Fact]
    public async Task A_slice_that_fails_is_retried_and_the_run_still_completes()
    {
        var world = await CreateAsync(150, slices: 5);
        var failures = 0;
        world.Store.BeforeWrite = p =>
        {
            if (p.Predictions.Count > 0 && Interlocked.Increment(ref failures) <= 3)
            {
                throw new IOException("store unavailable");
            }
        };

        var run = await world.Runner.RunAsync(TrainingWorld.Run());

        Assert.True(failures > 3);
        Assert.Equal(TrainingRunStatus.Succeeded, run.Status);
        Assert.NotNull(run.Scoring!.CompletedAt);
        Assert.Equal(150, run.Scoring.Customers);
        Assert.All(world.Store.All(), p => Assert.Equal(run.Models["churn"].Version, p.Predictions["churn"].ModelVersion));
    }

    [Fact]
    public async Task A_slice_that_fails_every_attempt_fails_the_run_and_says_which()
    {
        var world = await CreateAsync(40, slices: 2);
        world.Store.BeforeWrite = p =>
        {
            if (p.Predictions.Count > 0 && string.CompareOrdinal(p.Id, "c_80") >= 0)
            {
                throw new IOException("store unavailable");
            }
        };

        var run = await world.Runner.RunAsync(TrainingWorld.Run());

        Assert.Equal(TrainingRunStatus.Failed, run.Status);
        Assert.Equal(1, run.Scoring!.SlicesDone);
        Assert.Contains("write-back: slice 1 of 2 failed after every attempt (IOException", run.Error, StringComparison.Ordinal);
        var saved = (await world.Registry.GetAsync(run.RunId))!;
        Assert.Equal(TrainingRunStatus.Failed, saved.Status);
        Assert.Equal(run.Error, saved.Error);
        Assert.NotNull(saved.CompletedAt);
    }

    [Fact]
    public async Task Training_fits_on_a_bounded_sample_and_the_card_says_how_it_was_drawn()
    {
        var world = await CreateAsync(2_000, slices: 4, maxTraining: 500);
        SampleProbe probe = new();
        var runner = new TrainingRunner(world.Store, world.Registry, world.Registry, world.Registry, [probe], [world.Kind],
            TrainingWorld.Champions(world.Registry, [world.Kind]), TimeProvider.System, new ModelOptions { MaxTrainingCustomers = 500 });

        var run = await runner.RunAsync(TrainingWorld.Run());

        Assert.Equal(500, probe.Seen);
        Assert.Equal(2_000, run.Profiles);
        Assert.Equal(500, run.Sample!.Sampled);
        Assert.Contains("stratified random sample of 500 of 2,000", run.Sample.Method, StringComparison.Ordinal);
        var card = await world.Registry.GetCardAsync("churn", run.Models["churn"].Version);
        Assert.Equal(500, card!.Sample!.Sampled);
        Assert.Equal(2_000, card.Sample.Strata.Values.Sum());
        Assert.All(probe.Profiles, p => Assert.Empty(p.SeenKeys)); // compacted: no duplicate-detection keys held
    }

    private sealed class SampleProbe : IModelTrainer
    {
        private readonly FixedKind _inner = new("churn", new PromotionRule(0.005));

        public int Seen { get; private set; }

        public IReadOnlyList<CustomerProfile> Profiles { get; private set; } = [];

        public string Kind => "churn";

        public PromotionRule Promotion => _inner.Promotion;

        public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
        {
            Seen = snapshot.Profiles.Count;
            Profiles = snapshot.Profiles;
            return _inner.TrainAsync(snapshot, version, cancellationToken);
        }
    }

    [Fact]
    public void The_sample_keeps_each_stratum_in_proportion_and_does_not_depend_on_the_read_order()
    {
        var profiles = Customers(10_000);
        static TrainingSampler Sampler() => new(1_000, 5, TrainingWorld.AsOf, 90);
        var forward = Sampler();
        foreach (var p in Customers(10_000))
        {
            forward.Add(p);
        }
        var backward = Sampler();
        foreach (var p in Enumerable.Reverse(Customers(10_000)))
        {
            backward.Add(p);
        }

        var (a, info) = forward.Complete();
        var (b, _) = backward.Complete();

        Assert.Equal(1_000, a.Count);
        Assert.Equal(a.Select(p => p.Id), b.Select(p => p.Id));
        var lapsedShare = (double)info.Strata["lapsed"] / info.CustomersRead;
        var sampledLapsed = a.Count(p => p.Orders.Count == 0 || p.Orders[^1].Date < TrainingWorld.AsOf.AddDays(-90));
        Assert.Equal(Math.Round(lapsedShare * 1_000), sampledLapsed, 1.0);
        Assert.Equal(profiles.Count, info.CustomersRead);
    }

    [Fact]
    public void Slices_cover_every_customer_id_exactly_once()
    {
        var ids = Enumerable.Range(0, 5_000).Select(Id).Concat(["a", "zzz", "c_", "c_ff", "c_0", "probe", "C_12"]).ToList();
        foreach (var count in new[] { 1, 3, 16, 64, 256 })
        {
            var slices = CustomerSlice.Split(count);
            Assert.All(ids, id => Assert.Single(slices, s => s.Contains(id)));
        }
        var sizes = CustomerSlice.Split(8).Select(s => ids.Take(5_000).Count(s.Contains)).ToList();
        Assert.All(sizes, n => Assert.InRange(n, 500, 750)); // hash ids spread evenly
    }
}
