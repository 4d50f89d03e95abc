using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Scoring;

/// <summary>
/// The queue message of the fan-out write-back (queue <c>score-slices</c>): score slice <paramref name="Slice"/> of
/// <paramref name="Slices"/> of the store with the champions and write the predictions back.
/// </summary>
/// <param name="Versions">The champion version per kind when the run finished (for the record: a slice scores with the
/// champion current when it runs, and predictions carry the version they were made with).</param>
public sealed record ScoreSliceMessage(string RunId, int Slice, int Slices, DateTimeOffset AsOf, IReadOnlyDictionary<string, string> Versions)
{
    public CustomerSlice CustomerSlice => new(Slice, Slices);

    /// <summary>What is wrong with the message, or null (a malformed message is never retried).</summary>
    public string? Problem() =>
        string.IsNullOrWhiteSpace(RunId) || RunId.Length > 64 || !RunId.All(char.IsAsciiLetterOrDigit) ? "runId must be 1 to 64 letters or digits"
        : Slices is < 1 or > CustomerSlice.MaxCount ? $"slices must be between 1 and {CustomerSlice.MaxCount}"
        : Slice < 0 || Slice >= Slices ? "slice must be between 0 and slices - 1"
        : null;
}

/// <summary>Customers, value and churn of one RFM segment, summed over slices.</summary>
public sealed class SegmentTally
{
    public long Customers { get; set; }

    /// <summary>Sum of predicted lifetime value (<c>clv</c>) of the segment's customers.</summary>
    public double Value { get; set; }

    /// <summary>Sum of churn probabilities, and how many customers have one (the churn rate is their ratio).</summary>
    public double ChurnProbability { get; set; }

    public long ChurnScored { get; set; }

    public double? ChurnRate => ChurnScored > 0 ? Math.Round(ChurnProbability / ChurnScored, 4) : null;

    public void Add(SegmentTally other)
    {
        Customers += other.Customers;
        Value += other.Value;
        ChurnProbability += other.ChurnProbability;
        ChurnScored += other.ChurnScored;
    }
}

/// <summary>Counts of a score in fixed bins: <see cref="Counts"/>[i] counts values in [Edges[i], Edges[i+1]) (the last bin
/// also takes everything above).</summary>
public sealed record ScoreHistogram(double[] Edges, long[] Counts)
{
    public static ScoreHistogram Churn() => new([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], new long[10]);

    public static ScoreHistogram Value() => new([0, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000], new long[10]);

    public void Add(double value)
    {
        var i = Array.BinarySearch(Edges, value);
        i = i >= 0 ? i : ~i - 1;
        Counts[Math.Clamp(i, 0, Counts.Length - 1)]++;
    }

    public void Add(ScoreHistogram other)
    {
        for (var i = 0; i < Counts.Length; i++)
        {
            Counts[i] += other.Counts[i];
        }
    }
}

/// <summary>What one slice (or, summed, the whole run) scored: counts, segment tallies and score distributions for the dashboard.</summary>
public sealed class ScoringTally
{
    /// <summary>Live profiles in the slice.</summary>
    public long Customers { get; set; }

    /// <summary>Profiles whose predictions were written by this attempt.</summary>
    public long Written { get; set; }

    /// <summary>Profiles whose predictions were already from the current champions (a re-delivered slice, a kept champion).</summary>
    public long AlreadyCurrent { get; set; }

    /// <summary>Profiles changed by someone else at every attempt, or gone: left for the next run.</summary>
    public long Skipped { get; set; }

    public Dictionary<string, SegmentTally> Segments { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The RFM grid: customers, value and churn per recency score × frequency score (1-5 each), keyed <c>r{R}f{F}</c>
    /// (<see cref="RfCellKey"/>), summed over slices like <see cref="Segments"/>. Only customers with an RFM score (a
    /// purchase before the cutoff) are in it; cells nobody falls in are absent.
    /// </summary>
    public Dictionary<string, SegmentTally> RfGrid { get; set; } = new(StringComparer.Ordinal);

    public static string RfCellKey(int recency, int frequency) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"r{recency}f{frequency}");

    /// <summary>The recency and frequency scores of a <see cref="RfGrid"/> key, or false for a key that is not one.</summary>
    public static bool TryParseRfCell(string key, out int recency, out int frequency)
    {
        recency = frequency = 0;
        if (key is not { Length: 4 } || key[0] != 'r' || key[2] != 'f' || key[1] is < '1' or > '5' || key[3] is < '1' or > '5')
        {
            return false;
        }
        recency = key[1] - '0';
        frequency = key[3] - '0';
        return true;
    }

    /// <summary><c>churn</c> (probability) and <c>clv</c> (predicted value).</summary>
    public Dictionary<string, ScoreHistogram> Distributions { get; set; } = new(StringComparer.Ordinal)
    {
        [ModelKinds.Churn] = ScoreHistogram.Churn(),
        [ModelKinds.Clv] = ScoreHistogram.Value(),
    };

