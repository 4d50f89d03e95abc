using System.Diagnostics;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Training;

/// <summary>
/// One training run: snapshot the profiles, train each model kind, evaluate, publish, promote when not worse than the
/// champion (the champion swap is the commit point), then write fresh predictions back to the profiles. Two runs never
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
    TimeProvider time)
{
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
            var profiles = new List<CustomerProfile>();
            await foreach (var profile in customers.ReadAllAsync(cancellationToken))
            {
                // Withdrawn profiling consent: the person is not trained on (nor written back to) from this run on.
                // Erased people are gone from the store; their tombstones live in identities, which training never reads.
                if (TrainingSnapshot.Excludes(profile))
                {
                    run.ProfilesWithoutProfilingConsent++;
                    continue;
                }
                profiles.Add(profile);
            }
            run.Profiles = profiles.Count;
            run.StageSeconds["snapshot"] = Math.Round(stage.Elapsed.TotalSeconds, 3);
            var snapshot = new TrainingSnapshot(profiles, run.AsOf);
            var version = $"{run.AsOf:yyyyMMdd}-{time.GetUtcNow():HHmmss}-{run.RunId[..Math.Min(6, run.RunId.Length)]}";
            var enrichedSnapshot = new Dictionary<string, string>();

            foreach (var trainer in trainers.Where(t => run.Kinds.Count == 0 || run.Kinds.Contains(t.Kind)))
            {
                run.Stage = trainer.Kind;
                await runs.SaveAsync(run, cancellationToken);
                stage.Restart();
                using var model = TrainingTelemetry.StartModel(trainer.Kind);
                run.Models[trainer.Kind] = await TrainOneAsync(trainer, snapshot, version, cancellationToken);
                if (await EnrichSnapshotAsync(trainer.Kind, profiles, cancellationToken) is { } enrichedBy)
                {
                    enrichedSnapshot[trainer.Kind] = enrichedBy;
                }
                run.StageSeconds[trainer.Kind] = Math.Round(stage.Elapsed.TotalSeconds, 3);
                TrainingTelemetry.Record(model, trainer.Kind, run.Models[trainer.Kind], stage.Elapsed);
            }
            champions.Invalidate();

            run.Stage = "write-back";
            await runs.SaveAsync(run, cancellationToken);
            stage.Restart();
            run.PredictionsWritten = await WriteBackAsync(profiles, run.AsOf, enrichedSnapshot, cancellationToken);
            run.StageSeconds["write-back"] = Math.Round(stage.Elapsed.TotalSeconds, 3);
            run.Status = run.Models.Values.Any(m => m.Reason.StartsWith("failed", StringComparison.Ordinal))
                ? TrainingRunStatus.Failed
                : TrainingRunStatus.Succeeded;
            if (run.Status == TrainingRunStatus.Failed)
            {
                run.Error = string.Join("; ", run.Models.Where(m => m.Value.Reason.StartsWith("failed", StringComparison.Ordinal)).Select(m => $"{m.Key}: {m.Value.Reason}"));
            }
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

    /// <summary>Copies feedback sentiment the snapshot already holds (scored by the current champion in this run) onto the
    /// freshly read profile, so the write-back does not score the same texts twice. Returns whether anything changed.</summary>
    private static bool CopyFeedbackSentiment(CustomerProfile from, CustomerProfile to)
    {
        if (ReferenceEquals(from, to) || from.Feedback.Count == 0)
        {
            return false;
        }
        var scored = new Dictionary<(DateTimeOffset, string), double>();
        foreach (var f in from.Feedback)
        {
            if (f.Sentiment is { } s)
            {
                scored[(f.Timestamp, f.Text)] = s;
            }
        }
        var changed = false;
        foreach (var f in to.Feedback)
        {
            if (scored.TryGetValue((f.Timestamp, f.Text), out var s) && f.Sentiment != s)
            {
                f.Sentiment = s;
                changed = true;
            }
        }
        return changed;
    }

    /// <summary>Writes each profile's predictions from the current champions. Idempotent: unchanged versions are skipped,
    /// so a failed write-back is simply completed by the next run.</summary>
    private async Task<long> WriteBackAsync(List<CustomerProfile> profiles, DateTimeOffset asOf, IReadOnlyDictionary<string, string> enrichedSnapshot, CancellationToken cancellationToken)
    {
        var scorers = new List<IProfileScorer>();
        // Enrichers (sentiment) first, so the other kinds score profiles with fresh feedback sentiment.
        foreach (var kind in trainers.Select(t => t.Kind))
        {
            var (scorer, _) = await champions.GetAsync(kind, cancellationToken);
            if (scorer is not null)
            {
                scorers.Add(scorer);
            }
        }
        scorers = [.. scorers.OrderBy(s => s is IProfileEnricher ? 0 : 1)];
        long written = 0;
        await Parallel.ForEachAsync(profiles, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (snapshotProfile, ct) =>
        {
            for (var attempt = 0; attempt < 10; attempt++)
            {
                var stored = await customers.GetAsync(snapshotProfile.Id, ct);
                if (stored is null || stored.Value.MergedInto is not null)
                {
                    return;
                }
                var profile = stored.Value;
                var changed = false;
                foreach (var scorer in scorers)
                {
                    var current = profile.Predictions.TryGetValue(scorer.Kind, out var existing) && existing.ModelVersion == scorer.Version;
                    // Feedback that arrived since the last run has no sentiment yet: score it even when the model is unchanged.
                    var enriched = false;
                    if (scorer is IProfileEnricher enricher)
                    {
                        var snapshotFresh = enrichedSnapshot.TryGetValue(scorer.Kind, out var by) && by == scorer.Version;
                        enriched = snapshotFresh && CopyFeedbackSentiment(snapshotProfile, profile);
                        enriched |= await enricher.EnrichAsync(profile, rescore: !current && !snapshotFresh, ct);
                    }
                    if (current && !enriched)
                    {
                        continue;
                    }
                    profile.Predictions[scorer.Kind] = scorer.Score(profile, asOf);
                    changed = true;
                }
                if (!changed || await customers.TryReplaceAsync(profile, stored.ETag, ct) is not null)
                {
                    if (changed)
                    {
                        Interlocked.Increment(ref written);
                    }
                    return;
                }
            }
        });
        return written;
    }
}
