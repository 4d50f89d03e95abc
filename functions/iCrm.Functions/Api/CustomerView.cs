using iCrm.Core.Profiles;

namespace iCrm.Functions.Api;

/// <summary>The 360° profile as the API shows it: identities, contact (current values, and the alternatives other sources
/// gave), attributes, consent, a history summary and the latest predictions. Internal bookkeeping (hashed keys, chunk markers) stays out.</summary>
public sealed record CustomerView(
    string Id,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Identities,
    ContactDetails Contact,
    IReadOnlyDictionary<string, string> Attributes,
    Consent Consent,
    DateOnly? SignupDate,
    ChurnLabel? ChurnLabel,
    HistorySummary History,
    IReadOnlyDictionary<string, Prediction> Predictions,
    IReadOnlyList<string> MergedFrom,
    IReadOnlyList<MergeExplanation> MergeExplanations,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<ContactValue>? ContactAlternatives = null,
    bool LargeCluster = false,
    int? BirthYear = null,
    bool ContactMasked = false,
    IReadOnlyList<TimelineItem>? Timeline = null)
{
    /// <summary>This view with the customer's timeline (single-profile responses only: lists stay small).</summary>
    public CustomerView WithTimeline(CustomerProfile p, ApiCaller caller) =>
        this with { Timeline = TimelineItem.From(p, ContactMasking.SeesFullContact(caller)) };

    /// <summary>The profile as <paramref name="caller"/> may see it: contact fields masked unless its roles need them
    /// (<see cref="ContactMasking"/>). Every response carrying a profile is built here.</summary>
    public static CustomerView For(CustomerProfile p, ApiCaller caller)
    {
        var view = From(p);
        return ContactMasking.SeesFullContact(caller) ? view : view with
        {
            Contact = ContactMasking.Mask(p.Contact),
            ContactAlternatives = [.. view.ContactAlternatives?.Select(v => v with { Value = ContactMasking.Mask(v.Field, v.Value) ?? "" }) ?? []],
            ContactMasked = true,
        };
    }

    /// <summary>The full profile, contact included (a privacy export); API responses use <see cref="For"/>.</summary>
    public static CustomerView From(CustomerProfile p) => new(
        p.Id,
        p.Identities.GroupBy(i => i.Source).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(i => i.SourceId)]),
        p.Contact,
        p.Attributes,
        p.Consent,
        p.SignupDate,
        p.ChurnLabel,
        HistorySummary.From(p),
        p.Predictions,
        p.MergedFrom,
        p.MergeExplanations,
        p.CreatedAt,
        p.UpdatedAt,
        // The values sources gave that are not the current one, with source and time, newest first.
        [.. ContactValueList.Current(p.Contact).SelectMany(c => ContactValueList.Alternatives(p, c.Field, c.Value))],
        p.LargeCluster,
        p.Contact.BirthDate?.Year);
}

public sealed record HistorySummary(
    int Orders,
    decimal Spend,
    int Returns,
    DateTimeOffset? FirstOrder,
    DateTimeOffset? LastOrder,
    IReadOnlyDictionary<string, int> EventsByType,
    int Feedback,
    double? AverageRating,
    int ActiveSubscriptions,
    IReadOnlyList<OrderLine> RecentOrderLines)
{
    public static HistorySummary From(CustomerProfile p)
    {
        var orders = p.Orders.Select(o => o.OrderId).Distinct().Count() + p.OrderMonths.Sum(m => m.Orders);
        var spend = p.Orders.Sum(o => o.Returned ? -Math.Abs(o.Amount) : o.Amount) + p.OrderMonths.Sum(m => m.Spend);
        var returns = p.Orders.Count(o => o.Returned) + p.OrderMonths.Sum(m => m.Returns);
        DateTimeOffset? first = p.OrderMonths.Count > 0
            ? DateTimeOffset.ParseExact(p.OrderMonths[0].Month + "-01", "yyyy-MM-dd", null, System.Globalization.DateTimeStyles.AssumeUniversal)
            : p.Orders.Count > 0 ? p.Orders.Min(o => o.Date) : null;
        DateTimeOffset? last = p.Orders.Count > 0 ? p.Orders.Max(o => o.Date) : null;
        var ratings = p.Feedback.Where(f => f.Rating is not null).Select(f => (double)f.Rating!.Value).ToList();
        return new HistorySummary(
            orders,
            spend,
            returns,
            first,
            last,
            p.EventMonths.GroupBy(e => e.Type).ToDictionary(g => g.Key, g => g.Sum(e => e.Count)),
            p.Feedback.Count,
            ratings.Count > 0 ? Math.Round(ratings.Average(), 2) : null,
            p.Subscriptions.Count(s => s.EndDate is null),
            [.. p.Orders.OrderByDescending(o => o.Date).Take(20)]);
    }
}