    public void Add(ScoringTally other)
    {
        Customers += other.Customers;
        Written += other.Written;
        AlreadyCurrent += other.AlreadyCurrent;
        Skipped += other.Skipped;
        AddAll(Segments, other.Segments);
        AddAll(RfGrid, other.RfGrid);
        foreach (var (kind, histogram) in other.Distributions)
        {
            if (Distributions.TryGetValue(kind, out var mine))
            {
                mine.Add(histogram);
            }
            else
            {
                Distributions[kind] = new ScoreHistogram(histogram.Edges, [.. histogram.Counts]);
            }
        }
    }

    private static void AddAll(Dictionary<string, SegmentTally> into, Dictionary<string, SegmentTally> from)
    {
        foreach (var (name, tally) in from)
        {
            if (!into.TryGetValue(name, out var mine))
            {
                into[name] = mine = new SegmentTally();
            }
            mine.Add(tally);
        }
    }

    /// <summary>Adds one scored profile's predictions.</summary>
    public void Add(IReadOnlyDictionary<string, iCrm.Core.Profiles.Prediction> predictions)
    {
        double? churn = predictions.TryGetValue(ModelKinds.Churn, out var c) ? c.Value : null;
        double? value = predictions.TryGetValue(ModelKinds.Clv, out var v) ? v.Value : null;
        if (churn is { } p)
        {
            Distributions[ModelKinds.Churn].Add(p);
        }
        if (value is { } money)
        {
            Distributions[ModelKinds.Clv].Add(money);
        }
        predictions.TryGetValue(ModelKinds.Segments, out var s);
        var segment = s?.Label is { Length: > 0 } label ? label : "unscored";
        Count(Segments, segment, value, churn);
        if (s is not null && RfScores(s) is var (r, f))
        {
            Count(RfGrid, RfCellKey(r, f), value, churn);
        }
    }

    private static void Count(Dictionary<string, SegmentTally> tallies, string key, double? value, double? churn)
    {
        if (!tallies.TryGetValue(key, out var tally))
        {
            tallies[key] = tally = new SegmentTally();
        }
        tally.Customers++;
        tally.Value += value ?? 0;
        if (churn is { } q)
        {
            tally.ChurnProbability += q;
            tally.ChurnScored++;
        }
    }

    /// <summary>The recency and frequency scores of a segments prediction: its flat fields, or (predictions written
    /// before they existed) its <c>rfm_recency</c> / <c>rfm_frequency</c> factors; null for a prospect.</summary>
    public static (int Recency, int Frequency)? RfScores(iCrm.Core.Profiles.Prediction segments)
    {
        int? r = segments.Recency, f = segments.Frequency;
        foreach (var factor in segments.TopFactors)
        {
            if (r is null && factor.Feature == "rfm_recency") r = (int)factor.Contribution;
            if (f is null && factor.Feature == "rfm_frequency") f = (int)factor.Contribution;
        }
        return r is >= 1 and <= 5 && f is >= 1 and <= 5 ? (r.Value, f.Value) : null;
    }
}

/// <summary><c>models/runs/{runId}/summary.json</c>: the reduce of every slice of a run's write-back, written once.</summary>
/// <param name="AsOf">The cutoff the run scored at (null in summaries written before it was recorded).</param>
public sealed record ScoringSummary(string RunId, int Slices, DateTimeOffset CompletedAt, ScoringTally Totals, DateTimeOffset? AsOf = null)
{
    /// <summary>True when this summary should replace <paramref name="current"/> as the latest: a later cutoff, or the same
    /// cutoff completed later.</summary>
    public bool IsNewerThan(ScoringSummary? current) =>
        current is null
        || (AsOf ?? CompletedAt) > (current.AsOf ?? current.CompletedAt)
        || ((AsOf ?? CompletedAt) == (current.AsOf ?? current.CompletedAt) && CompletedAt >= current.CompletedAt);
}

/// <summary>Where slices report (blob <c>models/runs/{runId}/slices/{n}.json</c> and <c>.../summary.json</c> in production).</summary>
public interface IScoringResults
{
    /// <summary>Records a finished slice unless it already is (the first report of a slice wins); false when it already was.</summary>
    Task<bool> TryWriteSliceAsync(string runId, int slice, ScoringTally tally, CancellationToken cancellationToken = default);

    Task<bool> IsSliceDoneAsync(string runId, int slice, CancellationToken cancellationToken = default);

    Task<IReadOnlyDictionary<int, ScoringTally>> ReadSlicesAsync(string runId, CancellationToken cancellationToken = default);

    Task<int> CountSlicesAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Writes the summary unless one exists (only one reducer wins); false when one already existed.</summary>
    Task<bool> TryWriteSummaryAsync(ScoringSummary summary, CancellationToken cancellationToken = default);

