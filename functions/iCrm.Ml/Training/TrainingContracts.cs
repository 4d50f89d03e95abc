using iCrm.Core.Profiles;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Training;

/// <summary>The profiles a run trains on, as read at the start of the run, and the date features are cut at.</summary>
public sealed record TrainingSnapshot(IReadOnlyList<CustomerProfile> Profiles, DateTimeOffset AsOf);

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
