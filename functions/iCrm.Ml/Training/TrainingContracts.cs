using iCrm.Core.Profiles;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Training;

/// <summary>The profiles a run trains on, as read at the start of the run, and the date features are cut at.</summary>
/// <param name="AsOf">The run's date: the <c>asOf</c> of the request, or the wall clock when none was given.</param>
public sealed record TrainingSnapshot(IReadOnlyList<CustomerProfile> Profiles, DateTimeOffset AsOf)
{
    /// <summary>Whether a profile stays out of training: its profiling consent is withdrawn.</summary>
    public static bool Excludes(CustomerProfile profile) => profile.Consent.Profiling == false;

    /// <summary>How the profiles were drawn from the store (null: the caller passed them all).</summary>
    public TrainingSampleInfo? Sample { get; init; }

    /// <summary>The latest activity of the whole store when <see cref="Profiles"/> is a sample of it (set by the runner,
    /// which sees every profile while sampling), so the data's end does not depend on which customers were drawn.</summary>
    public DateTimeOffset? StoreLatestActivity { get; init; }

    /// <summary>The latest order, feedback or event in the snapshot (null when there is none).</summary>
    public DateTimeOffset? LatestActivity()
    {
        if (StoreLatestActivity is { } known)
        {
            return known;
        }
        DateTimeOffset? latest = null;
        foreach (var p in Profiles)
        {
            if (LatestActivityOf(p) is { } t && (latest is null || t > latest))
            {
                latest = t;
            }
        }
        return latest;
    }

