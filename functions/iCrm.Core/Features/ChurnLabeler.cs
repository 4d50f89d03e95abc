using System.Text.Json.Serialization;
using iCrm.Core.Profiles;

namespace iCrm.Core.Features;

[JsonConverter(typeof(JsonStringEnumConverter<ChurnLabelSource>))]
public enum ChurnLabelSource
{
    /// <summary>From a customers drop's <c>churned</c> / <c>churned_at</c>.</summary>
    Explicit,

    /// <summary>Every subscription active at the cutoff had ended by the end of the window.</summary>
    Subscription,

    /// <summary>No purchase within the window after the cutoff.</summary>
    Transactional,
}

/// <summary>Whether a customer churned in the window after a cutoff, and what the label is based on.</summary>
/// <param name="Dated">False for an explicit label without a date (<c>churned</c> without <c>churned_at</c>): it is the
/// same at every cutoff, so it cannot be split by time (a time split would evaluate on the customers it trained on).</param>
public sealed record ChurnOutcome(bool Churned, ChurnLabelSource Source, bool Dated = true);

public sealed record ChurnLabelOptions
{
    /// <summary>Length of the window after the cutoff in which a customer must buy (or stay subscribed) to count as retained.</summary>
    public int WindowDays { get; init; } = 90;

    /// <summary>Use explicit labels and subscriptions when a profile has them; otherwise only transactional churn.</summary>
    public bool UseExplicitLabels { get; init; } = true;
}

/// <summary>
/// Labels customers for churn training using only what happened on or after the cutoff (features use only what
/// happened before it). Precedence: an explicit label from a drop, then subscriptions, then transactional churn.
/// Customers who cannot be labelled (no order before the cutoff, or already churned before it) get no label and are
/// left out of training.
/// </summary>
public sealed class ChurnLabeler(ChurnLabelOptions? options = null)
{
    public ChurnLabelOptions Options { get; } = options ?? new ChurnLabelOptions();

    public ChurnOutcome? Label(CustomerProfile profile, DateTimeOffset asOf)
    {
        var windowEnd = asOf.AddDays(Options.WindowDays);
        if (Options.UseExplicitLabels)
        {
            if (profile.ChurnLabel is { } label)
            {
                if (!label.Churned)
                {
                    return new ChurnOutcome(false, ChurnLabelSource.Explicit, Dated: false);
                }

                if (label.ChurnedAt is not { } churnedAt)
                {
                    // Churned at an unknown date: only usable as "churned" (we cannot tell whether it was before the cutoff).
                    return new ChurnOutcome(true, ChurnLabelSource.Explicit, Dated: false);
                }

                var at = AtStartOfDay(churnedAt);
                if (at < asOf)
                {
                    return null; // already gone at the cutoff: nothing to predict
                }

                return new ChurnOutcome(at < windowEnd, ChurnLabelSource.Explicit);
            }

            var subscription = SubscriptionOutcome(profile, asOf, windowEnd);
            if (subscription is not null)
            {
                return subscription;
            }
        }

        var boughtBefore = false;
        var boughtInWindow = false;
        foreach (var line in profile.Orders)
        {
            if (line.Date < asOf)
            {
                boughtBefore = true;
            }
            else if (line.Date < windowEnd)
            {
                boughtInWindow = true;
            }
        }

        foreach (var month in profile.OrderMonths)
        {
            if (month.Orders <= 0 || !DateOnly.TryParseExact(month.Month + "-01", "yyyy-MM-dd", out var first))
            {
                continue;
            }

            var start = AtStartOfDay(first);
            if (start.AddMonths(1) <= asOf)
            {
                boughtBefore = true;
            }
            else if (start >= asOf && start.AddMonths(1) <= windowEnd)
            {
                boughtInWindow = true; // only months wholly inside the window prove a purchase in it
            }
        }

        return boughtBefore ? new ChurnOutcome(!boughtInWindow, ChurnLabelSource.Transactional) : null;
    }

    private static ChurnOutcome? SubscriptionOutcome(CustomerProfile profile, DateTimeOffset asOf, DateTimeOffset windowEnd)
    {
        var activeAtCutoff = false;
        var activeAtWindowEnd = false;
        foreach (var s in profile.Subscriptions)
        {
            activeAtCutoff |= IsActive(s, asOf);
            activeAtWindowEnd |= IsActive(s, windowEnd);
        }

        return activeAtCutoff ? new ChurnOutcome(!activeAtWindowEnd, ChurnLabelSource.Subscription) : null;
    }

    private static bool IsActive(Subscription s, DateTimeOffset at) =>
        AtStartOfDay(s.StartDate) <= at && (s.EndDate is not { } end || AtStartOfDay(end) > at);

    private static DateTimeOffset AtStartOfDay(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}