/// <summary>
/// One entry of a customer's timeline: an order (its lines summed), an event, or a feedback item with its sentiment, newest
/// first. Built from what the profile keeps in full (the order log, recent events, feedback), bounded to
/// <see cref="MaxItems"/>; older history is in the monthly buckets and <see cref="HistorySummary"/>.
/// </summary>
/// <param name="Kind"><c>order</c>, <c>event</c> or <c>feedback</c>.</param>
/// <param name="Title">What happened: the order id, the event type, or "feedback".</param>
/// <param name="Amount">An order's amount (returned lines left out) or an event's value.</param>
/// <param name="Detail">An order's line count and returns, an event's product; for feedback its text cut to
/// <see cref="MaxTextLength"/> characters, only for callers who see full contact details (feedback is free text and may name
/// people), else null.</param>
/// <param name="Sentiment">Feedback only: P(positive) in [0, 1] as the sentiment model scored it; null until scored.</param>
/// <param name="SentimentLabel">Feedback only: <c>Positive</c>, <c>Neutral</c> or <c>Negative</c> (the bands of the sentiment model).</param>
public sealed record TimelineItem(
    DateTimeOffset At,
    string Kind,
    string Title,
    string? Channel,
    decimal? Amount = null,
    string? Detail = null,
    int? Rating = null,
    double? Sentiment = null,
    string? SentimentLabel = null)
{
    public const int MaxItems = 50;
    public const int MaxTextLength = 160;

    public static IReadOnlyList<TimelineItem> From(CustomerProfile p, bool withText)
    {
        var orders = p.Orders.GroupBy(o => o.OrderId, StringComparer.Ordinal).Select(g =>
        {
            var lines = g.Count();
            var returned = g.Count(o => o.Returned);
            return new TimelineItem(g.Min(o => o.Date), "order", g.Key, g.First().Channel,
                g.Where(o => !o.Returned).Sum(o => o.Amount),
                $"{lines} line{(lines == 1 ? "" : "s")}{(returned > 0 ? $", {returned} returned" : "")}");
        });
        var events = p.RecentEvents.Select(e => new TimelineItem(e.Timestamp, "event", e.Type, e.Channel, e.Value, e.ProductId));
        var feedback = p.Feedback.Select(f => new TimelineItem(f.Timestamp, "feedback", "feedback", f.Channel,
            Detail: withText ? (f.Text.Length > MaxTextLength ? f.Text[..MaxTextLength] + "…" : f.Text) : null,
            Rating: f.Rating,
            Sentiment: f.Sentiment is { } score ? Math.Round(score, 3) : null,
            SentimentLabel: f.Sentiment is { } value ? iCrm.Ml.Sentiment.SentimentResult.FromScore(value).Label.ToString() : null));
        return [.. orders.Concat(events).Concat(feedback)
            .OrderByDescending(i => i.At).ThenBy(i => i.Kind, StringComparer.Ordinal).ThenBy(i => i.Title, StringComparer.Ordinal)
            .Take(MaxItems)];
    }
}