    /// <summary>The latest order, feedback or event of one profile (null when there is none).</summary>
    public static DateTimeOffset? LatestActivityOf(CustomerProfile p)
    {
        DateTimeOffset? latest = null;
        void See(DateTimeOffset t)
        {
            if (latest is null || t > latest)
            {
                latest = t;
            }
        }
        if (p.Orders.Count > 0)
        {
            See(p.Orders[^1].Date); // the order log is kept oldest first
        }
        foreach (var m in p.OrderMonths)
        {
            if (DateOnly.TryParseExact(m.Month + "-01", "yyyy-MM-dd", out var start))
            {
                See(new DateTimeOffset(start.AddMonths(1).AddDays(-1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
            }
        }
        foreach (var f in p.Feedback)
        {
            See(f.Timestamp);
        }
        foreach (var e in p.RecentEvents)
        {
            See(e.Timestamp);
        }
        return latest;
    }

    /// <summary>
    /// The end of the data as of the run: the start of the UTC day after the latest activity, or <see cref="AsOf"/> when
    /// that is earlier (an explicit <c>asOf</c> inside the data) or when there is no activity. A run started without
    /// <c>asOf</c> on an export that ended years ago is thereby measured at the export's end, not today: the silence between
    /// the two is missing data, not customers who stopped buying.
    /// </summary>
    public DateTimeOffset DataEnd() =>
        LatestActivity() is { } latest && latest.UtcDateTime.Date.AddDays(1) is var dayAfter && new DateTimeOffset(dayAfter, TimeSpan.Zero) < AsOf
            ? new DateTimeOffset(dayAfter, TimeSpan.Zero)
            : AsOf;
}

/// <summary>A trained challenger: its card (with the promotion metric) and its bundle bytes (<c>model.zip</c>).</summary>
public sealed record TrainedModel(ModelCard Card, byte[] Bundle);

/// <summary>How a challenger is compared with the champion (ARCHITECTURE.md, "Models and the registry").</summary>
/// <param name="Tolerance">How much worse the challenger may be and still be promoted.</param>
/// <param name="Relative">True: the tolerance is a share of the champion's value (CLV's 2 %); false: an absolute amount.</param>
/// <param name="Always">Descriptive models (segments) are promoted whenever training succeeds.</param>
public sealed record PromotionRule(double Tolerance, bool Relative = false, bool Always = false)
{
    /// <summary>True when <paramref name="challenger"/> is not worse than <paramref name="champion"/> beyond the tolerance.</summary>
    public bool NotWorse(double challenger, double? champion, bool higherIsBetter)
    {
        if (Always)
        {
            return true;
        }
        if (!double.IsFinite(challenger))
        {
            return false; // an unmeasurable challenger is never promoted, even when there is no champion yet
        }
        if (champion is not { } c || !double.IsFinite(c))
        {
            return true;
        }
        var slack = Relative ? Math.Abs(c) * Tolerance : Tolerance;
        return higherIsBetter ? challenger >= c - slack : challenger <= c + slack;
    }

    public override string ToString() => Always ? "always (descriptive model)" : Relative ? $"{Tolerance:P1} relative" : $"{Tolerance} absolute";
}

/// <summary>
/// Marks a trainer puts in its card's <see cref="ModelCard.Details"/> when the card's promotion metric cannot be trusted
/// (the champion's card carries them too, so a later run knows what it is comparing with).
/// <list type="bullet">
/// <item><see cref="NotComparableKey"/>: the holdout cannot support a comparison (too few customers, no purchases in it).
/// Such a challenger never replaces a champion; when there is none yet it is promoted, flagged, with
/// <see cref="ModelCard.PromotionValue"/> NaN, so the next comparable challenger replaces it.</item>
/// <item><see cref="UnsoundKey"/>: the model itself is not usable (a fit that did not converge or sits at a parameter
/// bound). Published for inspection, never promoted, not even as the first model of its kind.</item>
/// </list>
/// </summary>
public static class PromotionGate
{
    public const string NotComparableKey = "notComparable";
    public const string UnsoundKey = "unsound";

    /// <summary>Why the card's metric cannot be compared, or null when it can.</summary>
    public static string? NotComparable(ModelCard card) => Read(card, NotComparableKey);

    /// <summary>Why the model must never be promoted, or null when it is sound.</summary>
    public static string? Unsound(ModelCard card) => Read(card, UnsoundKey);

    /// <summary>The stable name of the card's evaluation protocol (the part before the first colon), or "".</summary>
    public static string ProtocolName(ModelCard card)
    {
        var p = card.EvaluationProtocol;
        var colon = p.IndexOf(':', StringComparison.Ordinal);
        return (colon < 0 ? p : p[..colon]).Trim();
    }

    private static string? Read(ModelCard card, string key) =>
        card.Details is { } d && d.TryGetPropertyValue(key, out var v) && v is System.Text.Json.Nodes.JsonValue value
            && value.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}

/// <summary>
/// Thrown by a trainer when the tenant's data cannot support the kind yet (no feedback texts, no products on order
/// lines, too few repeat buyers). The run records the kind as skipped, keeps any champion, and still succeeds.
/// </summary>
public sealed class NotEnoughDataException(string message) : InvalidOperationException(message);

/// <summary>Trains one model kind from a snapshot.</summary>
public interface IModelTrainer
{
    string Kind { get; }

    PromotionRule Promotion { get; }

    Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken);
}

/// <summary>A loaded champion that scores one profile.</summary>
public interface IProfileScorer
{
    string Kind { get; }

    string Version { get; }

    Prediction Score(CustomerProfile profile, DateTimeOffset asOf);
}

/// <summary>
/// A scorer that also writes into the profile itself (sentiment sets <see cref="FeedbackItem.Sentiment"/>), so that later
/// model kinds in the same run and the write-back see it. Returns whether anything changed.
/// </summary>
public interface IProfileEnricher
{
    /// <param name="rescore">True: score everything again (a new model); false: only what has not been scored yet.</param>
    ValueTask<bool> EnrichAsync(CustomerProfile profile, bool rescore, CancellationToken cancellationToken);
}

/// <summary>
/// A trainer that can measure the current champion on the challenger's holdout, so the promotion compares both models
/// on the same data rather than card values from different runs.
/// </summary>
public interface IChampionEvaluator
{
    /// <summary>The champion's promotion metric on the holdout <paramref name="challenger"/> was measured on; null when that
    /// holdout cannot be rebuilt (then the champion's card value is used).</summary>
    double? EvaluateChampion(IProfileScorer champion, TrainingSnapshot snapshot, ModelCard challenger);
}

/// <summary>Loads a model bundle of a kind into a scorer.</summary>
public interface IModelLoader
{
    string Kind { get; }

    IProfileScorer Load(Stream bundle, ModelCard card);
}
