using System.Diagnostics;
using iCrm.Core.Diagnostics;
using iCrm.Core.Drops;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Core.Ingestion;

/// <summary>Thrown when a drop named by an event is not (or no longer) in the drops container.</summary>
public sealed class DropNotFoundException(string path) : Exception($"Drop '{path}' was not found in the drops container.");

/// <summary>Thrown when a drop's archive proves cut or corrupt: the file was not read whole.</summary>
public sealed class DropArchiveException(ArchiveProblem problem) : Exception($"{problem.Reason}: {problem.Message}")
{
    public ArchiveProblem Problem => problem;
}

/// <summary>Thrown when a drop can never be ingested as it is (e.g. a header naming a column twice): not retried.</summary>
public sealed class DropRejectedException(string reason, string message) : Exception($"{reason}: {message}")
{
    public string Reason => reason;
}

/// <summary>What the audit entries ingestion writes say: actor <c>ingest</c> in role <c>system</c>; a profile a drop created
/// (<c>create</c>) or changed (<c>change</c>), and merges (<c>merge</c>).</summary>
public static class IngestAuditActions
{
    public const string Create = "create";
    public const string Change = "change";
    public const string Merge = "merge";
    public const string Actor = "ingest";
    public const string Role = "system";
}

/// <summary>
/// Turns one drop into profile updates: stream, validate, resolve identities, merge into profiles chunk by chunk,
/// quarantine bad rows, and keep an exact report. Re-delivery of a completed drop changes nothing; a re-run after a
/// crash replays the same fixed-size chunks and skips those already applied, ending with the same profiles and counts.
/// </summary>
public sealed class IngestionPipeline(
    IDropSource drops,
    IIdentityResolver resolver,
    ICustomerStore customers,
    IIdentityStore identities,
    IIngestionLedger ledger,
    IQuarantine quarantine,
    IAuditLog audit,
    ProfileHistory history,
    IngestionOptions options,
    TimeProvider time)
{
    public async Task<IngestionReport> IngestAsync(string blobPath, CancellationToken cancellationToken = default)
    {
        using var activity = IngestionTelemetry.StartDrop(blobPath);
        var blob = await drops.GetAsync(blobPath, cancellationToken) ?? throw new DropNotFoundException(blobPath);
        var dropId = DropId.Compute(blob.Container, blob.Path, blob.ETag);
        var previous = await ledger.GetAsync(dropId, cancellationToken);
        if (previous?.Value.Status is IngestionStatus.Completed or IngestionStatus.Rejected)
        {
            return previous.Value;
        }

        var started = time.GetTimestamp();
        var report = new IngestionReport
        {
            Id = dropId,
            BlobPath = $"{blob.Container}/{blob.Path}",
            ETag = blob.ETag,
            Attempts = (previous?.Value.Attempts ?? 0) + 1,
            Status = IngestionStatus.Running,
            StartedAt = time.GetUtcNow(),
        };
        report.FirstStartedAt = previous?.Value.FirstStartedAt ?? previous?.Value.StartedAt ?? report.StartedAt;

        if (!DropPath.TryParse(blob.Path, out var path, out var pathError))
        {
            // A drop iCrm cannot read never becomes readable by retrying: report it and stop.
            report.Status = IngestionStatus.Rejected;
            report.Error = pathError;
            return await FinishAsync(report, started, cancellationToken);
        }
        report.Source = path.Source;
        report.Entity = DropPath.EntityFolder(path.Entity);
        report.Plan = DropPlan.ForAttempt(previous?.Value, options, path.Source);

        try
        {
            await ledger.UpsertAsync(report, cancellationToken);
            report.RejectedPath = await quarantine.BeginAsync(dropId, cancellationToken);
            var validator = new RowValidator(path, report.Plan.Reading.ToValidation(new PinnedTime(report.FirstStartedAt.Value)));
            await using (var content = await drops.OpenReadAsync(blob, cancellationToken))
            using (var reader = new DropReader(content, path, report.Plan.Reading.ToReadOptions() with { ReuseBuffersBetweenBatches = true }))
            {
                await ReadAndApplyAsync(report, path, blob, validator, reader, cancellationToken);
                if (reader.MissingColumns.Count > 0)
                {
                    report.MissingColumns = [.. reader.MissingColumns.Select(DropSchema.NameOf)];
                }
            }
            if (!report.IsBalanced)
            {
                throw new InvalidOperationException(
                    $"Accounting does not balance: read {report.RowsRead} != accepted {report.RowsAccepted} + rejected {report.RowsRejected} + duplicates {report.DuplicatesSkipped}.");
            }
            report.Status = IngestionStatus.Completed;
        }
        catch (DropRejectedException e)
        {
            report.Status = IngestionStatus.Rejected;
            report.FailureReason = e.Reason;
            report.Error = e.Message;
        }
        catch (DropArchiveException e)
        {
            // The bytes themselves are broken: the same bytes fail the same way, so this is reported, not retried.
            report.Status = IngestionStatus.Failed;
            report.FailureReason = e.Problem.Reason;
            report.RowsNotApplied = report.RowsRead - report.RowsAccepted - report.RowsRejected - report.DuplicatesSkipped;
            report.Error = $"{e.Problem.Reason}: {e.Problem.Message} Read {report.RowsRead:N0} rows before the break; "
                + $"{report.RowsAccepted:N0} were applied to profiles ({report.DuplicatesSkipped:N0} duplicates skipped, "
                + $"{report.RowsRejected:N0} rejected, {report.RowsNotApplied:N0} not applied). Upload the complete file again: "
                + "rows already applied are recognised by their natural keys and skipped.";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            report.Status = IngestionStatus.Failed;
            report.Error = $"{e.GetType().Name}: {e.Message}";
            await FinishAsync(report, started, CancellationToken.None);
            throw;
        }
        return await FinishAsync(report, started, cancellationToken);
    }

    /// <summary>Buckets for a drop that looked small by its size but has to spill.</summary>
    private const int OverflowBuckets = 64;

    /// <summary>How an activity drop's rows reach their chunks (customer drops are always <see cref="Grouping.None"/>).</summary>
    private enum Grouping
    {
        /// <summary>Chunks of rows in file order: customer drops, whose identity resolution depends on that order.</summary>
        None,

        /// <summary>The first rows are held until it is clear whether the export is sorted by customer already.</summary>
        Probe,

        /// <summary>Sorted by customer: each chunk-sized window is applied as it is read (holding rows longer gains nothing).</summary>
        Sorted,

        /// <summary>Rows are held and grouped in memory, as long as the drop is small.</summary>
        Memory,

        /// <summary>Rows are spilled to customer buckets on disk and grouped one bucket at a time once the drop is read.</summary>
        Spill,
    }

    /// <summary>
    /// Reads and validates the drop in batches of a chunk's size and applies the accepted rows. Activity rows (orders,
    /// events, feedback, subscriptions) are grouped by customer across the whole drop, so a customer whose rows are spread
    /// over the file is loaded and written once (<see cref="ChunkPlanner"/>, <see cref="CustomerSpill"/>): a small drop in
    /// memory, a large one through buckets on disk, an export already sorted by customer a chunk at a time. Every switch
    /// depends only on the drop's rows and size, so a re-run replays exactly the same chunks.
    /// </summary>
    private async Task ReadAndApplyAsync(IngestionReport report, DropPath path, DropBlob blob, RowValidator validator, DropReader reader,
        CancellationToken cancellationToken)
    {
        var plan = report.Plan!;
        var chunkSize = plan.ChunkSize;
        var grouping = path.Entity == DropEntity.Customers || !plan.GroupByCustomer ? Grouping.None : Grouping.Probe;
        var inMemoryRows = Math.Max(plan.GroupInMemoryRows, chunkSize);
        var probeRows = Math.Min(10 * chunkSize, inMemoryRows);
        var buckets = CustomerSpill.BucketsFor(blob.Length, path.Compression, plan.SpillBucketBytes); // 1: small enough to hold
        var planner = new ChunkPlanner(chunkSize, groupByCustomer: grouping != Grouping.None);
        SortedByCustomerCheck? sorted = new();
        var carried = new List<DropRecord>();
        var cache = new DropResolutionCache();
        var batch = new List<RawRow>(chunkSize);
        var window = new List<DropRecord>(chunkSize);
        var rowsInWindow = 0; // rows read, accepted or not: windows end at fixed row counts
        CustomerSpill? spill = null;
        var first = true;
        try
        {
            while (true)
            {
                int got;
                using (var read = IngestionTelemetry.StartPhase(IngestionTelemetry.Read, 0))
                {
                    got = await reader.ReadBatchAsync(batch, chunkSize, cancellationToken);
                    read?.SetTag("icrm.rows", got);
                }
                if (got == 0)
                {
                    break;
                }
                if (first)
                {
                    first = false;
                    CheckHeader(report, reader, plan.Reading.DuplicateRule);
                }
                using (IngestionTelemetry.StartPhase(IngestionTelemetry.Validate, batch.Count))
                {
                    await AccountAsync(report, validator, batch, window, grouping == Grouping.Spill ? spill : null, cancellationToken);
                }
                rowsInWindow += batch.Count;
                batch.Clear();
                var windowRows = grouping switch { Grouping.Probe => probeRows, Grouping.Memory => inMemoryRows, _ => chunkSize };
                if (grouping != Grouping.Spill && rowsInWindow < windowRows)
                {
                    continue;
                }
                switch (grouping)
                {
                    case Grouping.None:
                        await ApplyAsync(report, planner.Plan(window), cache, cancellationToken);
                        break;
                    case Grouping.Probe or Grouping.Sorted:
                        if (sorted!.StillSorted(window))
                        {
                            grouping = Grouping.Sorted;
                            await ApplySortedAsync(report, planner, window, carried, inMemoryRows, cache, cancellationToken);
                            rowsInWindow = window.Count; // the last customer's rows, which may go on in the next window
                            continue;
                        }
                        else if (grouping == Grouping.Probe && buckets == 1 && rowsInWindow < inMemoryRows)
                        {
                            grouping = Grouping.Memory; // a small drop: hold its rows
                            continue;
                        }
                        else
                        {
                            grouping = Grouping.Spill;
                        }
                        break;
                    case Grouping.Memory:
                        grouping = Grouping.Spill;
                        break;
                }
                if (grouping == Grouping.Spill)
                {
                    sorted = null; // up to a million customer hashes, not needed any more
                    // A drop whose size promised one bucket yet holds more rows than memory may (short rows, gzip that
                    // packs tighter than assumed) spills over enough buckets that each is read back whole.
                    spill ??= new CustomerSpill(options.SpillDirectory ?? Path.GetTempPath(), buckets == 1 ? OverflowBuckets : buckets);
                    foreach (var record in window)
                    {
                        spill.Add(record);
                    }
                }
                window.Clear();
                rowsInWindow = 0;
            }
            report.InvalidTextSequences = reader.InvalidSequences;
            if (reader.ArchiveProblem is { } broken)
            {
                // A file not read whole is never applied to the end: what earlier chunks applied stays (a re-upload skips it
                // as duplicates), the rows still held for their chunk are not applied.
                throw new DropArchiveException(broken);
            }
            report.Grouping = grouping switch
            {
                Grouping.None => "file-order",
                Grouping.Sorted => "sorted",
                Grouping.Spill => "spill",
                _ => "memory",
            };
            if (spill is null)
            {
                await ApplyAsync(report, planner.Plan(window), cache, cancellationToken);
                return;
            }
            spill.Complete();
            report.SpillBuckets = spill.BucketCount;
            for (var bucket = 0; bucket < spill.BucketCount; bucket++)
            {
                cache.SourceKeys.Clear(); // a customer's rows are all in one bucket: the hashes of earlier ones are not needed again
                foreach (var records in spill.ReadBucket(bucket, inMemoryRows))
                {
                    var chunks = planner.Plan(records);
                    records.Clear(); // the plan holds them now, and releases each chunk's records once it is applied
                    await ApplyAsync(report, chunks, cache, cancellationToken);
                }
            }
        }
        finally
        {
            spill?.Dispose();
        }
    }

    /// <summary>A header that names a column twice: listed in the report, and the drop rejected unless a setting picks the winner.</summary>
    private static void CheckHeader(IngestionReport report, DropReader reader, DuplicateColumns rule)
    {
        if (reader.DuplicateHeaders.Count == 0)
        {
            return;
        }
        report.DuplicateHeaders = [.. reader.DuplicateHeaders];
        if (rule == DuplicateColumns.Reject)
        {
            throw new DropRejectedException(RejectionReasons.AmbiguousHeader,
                $"The header names a column twice ({string.Join(", ", report.DuplicateHeaders.Select(h => $"'{h}'"))}), so which value is meant "
                + $"cannot be known. Send the file with one column each, or set Ingestion__Sources__{report.Source}__DuplicateColumns to first or last.");
        }
    }

    private async Task<IngestionReport> FinishAsync(IngestionReport report, long started, CancellationToken cancellationToken)
    {
        report.CompletedAt = time.GetUtcNow();
        report.DurationSeconds = Math.Round(time.GetElapsedTime(started).TotalSeconds, 3);
        report.ReportPath = $"quarantine/{report.Id}/report.json";
        IngestionTelemetry.Record(report);
        await quarantine.WriteReportAsync(report, cancellationToken);
        await ledger.UpsertAsync(report, cancellationToken);
        return report;
    }

    /// <summary>
    /// Validates a batch: counts every row, quarantines the rejected ones (in file order), and adds the accepted ones to the
    /// window, or once the drop spills, straight to the spill (order lines without becoming records first).
    /// </summary>
    private async Task AccountAsync(IngestionReport report, RowValidator validator, List<RawRow> batch, List<DropRecord> window,
        CustomerSpill? spill, CancellationToken cancellationToken)
    {
        List<RowRejection>? rejections = null;
        report.RowsRead += batch.Count;
        var ordersToSpill = spill is not null && validator.Entity == DropEntity.Orders;
        foreach (var raw in batch)
        {
            OrderValues order = default;
            var row = ordersToSpill ? validator.ValidateOrder(raw, out order) : validator.Validate(raw);
            if (row.Rejection is { } rejection)
            {
                (rejections ??= []).Add(rejection);
                report.RowsRejected++;
                Increment(report.RejectedByReason, rejection.Reason);
                continue;
            }
            if (row.Warnings is { Count: > 0 } warnings)
            {
                report.RowsFlagged++;
                foreach (var warning in warnings)
                {
                    Increment(report.FlaggedByReason, warning.Reason);
                    if (report.Warnings.Count < IngestionReport.MaxListedWarnings)
                    {
                        report.Warnings.Add(new ReportedWarning(raw.Line, warning.Field, warning.Reason));
                    }
                }
            }
            if (ordersToSpill)
            {
                spill!.AddOrder(order);
            }
            else if (spill is not null)
            {
                spill.Add(row.Record!);
            }
            else
            {
                window.Add(row.Record!);
            }
        }
        if (rejections is not null)
        {
            await quarantine.AppendRejectedAsync(report.Id, rejections, cancellationToken);
        }
    }

    /// <summary>
    /// Applies a window of an export sorted by customer, except its last customer's rows, which may go on in the next
    /// window: chunks end between customers, as the planner's do, so a customer with very many rows (a till's "walk-in"
    /// id) makes one chunk per <paramref name="maxRows"/> rows rather than one per chunk size, and never outgrows the chunk
    /// markers its profile keeps. The window keeps the rows not applied.
    /// </summary>
    private async Task ApplySortedAsync(IngestionReport report, ChunkPlanner planner, List<DropRecord> window, List<DropRecord> carried,
        int maxRows, DropResolutionCache cache, CancellationToken cancellationToken)
    {
        if (window.Count == 0)
        {
            return;
        }
        var last = window[^1];
        var from = window.Count;
        while (from > 0 && IsSameCustomer(window[from - 1], last))
        {
            from--;
        }
        if (from == 0)
        {
            if (window.Count < maxRows)
            {
                return; // one customer so far: read on
            }
            from = window.Count; // one customer filling the memory allowed: cut here
        }
        for (var i = from; i < window.Count; i++)
        {
            carried.Add(window[i]);
        }
        window.RemoveRange(from, window.Count - from);
        var chunks = planner.Plan(window);
        window.Clear();
        await ApplyAsync(report, chunks, cache, cancellationToken);
        window.AddRange(carried);
        carried.Clear();
    }

    private static bool IsSameCustomer(DropRecord a, DropRecord b) => a.SourceCustomerId == b.SourceCustomerId && a.Source == b.Source;

    private async Task ApplyAsync(IngestionReport report, IReadOnlyList<ArraySegment<DropRecord>> chunks, DropResolutionCache cache,
        CancellationToken cancellationToken)
    {
        if (chunks.Count > 0 && report.Plan is { Applied: false } plan)
        {
            // From the first chunk on, every attempt must read and cut the drop this way: keep the plan before applying.
            report.Plan = plan with { Applied = true };
            await ledger.UpsertAsync(report, cancellationToken);
        }
        foreach (var chunk in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested(); // the host is stopping: the next attempt picks up from the markers
            cache.StartChunk();
            await ProcessChunkAsync(report, report.Chunks++, chunk, cache, cancellationToken);
            chunk.AsSpan().Clear(); // the chunk's records are done with: let them go before the window's other chunks are applied
        }
    }

    private async Task ProcessChunkAsync(IngestionReport report, int chunkIndex, ArraySegment<DropRecord> records, DropResolutionCache cache,
        CancellationToken cancellationToken)
    {
        var marker = $"{report.Id}#{chunkIndex}";
        var now = time.GetUtcNow();
        ChunkWorkingSet working;
        List<RowRejection>? erased;
        // These two spans are ended explicitly, not by using, to keep the per-row loop out of a try/finally (the method
        // stays as it was without telemetry). A chunk that throws leaves its span unexported; the drop's span reports it.
        var resolve = IngestionTelemetry.StartPhase(IngestionTelemetry.Resolve, records.Count, chunkIndex);
        for (var deferred = options.DeferIdentityWrites; ; deferred = false)
        {
            working = new ChunkWorkingSet(customers, history, cache, marker, now);
            cache.Pending = deferred ? new PendingIdentityWrites() : null;
            DropRecord? previous = null;
            Resolution? previousResolution = null;
            ChunkWorkingSet.Entry? previousEntry = null;
            erased = null;
            await resolver.PrepareChunkAsync(records, working, cancellationToken);
            for (var i = 0; i < records.Count; i++)
            {
                var record = records[i];
                if (previousEntry is not null && record is not CustomerRecord && IsSameCustomer(previous!, record))
                {
                    // The next row of the same customer (chunks hold each customer's rows together): same resolution, same profile.
                    ChunkWorkingSet.Add(previousEntry, previousResolution!, record);
                    continue;
                }
                var resolution = await resolver.ResolveAsync(record, working, cancellationToken);
                if (resolution.ErasedSubject)
                {
                    // The raw text is not kept: it is the erased person's data.
                    (erased ??= []).Add(new RowRejection(record.Line, null, RejectionReasons.ErasedSubject,
                        "The row names a customer who was erased; it was not applied.", ""));
                    (previous, previousResolution, previousEntry) = (null, null, null);
                    continue;
                }
                if (resolution.MergeFrom.Count > 0)
                {
                    foreach (var otherId in resolution.MergeFrom)
                    {
                        await working.MergeAsync(resolution.CustomerId, otherId,
                            resolution.Explanations.FirstOrDefault(e => e.OtherId == otherId) ?? new MergeExplanation(otherId, now, "SharedKey", null, []),
                            cancellationToken);
                    }
                }
                var entry = await working.AddAsync(resolution, record, cancellationToken);
                // Only an activity row resolved without merges is cached as is for its source id (see CustomerResolver).
                var reusable = record is not CustomerRecord && resolution.MergeFrom.Count == 0 && resolution.Explanations.Count == 0;
                if (reusable)
                {
                    // Room for the customer's run of rows at once (the planner put them together), not doubling as they come.
                    var run = 1;
                    while (i + run < records.Count && records[i + run] is not CustomerRecord && IsSameCustomer(record, records[i + run]))
                    {
                        run++;
                    }
                    entry.Records.EnsureCapacity(entry.Records.Count + run - 1);
                }
                (previous, previousResolution, previousEntry) = reusable ? (record, resolution, entry) : (null, null, null);
            }
            await working.CompleteInterruptedMergesAsync(cancellationToken);
            // The chunk's key claims, blocking candidates and reviews, written together before its profiles. A claim lost to
            // another writer (another drop claimed a key first) invalidates what the rows decided: resolve the chunk again,
            // writing row by row. The keys it did claim are then found owned, as by a re-run after a crash.
            if (await resolver.FlushChunkAsync(working, cancellationToken))
            {
                break;
            }
            cache.StartChunk();
        }
        cache.Pending = null;
        resolve?.Dispose();
        if (erased is not null)
        {
            report.RowsRejected += erased.Count;
            report.RejectedByReason[RejectionReasons.ErasedSubject] = report.RejectedByReason.GetValueOrDefault(RejectionReasons.ErasedSubject) + erased.Count;
            await quarantine.AppendRejectedAsync(report.Id, erased, cancellationToken);
        }

        var write = IngestionTelemetry.StartPhase(IngestionTelemetry.Write, records.Count, chunkIndex);
        var entries = working.Entries.Values.ToList();
        var survivors = new List<ChunkWorkingSet.Entry>();
        var mergedAway = new List<ChunkWorkingSet.Entry>();
        var rest = new List<ChunkWorkingSet.Entry>(entries.Count);
        foreach (var entry in entries)
        {
            working.ApplyPending(entry);
            ChunkWorkingSet.FlagLargeCluster(entry, history.Options.LargeClusterSize);
            var survivor = entry.Absorbed.Count > 0;
            var merged = entry.Profile.MergedInto is not null && entry.Dirty;
            if (survivor)
            {
                survivors.Add(entry);
            }
            if (merged)
            {
                mergedAway.Add(entry); // a survivor merged away later in the chunk is in both: written, repointed, written again
            }
            if (!survivor && !merged)
            {
                rest.Add(entry);
            }
        }
        // Merge order: survivor (with the union and mergedFrom), then repoint keys, then mark the other.
        await WriteAllAsync(survivors, working, marker, now, cancellationToken);
        foreach (var other in mergedAway)
        {
            foreach (var key in other.Profile.MatchKeys.Where(k => !k.StartsWith("bk:", StringComparison.Ordinal)))
            {
                await identities.RepointAsync(key, KeyKind(key), other.Profile.MergedInto!, cancellationToken);
            }
            await TombstoneAsync(other, now, cancellationToken);
        }
        await WriteAllAsync(mergedAway, working, marker, now, cancellationToken);
        await WriteAllAsync(rest, working, marker, now, cancellationToken);
        var audits = new List<(AuditEntry Entry, bool FirstWins)>(entries.Count); // about one entry per profile
        var auditId = IngestAuditId(report.Id); // one id string for the chunk's entries, not one per profile
        foreach (var entry in entries)
        {
            // This chunk's merges: those made now, and those an earlier attempt completed (the survivor's marker lists them).
            foreach (var (otherId, explanation) in entry.Absorbed)
            {
                report.CustomersMerged++;
                AddMergeAudit(audits, entry.Profile.Id, otherId, explanation.Rule, now);
            }
            if (entry.AlreadyApplied)
            {
                foreach (var otherId in entry.AbsorbedBefore)
                {
                    if (!entry.Absorbed.Any(a => a.OtherId == otherId))
                    {
                        report.CustomersMerged++;
                        var rule = entry.Profile.MergeExplanations.LastOrDefault(e => e.OtherId == otherId)?.Rule ?? "SharedKey";
                        AddMergeAudit(audits, entry.Profile.Id, otherId, rule, now);
                    }
                }
            }
            if (ChangeEntry(report, auditId, entry, chunkIndex, now) is { } change)
            {
                audits.Add((change, true));
            }
        }
        await WriteAuditAsync(audits, cancellationToken);

        report.StoreWrites += entries.Count(e => e.Written);
        List<RowRejection>? tooLarge = null;
        foreach (var entry in entries)
        {
            // A re-run of a chunk applied before reports the rows its marker says were rejected: all of the entry's rows
            // when the counts say so (the usual case: the same rows resolve to the same profile again).
            var rejected = entry.TooLarge
                ?? (entry is { AlreadyApplied: true, RejectedBefore: > 0 } ? RejectedAgain(entry) : null);
            foreach (var record in rejected ?? [])
            {
                (tooLarge ??= []).Add(new RowRejection(record.Line, null, RejectionReasons.ProfileTooLarge,
                    $"Applying the row would grow its profile past the size budget of {history.Options.MaxProfileBytes:N0} bytes, even with its oldest history folded.", ""));
            }
        }
        foreach (var entry in entries)
        {
            if (entry is { TooLarge: not null, Written: false, ETag: null })
            {
                await ReleaseClaimsAsync(entry, cancellationToken);
            }
        }
        if (tooLarge is not null)
        {
            tooLarge.Sort((a, b) => a.Line.CompareTo(b.Line));
            report.RowsRejected += tooLarge.Count;
            report.RejectedByReason[RejectionReasons.ProfileTooLarge] = report.RejectedByReason.GetValueOrDefault(RejectionReasons.ProfileTooLarge) + tooLarge.Count;
            await quarantine.AppendRejectedAsync(report.Id, tooLarge, cancellationToken);
        }
        foreach (var entry in entries)
        {
            if (!entry.Written && !entry.AlreadyApplied)
            {
                continue; // only looked at, e.g. a fuzzy-match candidate that did not match
            }
            report.RowsAccepted += entry.Accepted;
            report.DuplicatesSkipped += entry.Duplicates;
            CountCustomers(report, entry, marker, chunkIndex);
            if (entry.Profile is { LargeCluster: true, MergedInto: null } large)
            {
                report.FlagLargeCluster(large.Id);
            }
        }
        write?.Dispose();
    }

    /// <summary>
    /// A new profile rejected as <c>profile_too_large</c> was never written: the keys its rows claimed are released, so they
    /// do not point at a profile that does not exist and the person's next row resolves afresh (the drop's cache of key
    /// owners is cleared before every chunk). Blocking-key candidate lists may still name it; candidates without a profile
    /// are skipped. A crash before the release leaves the claims, and the re-run, rejecting the rows again, releases them.
    /// </summary>
    private async Task ReleaseClaimsAsync(ChunkWorkingSet.Entry entry, CancellationToken cancellationToken)
    {
        var customerId = entry.Profile.Id;
        foreach (var resolution in entry.Filed)
        {
            foreach (var key in resolution.MatchKeys)
            {
                if (!key.StartsWith("bk:", StringComparison.Ordinal))
                {
                    await identities.ReleaseAsync(key, customerId, cancellationToken);
                }
            }
        }
    }

    /// <summary>
    /// The records of a re-run entry that an earlier attempt rejected as <c>profile_too_large</c>. That attempt rejected all
    /// of the profile's rows in the chunk; if the profile since absorbed another whose rows of the chunk were accepted, the
    /// markers hold only counts, so the last rows stand in for the rejected ones (the counts, which must balance, are exact).
    /// </summary>
    private static List<DropRecord> RejectedAgain(ChunkWorkingSet.Entry entry)
    {
        var count = Math.Min(entry.RejectedBefore, entry.Records.Count);
        return entry.Records.GetRange(entry.Records.Count - count, count);
    }

    /// <summary>
    /// Counts the customers this chunk created or updated through this entry: the profile itself and, on a re-run, the
    /// profiles merged into it since whose markers it carries (a clean run counted each of them in this chunk).
    /// </summary>
    private static void CountCustomers(IngestionReport report, ChunkWorkingSet.Entry entry, string marker, int chunkIndex)
    {
        var profile = entry.Profile;
        if (!entry.AlreadyApplied)
        {
            report.CustomersMerged += entry.Linked;
            if (entry.CreatedByChunk)
            {
                report.CustomersCreated++;
            }
            else if (profile.MergedInto is null && !TouchedEarlierInDrop(profile, report.Id, chunkIndex, from: null))
            {
                report.CustomersUpdated++;
            }
            return;
        }
        CountReplayedCustomers(report, profile, marker, chunkIndex);
    }

    /// <summary>A re-run of a chunk applied before counts what its markers say (apart from <see cref="CountCustomers"/>,
    /// which runs for every profile: the lambda's closure here would be allocated on each call).</summary>
    private static void CountReplayedCustomers(IngestionReport report, CustomerProfile profile, string marker, int chunkIndex)
    {
        foreach (var chunk in profile.AppliedChunks.Where(c => c.Marker == marker).ToList())
        {
            report.CustomersMerged += chunk.Linked;
            if (chunk.Created)
            {
                report.CustomersCreated++;
            }
            else if ((chunk.From is not null || profile.MergedInto is null) && !TouchedEarlierInDrop(profile, report.Id, chunkIndex, chunk.From))
            {
                report.CustomersUpdated++;
            }
        }
    }

    /// <summary>Whether an earlier chunk of this drop (a lower chunk number: a re-run may find later ones too) already
    /// counted the profile (or the merged-in profile <paramref name="from"/>) as created or updated.</summary>
    private static bool TouchedEarlierInDrop(CustomerProfile profile, string dropId, int chunkIndex, string? from)
    {
        var chunks = profile.AppliedChunks;
        for (var i = chunks.Count - 1; i >= 0; i--)
        {
            var other = chunks[i].Marker;
            if (chunks[i].From == from && other.Length > dropId.Length + 1 && other[dropId.Length] == '#' && other.StartsWith(dropId, StringComparison.Ordinal)
                && int.TryParse(other.AsSpan(dropId.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
                && index < chunkIndex)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The audit entry of a profile this chunk created or changed: one per drop and profile (id <c>ingest-{dropId}</c> in
    /// the customer's partition, written first-wins, so a re-run or a later chunk of the same drop adds none), action
    /// <c>create</c> or <c>change</c>, the drop's entity as the reason and the drop id as the related id. Never values from
    /// the rows. None for a profile whose rows were all duplicates (or rejected), for one only looked at, and for one merged
    /// away (its merge has its own entry, in the survivor's partition).
    /// </summary>
    private static AuditEntry? ChangeEntry(IngestionReport report, string auditId, ChunkWorkingSet.Entry entry, int chunkIndex, DateTimeOffset now)
    {
        var profile = entry.Profile;
        if (profile.MergedInto is not null || !(entry.Written || entry.AlreadyApplied) || !(entry.CreatedByChunk || entry.Accepted > 0)
            || ChangedEarlierInDrop(profile, report.Id, chunkIndex))
        {
            return null;
        }
        return new AuditEntry(auditId, profile.Id, entry.CreatedByChunk ? IngestAuditActions.Create : IngestAuditActions.Change,
            IngestAuditActions.Actor, now, report.Entity, report.Id, IngestAuditActions.Role);
    }

    /// <summary>The id of a drop's audit entry in the partition of each profile it created or changed.</summary>
    public static string IngestAuditId(string dropId) => $"ingest-{dropId}";

    /// <summary>Whether an earlier chunk of this drop (a lower chunk number) created or changed the profile itself: that
    /// chunk wrote (or, on a re-run, rewrote) the drop's entry for it already.</summary>
    private static bool ChangedEarlierInDrop(CustomerProfile profile, string dropId, int chunkIndex)
    {
        var chunks = profile.AppliedChunks;
        for (var i = chunks.Count - 1; i >= 0; i--)
        {
            var chunk = chunks[i];
            var other = chunk.Marker;
            if (chunk.From is null && (chunk.Accepted > 0 || chunk.Created)
                && other.Length > dropId.Length + 1 && other[dropId.Length] == '#' && other.StartsWith(dropId, StringComparison.Ordinal)
                && int.TryParse(other.AsSpan(dropId.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
                && index < chunkIndex)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A merge is recorded on both sides: in the survivor's entries (<c>relatedId</c> the merged-away id) and in the
    /// merged-away profile's (<c>relatedId</c> the survivor), so the audit trail of either id says where the person went.</summary>
    private static void AddMergeAudit(List<(AuditEntry Entry, bool FirstWins)> audits, string survivorId, string otherId, string rule, DateTimeOffset now)
    {
        audits.Add((new AuditEntry($"merge-{otherId}", survivorId, IngestAuditActions.Merge, IngestAuditActions.Actor, now, rule, otherId,
            IngestAuditActions.Role), false));
        audits.Add((new AuditEntry($"merged-into-{survivorId}", otherId, IngestAuditActions.Merge, IngestAuditActions.Actor, now, rule, survivorId,
            IngestAuditActions.Role), false));
    }

    /// <summary>Writes a chunk's audit entries after its profile writes, concurrently (as the profiles are written): one round
    /// trip per chunk's worth of writes in flight, not one per row. A failure fails the chunk, and the re-run writes them again.</summary>
    private async Task WriteAuditAsync(List<(AuditEntry Entry, bool FirstWins)> audits, CancellationToken cancellationToken)
    {
        // The log's own tasks, not an async method around them: no state machine per entry.
        await BoundedConcurrency.ForEachAsync(audits, options.WriteConcurrency, cancellationToken,
            (a, ct) => a.FirstWins ? new ValueTask(audit.TryCreateAsync(a.Entry, ct)) : new ValueTask(audit.WriteAsync(a.Entry, ct)));
    }

    private async Task WriteAllAsync(List<ChunkWorkingSet.Entry> entries, ChunkWorkingSet working, string marker, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await BoundedConcurrency.ForEachAsync(entries, options.WriteConcurrency, cancellationToken,
            (entry, ct) => new ValueTask(WriteAsync(entry, working, marker, now, ct)));
    }

    private async Task WriteAsync(ChunkWorkingSet.Entry entry, ChunkWorkingSet working, string marker, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!entry.Dirty)
        {
            return;
        }
        for (var attempt = 1; ; attempt++)
        {
            if (!await FitBudgetAsync(entry, marker, cancellationToken))
            {
                return; // a new profile whose only rows were too large: nothing to write
            }
            // A profile without this chunk's marker gets it now, with what the chunk did. (A survivor merged away later in
            // the chunk is written twice, the second time from the stored copy, which has the marker already.)
            if (!entry.AlreadyApplied && !ChunkWorkingSet.HasChunk(entry.Profile, marker))
            {
                entry.CreatedByChunk = !entry.Existed;
                entry.Profile.AppliedChunks.Add(new AppliedChunk(marker, entry.Accepted, entry.Duplicates, entry.CreatedByChunk,
                    entry.Absorbed.Count > 0 ? [.. entry.Absorbed.Select(a => a.OtherId)] : null, Linked: entry.Linked,
                    Rejected: entry.TooLarge?.Count ?? 0));
                if (entry.Profile.AppliedChunks.Count > history.Options.MaxAppliedChunks)
                {
                    entry.Profile.AppliedChunks.RemoveRange(0, entry.Profile.AppliedChunks.Count - history.Options.MaxAppliedChunks);
                }
            }
            entry.Profile.UpdatedAt = now;
            var etag = entry.Existed
                ? await customers.TryReplaceAsync(entry.Profile, entry.ETag!, cancellationToken)
                : await customers.TryCreateAsync(entry.Profile, cancellationToken);
            if (etag is not null)
            {
                entry.ETag = etag;
                entry.Written = true;
                return;
            }
            if (attempt >= options.MaxWriteAttempts)
            {
                throw new InvalidOperationException($"Profile {entry.Profile.Id} kept changing under this chunk; gave up after {attempt} attempts.");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20 * attempt)), cancellationToken);
            await ReplayOnFreshCopyAsync(entry, working, marker, now, cancellationToken);
            if (entry.AlreadyApplied && entry.Absorbed.Count == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Keeps the profile under its size budget (folding old history). If even that is not enough, this chunk's rows for it
    /// are rejected as <c>profile_too_large</c> and the profile goes back to its stored version: a too-large profile never
    /// reaches the store (Cosmos DB would answer 413, and the drop would fail again on every retry). Profiles that take part
    /// in a merge in this chunk are only folded. False when there is nothing left to write.
    /// </summary>
    private async Task<bool> FitBudgetAsync(ChunkWorkingSet.Entry entry, string marker, CancellationToken cancellationToken)
    {
        if (history.FitBudget(entry.Profile) != BudgetOutcome.TooLarge || entry.AlreadyApplied || entry.TooLarge is not null
            || entry.Absorbed.Count > 0 || entry.Profile.MergedInto is not null || entry.Records.Count == 0)
        {
            return true;
        }
        entry.TooLarge = [.. entry.Records];
        (entry.Accepted, entry.Duplicates) = (0, 0);
        var stored = entry.Existed ? await customers.GetAsync(entry.Profile.Id, cancellationToken) : null;
        if (stored is null)
        {
            entry.Dirty = false;
            return false;
        }
        (entry.Profile, entry.ETag) = (stored.Value, stored.ETag);
        ChunkWorkingSet.TakeAppliedChunk(entry, marker);
        return true;
    }

    /// <summary>
    /// A merged-away profile is written as it was stored, plus <c>mergedInto</c>: this chunk's rows for it live in the
    /// survivor. So the document is the same whether the merge ran in one go or was finished by a re-run after a crash.
    /// </summary>
    private async Task TombstoneAsync(ChunkWorkingSet.Entry entry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var mergedInto = entry.Profile.MergedInto!;
        var stored = await customers.GetAsync(entry.Profile.Id, cancellationToken);
        entry.Profile = stored?.Value ?? new CustomerProfile { Id = entry.Profile.Id, CreatedAt = now, UpdatedAt = now };
        entry.ETag = stored?.ETag;
        entry.Profile.MergedInto = mergedInto;
    }

    /// <summary>Another writer changed the profile meanwhile: start again from the stored version and replay this chunk's records.</summary>
    private async Task ReplayOnFreshCopyAsync(ChunkWorkingSet.Entry entry, ChunkWorkingSet working, string marker, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var fresh = await customers.GetAsync(entry.Profile.Id, cancellationToken);
        var mergedInto = entry.Profile.MergedInto;
        entry.Profile = fresh?.Value ?? new CustomerProfile { Id = entry.Profile.Id, CreatedAt = now, UpdatedAt = now };
        entry.ETag = fresh?.ETag;
        ChunkWorkingSet.TakeAppliedChunk(entry, marker);
        if (!entry.AlreadyApplied && entry.TooLarge is null)
        {
            var outcome = history.Apply(entry.Profile, entry.Records, now);
            entry.Accepted = outcome.Accepted + entry.AbsorbedAccepted;
            entry.Duplicates = outcome.Duplicates + entry.AbsorbedDuplicates;
            entry.AppliedRecords = entry.Records.Count;
        }
        foreach (var (otherId, explanation) in entry.Absorbed)
        {
            if (working.Entries.TryGetValue(otherId, out var other))
            {
                ProfileMerge.Union(entry.Profile, other.Profile, explanation, history.Options.MaxContactValuesPerField);
            }
        }
        // The keys, spellings and explanations this chunk filed went to the stale copy: file them on the fresh one.
        foreach (var resolution in entry.Filed.ToList())
        {
            ChunkWorkingSet.File(entry, resolution);
        }
        if (mergedInto is not null)
        {
            entry.Profile.MergedInto = mergedInto;
        }
    }

    /// <summary>
    /// Whether an activity export is sorted by customer: no customer comes back once another has started, across windows
    /// too (an export ordered by date and then customer is sorted within each day only). Customers are remembered as 64-bit
    /// hashes; past <see cref="MaxCustomers"/> the export is treated as unsorted, which only means it is spilled.
    /// </summary>
    private sealed class SortedByCustomerCheck
    {
        private const int MaxCustomers = 1_000_000;
        private readonly HashSet<ulong> _seen = [];
        private ulong _current;
        private bool _started;

        public bool StillSorted(List<DropRecord> window)
        {
            foreach (var record in window)
            {
                var customer = Hash(record.Source, record.SourceCustomerId);
                if (_started && customer == _current)
                {
                    continue;
                }
                if (!_seen.Add(customer) || _seen.Count > MaxCustomers)
                {
                    return false;
                }
                (_current, _started) = (customer, true);
            }
            return true;
        }

        private static ulong Hash(string source, string sourceCustomerId)
        {
            var hash = 14695981039346656037ul;
            foreach (var c in source)
            {
                hash = (hash ^ c) * 1099511628211ul;
            }
            hash = (hash ^ 0xFFFF) * 1099511628211ul;
            foreach (var c in sourceCustomerId)
            {
                hash = (hash ^ c) * 1099511628211ul;
            }
            return hash;
        }
    }

    /// <summary>The clock rows are validated against: the first attempt's start.</summary>
    private sealed class PinnedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static string KeyKind(string key) => key.IndexOf(':') is var i and > 0 ? key[..i] : "key";

    private static void Increment(Dictionary<string, long> counts, string key) =>
        counts[key] = counts.TryGetValue(key, out var n) ? n + 1 : 1;
}
