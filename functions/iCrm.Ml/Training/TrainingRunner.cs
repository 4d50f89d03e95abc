using System.Diagnostics;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;

namespace iCrm.Ml.Training;

/// <summary>
/// One training run: stream the profiles from the store (slices read in parallel) into a bounded stratified sample
/// (<see cref="TrainingSampler"/>, at most <c>Models__MaxTrainingCustomers</c>), train each model kind on it, evaluate,
/// publish, promote when not worse than the champion (the champion swap is the commit point), then fan the write-back
/// out: one <see cref="ScoreSliceMessage"/> per slice of the store to <see cref="IScoreSliceQueue"/> (queue
/// <c>score-slices</c> in Azure, scored by the <c>ScoreSlice</c> function on as many instances as Functions scales to;
/// in-process otherwise). Memory of the training instance is bounded by the sample, not the store. Two runs never
/// overlap (lease); a run that fails before a swap changes nothing the API serves.
/// <para>
/// Comparison with the champion: each kind's card carries its promotion metric measured on a time-based holdout of the
/// snapshot the run read; the challenger's value is compared with the value on the champion's card (measured the same
/// way on the data of its own run) under the kind's <see cref="PromotionRule"/>. Kinds that implement
/// <see cref="IChampionEvaluator"/> (churn, sentiment, CLV) instead measure the champion on the challenger's own holdout, so
/// both are compared on the same data; the outcome's reason says which basis was used. A champion card measured by
/// another protocol is not compared with. <see cref="PromotionGate"/> marks on the challenger's card come first: "not
/// comparable" keeps the champion (a first model of its kind is promoted, flagged), "unsound" is never promoted.
/// </para>
/// <para>
/// Kinds whose scorer is an <see cref="IProfileEnricher"/> (sentiment) write into the snapshot profiles right after
/// they are trained, so kinds trained later in the same run (churn reads feedback sentiment) see the result.
/// </para>
/// </summary>
public sealed class TrainingRunner(
    ICustomerStore customers,
    IModelRegistry registry,
    ITrainingLease lease,
    ITrainingRunLog runs,
    IEnumerable<IModelTrainer> trainers,
    IEnumerable<IModelLoader> loaders,
    ChampionModels champions,
    TimeProvider time,
    ModelOptions? options = null,
    IScoreSliceQueue? slices = null)
{
    private readonly ModelOptions _options = options ?? new ModelOptions();
    private readonly IScoreSliceQueue _slices = slices ?? new InProcessScoreSliceQueue(
        new SliceScorer(customers, champions, loaders, new InProcessScoringResults(), runs, time, (options ?? new ModelOptions()).ScoreConcurrency));

    public IReadOnlyList<string> AvailableKinds => [.. trainers.Select(t => t.Kind)];

    public async Task<TrainingRunRecord> RunAsync(TrainingRunRecord run, CancellationToken cancellationToken = default)
    {
        using var activity = TrainingTelemetry.StartRun(run);
        await using var held = await lease.TryAcquireAsync(cancellationToken);
        if (held is null)
        {
            run.Status = TrainingRunStatus.Skipped;
            run.Error = "Another training run holds the lease on models/train.lock.";
            run.CompletedAt = time.GetUtcNow();
            await runs.SaveAsync(run, cancellationToken);
            TrainingTelemetry.Finish(activity, run);
            return run;
        }
        run.Status = TrainingRunStatus.Running;
        run.StartedAt = time.GetUtcNow();
        try
        {
            run.Stage = "snapshot";
            await runs.SaveAsync(run, cancellationToken);
            var stage = Stopwatch.StartNew();
            var sampler = new TrainingSampler(_options.MaxTrainingCustomers, _options.TrainingSampleSeed, run.AsOf, _options.ChurnWindowDays);
            long withoutProfilingConsent = 0;
            // More slices than readers, so a slow range does not leave the others idle at the end.
            var readSlices = CustomerSlice.Split(Math.Min(CustomerSlice.MaxCount, _options.TrainingReadParallelism * 4));
            await Parallel.ForEachAsync(readSlices, new ParallelOptions { MaxDegreeOfParallelism = _options.TrainingReadParallelism, CancellationToken = cancellationToken },
                async (slice, ct) =>
                {
                    await foreach (var stored in customers.ReadSliceAsync(slice, ct))
                    {
                        // Withdrawn profiling consent: the person is not trained on (nor written back to) from this run on.
                        // Erased people are gone from the store; their tombstones live in identities, which training never reads.
                        if (TrainingSnapshot.Excludes(stored.Value))
                        {
                            Interlocked.Increment(ref withoutProfilingConsent);
                            continue;
                        }
                        sampler.Add(stored.Value);
                    }
                });
            var (profiles, sample) = sampler.Complete();
            run.ProfilesWithoutProfilingConsent = withoutProfilingConsent;
            run.Profiles = sample.CustomersRead;
            run.Sample = sample;
            run.StageSeconds["snapshot"] = Math.Round(stage.Elapsed.TotalSeconds, 3);
            var snapshot = new TrainingSnapshot(profiles, run.AsOf) { Sample = sample, StoreLatestActivity = sampler.LatestActivity };
            var version = $"{run.AsOf:yyyyMMdd}-{time.GetUtcNow():HHmmss}-{run.RunId[..Math.Min(6, run.RunId.Length)]}";

            foreach (var trainer in trainers.Where(t => run.Kinds.Count == 0 || run.Kinds.Contains(t.Kind)))
            {
                run.Stage = trainer.Kind;
                await runs.SaveAsync(run, cancellationToken);
                stage.Restart();
                using var model = TrainingTelemetry.StartModel(trainer.Kind);
                run.Models[trainer.Kind] = await TrainOneAsync(trainer, snapshot, version, cancellationToken);
                await EnrichSnapshotAsync(trainer.Kind, profiles, cancellationToken);
                run.StageSeconds[trainer.Kind] = Math.Round(stage.Elapsed.TotalSeconds, 3);
                TrainingTelemetry.Record(model, trainer.Kind, run.Models[trainer.Kind], stage.Elapsed);
            }
            champions.Invalidate();

            if (run.StatusOfModels() == TrainingRunStatus.Failed)
            {
                run.Error = string.Join("; ", run.Models.Where(m => m.Value.Reason.StartsWith("failed", StringComparison.Ordinal)).Select(m => $"{m.Key}: {m.Value.Reason}"));
            }
            stage.Restart();
            run.StageSeconds["write-back"] = 0;
            if (await FanOutWriteBackAsync(run, cancellationToken))
            {
                // Slices are under way on the queue: the run stays running (stage write-back) and the reducer of the last
                // slice ends it; saving the record again here could undo its update.
                TrainingTelemetry.Finish(activity, run);
                return run;
            }
            run.StageSeconds["write-back"] = Math.Round(stage.Elapsed.TotalSeconds, 3);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            run.Status = TrainingRunStatus.Failed;
            run.Error = $"{e.GetType().Name}: {e.Message}";
        }
        run.Stage = null;
        run.CompletedAt = time.GetUtcNow();
        await runs.SaveAsync(run, CancellationToken.None);
        TrainingTelemetry.Finish(activity, run);
        return run;
    }

    private async Task<ModelOutcome> TrainOneAsync(IModelTrainer trainer, TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        TrainedModel trained;
        try
        {
            using (TrainingTelemetry.StartStep(TrainingTelemetry.TrainSpan, trainer.Kind))
            {
                trained = await trainer.TrainAsync(snapshot, version, cancellationToken);
                trained.Card.Sample ??= snapshot.Sample;
                // A bundle that cannot be loaded back is never published, let alone promoted.
                var loader = loaders.First(l => l.Kind == trainer.Kind);
                loader.Load(new MemoryStream(trained.Bundle), trained.Card).Score(snapshot.Profiles.Count > 0
                    ? snapshot.Profiles[0] : new CustomerProfile { Id = "probe" }, snapshot.AsOf);
            }
        }
        catch (NotEnoughDataException e)
        {
            return new ModelOutcome(version, "", double.NaN, null, false, $"skipped: {e.Message}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ModelOutcome(version, "", double.NaN, null, false, $"failed: {e.Message}");
        }
        var card = trained.Card;
        try
        {
            using var publish = TrainingTelemetry.StartStep(TrainingTelemetry.PublishSpan, trainer.Kind);
            await registry.PublishAsync(card, new MemoryStream(trained.Bundle), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ModelOutcome(version, card.PromotionMetric, card.PromotionValue, null, false, $"failed: publishing {trainer.Kind} {version}: {e.Message}");
        }
        // The comparison with the champion, up to the decision; the promote span that may follow is its sibling.
        using var evaluate = TrainingTelemetry.StartStep(TrainingTelemetry.EvaluateSpan, trainer.Kind);
        var champion = await registry.GetChampionAsync(trainer.Kind, cancellationToken);
        var championCard = champion is null ? null : await registry.GetCardAsync(trainer.Kind, champion.Value.Version, cancellationToken);
        if (PromotionGate.Unsound(card) is { } unsound)
        {
            return new ModelOutcome(version, card.PromotionMetric, card.PromotionValue, championCard?.PromotionValue, false,
                $"not promoted: unsound fit: {unsound}" + (champion is null ? "" : $"; kept champion {champion.Value.Version}"));
        }
        var notComparable = PromotionGate.NotComparable(card);
        if (notComparable is not null && champion is not null)
        {
            return new ModelOutcome(version, card.PromotionMetric, card.PromotionValue, championCard?.PromotionValue, false,
                $"not comparable: {notComparable}; kept champion {champion.Value.Version}");
        }
        var championValue = championCard?.PromotionValue;
        var sameHoldout = false;
        if (champion is not null && trainer is IChampionEvaluator evaluator)
        {
            var (championScorer, _) = await champions.GetAsync(trainer.Kind, cancellationToken);
            try
            {
                if (championScorer is not null && championScorer.Version == champion.Value.Version
                    && evaluator.EvaluateChampion(championScorer, snapshot, card) is { } measured && double.IsFinite(measured))
                {
                    championValue = measured;
                    sameHoldout = true;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The champion cannot be measured on this holdout (e.g. it reads something this data lacks): use its card.
            }
        }
        var basis = sameHoldout ? "measured on this run's holdout" : "from its card";
        // Card values measured under different protocols (an old in-sample card, a time split against a per-user split)
        // are different quantities: the champion's number says nothing about the challenger's, so it is not used.
        if (!sameHoldout && championCard is not null && PromotionGate.ProtocolName(championCard) != PromotionGate.ProtocolName(card))
        {
            championValue = null;
            basis = $"its card was measured by protocol '{Protocol(championCard)}', not comparable with '{Protocol(card)}'";
        }
        if (notComparable is null && !trainer.Promotion.NotWorse(card.PromotionValue, championValue, card.HigherIsBetter))
        {
            return new ModelOutcome(version, card.PromotionMetric, card.PromotionValue, championValue, false, champion is null
                ? $"not promoted: {card.PromotionMetric} could not be measured ({card.PromotionValue})"
                : $"kept champion {champion.Value.Version}: {card.PromotionMetric} {card.PromotionValue:0.####} is worse than its {championValue:0.####} ({basis}) " +
                  $"({(card.HigherIsBetter ? "higher" : "lower")} is better) beyond tolerance {trainer.Promotion}");
        }
        evaluate?.Stop();
        var pointer = new ChampionPointer(trainer.Kind, version, time.GetUtcNow(), card.PromotionMetric, card.PromotionValue, champion?.Value.Version);
        bool promoted;
        using (var promote = TrainingTelemetry.StartStep(TrainingTelemetry.PromoteSpan, trainer.Kind))
        {
            promoted = await registry.TryPromoteAsync(pointer, champion?.ETag, cancellationToken);
            promote?.SetTag("icrm.model.promoted", promoted);
        }
        return new ModelOutcome(version, card.PromotionMetric, card.PromotionValue, championValue, promoted,
            !promoted ? "not promoted: the champion changed during the run"
            : notComparable is not null ? $"promoted (first model of its kind) but not comparable: {notComparable}; its quality is unmeasured and the next comparable model replaces it"
            : champion is null ? "promoted (first model of its kind)"
            : championValue is null ? $"promoted over {champion.Value.Version} ({card.PromotionMetric} {card.PromotionValue:0.####}; champion {basis})"
            : $"promoted over {champion.Value.Version} ({card.PromotionMetric} {card.PromotionValue:0.####} vs {championValue:0.####}, champion {basis})");

        static string Protocol(ModelCard c) => PromotionGate.ProtocolName(c) is { Length: > 0 } name ? name : "unnamed";
    }

    /// <summary>Lets an enriching champion (sentiment) write into the snapshot, so later kinds of this run train on it.</summary>
    /// <returns>The champion version the snapshot was enriched with, or null.</returns>
    private async Task<string?> EnrichSnapshotAsync(string kind, List<CustomerProfile> profiles, CancellationToken cancellationToken)
    {
        champions.Invalidate();
        var (scorer, _) = await champions.GetAsync(kind, cancellationToken);
        if (scorer is not IProfileEnricher enricher)
        {
            return null;
        }
        await Parallel.ForEachAsync(profiles, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount * 2, CancellationToken = cancellationToken },
            async (p, ct) => await enricher.EnrichAsync(p, rescore: true, ct));
        return scorer.Version;
    }

    /// <summary>
    /// Enqueues one slice per <c>Models__ScoreSlices</c> of the store. The run record is saved first, still running at
    /// stage "write-back" with its progress, so a slice that finishes before this method returns finds it; the reducer of
    /// the last slice ends the run (<see cref="TrainingRunRecord.Complete"/>), and a slice that failed every attempt fails
    /// it (<see cref="SliceScorer.AbandonAsync"/>; the next run completes the write-back, which skips what is current).
    /// With a queue that completes inline (no queue configured) the slices are done on return and the record is read back.
    /// </summary>
    /// <returns>True when the slices went to a queue (the record is saved and belongs to their reducer now).</returns>
    private async Task<bool> FanOutWriteBackAsync(TrainingRunRecord run, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kind in loaders.Select(l => l.Kind).Distinct())
        {
            if (await registry.GetChampionAsync(kind, cancellationToken) is { } champion)
            {
                versions[kind] = champion.Value.Version;
            }
        }
        var messages = CustomerSlice.Split(_options.ScoreSlices)
            .Select(s => new ScoreSliceMessage(run.RunId, s.Index, s.Count, run.AsOf, versions)).ToList();
        run.Scoring = new ScoringProgress { Slices = messages.Count };
        run.Stage = "write-back";
        await runs.SaveAsync(run, cancellationToken);
        await _slices.EnqueueAsync(messages, cancellationToken);
        if (!_slices.CompletesInline)
        {
            return true;
        }
        if (await runs.GetAsync(run.RunId, cancellationToken) is not { } done)
        {
            return false;
        }
        run.Status = done.Status != TrainingRunStatus.Running ? done.Status
            : done.Scoring?.CompletedAt is null ? TrainingRunStatus.Failed : run.StatusOfModels();
        run.Error = done.Error;
        run.Scoring = done.Scoring;
        run.PredictionsWritten = done.PredictionsWritten;
        return false;
    }
}
