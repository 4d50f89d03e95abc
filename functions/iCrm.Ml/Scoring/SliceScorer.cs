using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Scoring;

/// <summary>
/// Scores one slice of the store with the current champions and writes the predictions back with partial updates (the
/// profile's <c>predictions</c>, and its <c>feedback</c> when the sentiment model scored new texts), then reports the
/// slice and, when it is the last one, reduces every slice's tallies into the run's summary.
/// <para>
/// Idempotent: a profile whose predictions already carry the champions' versions is not written (so a re-delivered
/// message writes nothing); a slice already reported is not reported again; the summary is written once (create-only)
/// and only the reducer that created it updates the run record. A slice that fails part-way is simply run again: what it
/// wrote is current and skipped.
/// </para>
/// </summary>
public sealed class SliceScorer(
    ICustomerStore customers,
    ChampionModels champions,
    IEnumerable<IModelLoader> loaders,
    IScoringResults results,
    ITrainingRunLog runs,
    TimeProvider time,
    int concurrency = 16)
{
    private const int MaxWriteAttempts = 10;

    public async Task<ScoringTally?> ScoreAsync(ScoreSliceMessage message, CancellationToken cancellationToken = default)
    {
        if (message.Problem() is { } problem)
        {
            throw new ArgumentException($"Malformed score-slices message: {problem}.", nameof(message));
        }
        if (await results.IsSliceDoneAsync(message.RunId, message.Slice, cancellationToken))
        {
            await TryReduceAsync(message.RunId, message.Slices, message.AsOf, cancellationToken); // the earlier delivery may have died before reducing
            return null;
        }
        var scorers = await ScorersAsync(cancellationToken);
        var tally = new ScoringTally();
        var gate = new object();
        await Parallel.ForEachAsync(customers.ReadSliceAsync(message.CustomerSlice, cancellationToken),
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (stored, ct) =>
            {
                var (outcome, predictions) = await ScoreOneAsync(stored, scorers, message.AsOf, ct);
                lock (gate)
                {
                    tally.Customers++;
                    switch (outcome)
                    {
                        case Outcome.Written: tally.Written++; break;
                        case Outcome.Current: tally.AlreadyCurrent++; break;
                        default: tally.Skipped++; break;
                    }
                    if (predictions is not null)
                    {
                        tally.Add(predictions);
                    }
                }
            });
        await results.TryWriteSliceAsync(message.RunId, message.Slice, tally, cancellationToken);
        await TryReduceAsync(message.RunId, message.Slices, message.AsOf, cancellationToken);
        return tally;
    }

    private enum Outcome { Written, Current, Skipped }

    private async Task<(Outcome, IReadOnlyDictionary<string, Prediction>?)> ScoreOneAsync(Versioned<CustomerProfile> stored, IReadOnlyList<IProfileScorer> scorers,
        DateTimeOffset asOf, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxWriteAttempts; attempt++)
        {
            if (attempt > 0)
            {
                // Changed meanwhile (an ingestion wrote it): score what is there now.
                if (await customers.GetAsync(stored.Value.Id, cancellationToken) is not { } fresh || fresh.Value.MergedInto is not null)
                {
                    return (Outcome.Skipped, null);
                }
                stored = fresh;
            }
            var profile = stored.Value;
            if (TrainingSnapshot.Excludes(profile))
            {
                return (Outcome.Skipped, null); // profiling consent withdrawn: no predictions (the withdrawal cleared them)
            }
            var changed = false;
            var feedbackChanged = false;
            foreach (var scorer in scorers)
            {
                var current = profile.Predictions.TryGetValue(scorer.Kind, out var existing) && existing.ModelVersion == scorer.Version;
                var enriched = false;
                if (scorer is IProfileEnricher enricher)
                {
                    // Feedback that arrived since the last run has no sentiment yet: score it even when the model is unchanged.
                    enriched = await enricher.EnrichAsync(profile, rescore: !current, cancellationToken);
                    feedbackChanged |= enriched;
                }
                if (current && !enriched)
                {
                    continue;
                }
                profile.Predictions[scorer.Kind] = scorer.Score(profile, asOf);
                changed = true;
            }
            if (!changed)
            {
                return (Outcome.Current, profile.Predictions);
            }
            if (await customers.TryWritePredictionsAsync(profile.Id, stored.ETag, profile.Predictions, feedbackChanged ? profile.Feedback : null, cancellationToken) is not null)
            {
                return (Outcome.Written, profile.Predictions);
            }
        }
        return (Outcome.Skipped, null);
    }

    /// <summary>The champions in scoring order: enrichers (sentiment) first, so the others read fresh feedback sentiment.</summary>
    private async Task<IReadOnlyList<IProfileScorer>> ScorersAsync(CancellationToken cancellationToken)
    {
        var scorers = new List<IProfileScorer>();
        foreach (var kind in loaders.Select(l => l.Kind).Distinct())
        {
            var (scorer, _) = await champions.GetAsync(kind, cancellationToken);
            if (scorer is not null)
            {
                scorers.Add(scorer);
            }
        }
        return [.. scorers.OrderBy(s => s is IProfileEnricher ? 0 : 1)];
    }

    /// <summary>When every slice has reported: sums them into the summary (create-only, so one reducer wins) and puts the
    /// totals on the run record.</summary>
    private async Task TryReduceAsync(string runId, int slices, DateTimeOffset asOf, CancellationToken cancellationToken)
    {
        if (await results.CountSlicesAsync(runId, cancellationToken) < slices)
        {
            return;
        }
        var all = await results.ReadSlicesAsync(runId, cancellationToken);
        var totals = new ScoringTally();
        foreach (var slice in all.Where(s => s.Key < slices).OrderBy(s => s.Key))
        {
            totals.Add(slice.Value);
        }
        var summary = new ScoringSummary(runId, slices, time.GetUtcNow(), totals, asOf);
        if (!await results.TryWriteSummaryAsync(summary, cancellationToken))
        {
            summary = await results.GetSummaryAsync(runId, cancellationToken) ?? summary;
        }
        // Idempotent too (a summary never replaces itself by a newer copy of the same run: same cutoff, same completion).
        await results.PublishLatestAsync(summary, cancellationToken);
        // Updating the record is idempotent (same figures), so a reducer that died before it is completed by a re-delivery.
        if (await runs.GetAsync(runId, cancellationToken) is { } run && run.Scoring is { CompletedAt: null } progress)
        {
            progress.SlicesDone = slices;
            progress.Customers = summary.Totals.Customers;
            progress.PredictionsWritten = summary.Totals.Written;
            progress.CompletedAt = summary.CompletedAt;
            progress.Summary = $"models/runs/{runId}/summary.json";
            run.PredictionsWritten = summary.Totals.Written;
            if (run.Status == TrainingRunStatus.Running)
            {
                run.Complete(summary.CompletedAt);
            }
            await runs.SaveAsync(run, cancellationToken);
        }
    }

    /// <summary>
    /// Called when a slice failed its last attempt (the queue moves it to <c>score-slices-poison</c>): the run ends as
    /// failed and says which slice and why, instead of staying at "write-back" for ever. Its other slices still write
    /// their predictions; the next run's write-back completes the rest.
    /// </summary>
    public async Task AbandonAsync(ScoreSliceMessage message, string error, CancellationToken cancellationToken = default)
    {
        if (await runs.GetAsync(message.RunId, cancellationToken) is not { } run || run.Scoring is not { CompletedAt: null } progress)
        {
            return;
        }
        progress.SlicesDone = Math.Min(progress.Slices, await results.CountSlicesAsync(message.RunId, cancellationToken));
        var failed = $"write-back: slice {message.Slice} of {message.Slices} failed after every attempt ({error})";
        run.Error = string.IsNullOrEmpty(run.Error) ? failed : $"{run.Error}; {failed}";
        run.Status = TrainingRunStatus.Failed;
        run.Stage = null;
        run.CompletedAt ??= time.GetUtcNow();
        await runs.SaveAsync(run, cancellationToken);
    }
}