    Task<ScoringSummary?> GetSummaryAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>Makes <paramref name="summary"/> the latest one unless a summary of a later cutoff already is (blob
    /// <c>models/runs/latest-summary.json</c>, replaced with an ETag condition), so readers find it without listing runs.</summary>
    Task PublishLatestAsync(ScoringSummary summary, CancellationToken cancellationToken = default);

    /// <summary>The summary of the latest completed write-back (by cutoff), or null when none completed yet.</summary>
    Task<ScoringSummary?> GetLatestSummaryAsync(CancellationToken cancellationToken = default);
}

/// <summary>Sends the slices of a write-back (queue <c>score-slices</c> in production).</summary>
public interface IScoreSliceQueue
{
    /// <summary>True when <see cref="EnqueueAsync"/> returns only after every slice was processed (in-process runs).</summary>
    bool CompletesInline { get; }

    Task EnqueueAsync(IReadOnlyList<ScoreSliceMessage> messages, CancellationToken cancellationToken = default);
}

/// <summary>Slice reports kept in memory: for runs without blob storage (tests, benchmarks, in-process training).</summary>
public sealed class InProcessScoringResults : IScoringResults
{
    private readonly ConcurrentDictionary<(string, int), ScoringTally> _slices = new();
    private readonly ConcurrentDictionary<string, ScoringSummary> _summaries = new(StringComparer.Ordinal);

    public Task<bool> TryWriteSliceAsync(string runId, int slice, ScoringTally tally, CancellationToken cancellationToken = default) =>
        Task.FromResult(_slices.TryAdd((runId, slice), tally));

    public Task<bool> IsSliceDoneAsync(string runId, int slice, CancellationToken cancellationToken = default) =>
        Task.FromResult(_slices.ContainsKey((runId, slice)));

    public Task<IReadOnlyDictionary<int, ScoringTally>> ReadSlicesAsync(string runId, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyDictionary<int, ScoringTally>>(_slices.Where(s => s.Key.Item1 == runId).ToDictionary(s => s.Key.Item2, s => s.Value));

    public Task<int> CountSlicesAsync(string runId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_slices.Keys.Count(k => k.Item1 == runId));

    public Task<bool> TryWriteSummaryAsync(ScoringSummary summary, CancellationToken cancellationToken = default) =>
        Task.FromResult(_summaries.TryAdd(summary.RunId, summary));

    public Task<ScoringSummary?> GetSummaryAsync(string runId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_summaries.TryGetValue(runId, out var s) ? s : null);

    private readonly Lock _latestGate = new();
    private ScoringSummary? _latest;

    public Task PublishLatestAsync(ScoringSummary summary, CancellationToken cancellationToken = default)
    {
        lock (_latestGate)
        {
            if (summary.IsNewerThan(_latest))
            {
                _latest = summary;
            }
        }
        return Task.CompletedTask;
    }

    public Task<ScoringSummary?> GetLatestSummaryAsync(CancellationToken cancellationToken = default) => Task.FromResult(_latest);
}

/// <summary>
/// Processes the slices right away in this process, with <paramref name="workers"/> slices at once and the queue
/// extension's retry policy (<paramref name="maxAttempts"/> attempts per slice); a slice that fails every attempt is
/// reported in <see cref="Poisoned"/> and fails its run (the queue would move it to <c>score-slices-poison</c>). The default when no
/// queue is configured: tests, benchmarks, a single process.
/// </summary>
public sealed class InProcessScoreSliceQueue(SliceScorer scorer, int workers = 2, int maxAttempts = 5) : IScoreSliceQueue
{
    private readonly ConcurrentBag<(ScoreSliceMessage Message, string Error)> _poisoned = [];

    public bool CompletesInline => true;

    public IReadOnlyCollection<(ScoreSliceMessage Message, string Error)> Poisoned => _poisoned;

    public async Task EnqueueAsync(IReadOnlyList<ScoreSliceMessage> messages, CancellationToken cancellationToken = default)
    {
        var failed = new ConcurrentBag<(ScoreSliceMessage Message, string Error)>();
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken }, async (m, ct) =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await scorer.ScoreAsync(m, ct);
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException && attempt < maxAttempts)
                {
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failed.Add((m, $"{e.GetType().Name}: {e.Message}"));
                    return;
                }
            }
        });
        // After every slice had its chance, so the run's record counts the slices that did complete.
        foreach (var (message, error) in failed.OrderBy(f => f.Message.Slice))
        {
            _poisoned.Add((message, error));
            await scorer.AbandonAsync(message, error, cancellationToken);
        }
    }
}

/// <summary>Progress of a run's fan-out write-back, on the run record (<c>GET /api/train/{runId}</c>).</summary>
public sealed class ScoringProgress
{
    public int Slices { get; set; }

    public int SlicesDone { get; set; }

    public long Customers { get; set; }

    public long PredictionsWritten { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Where the reduced aggregates are (<c>models/runs/{runId}/summary.json</c>), once every slice reported.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Summary { get; set; }
}
