using iCrm.Core.Profiles;

namespace iCrm.Core.Storage;

/// <summary>How a customer list is ordered.</summary>
public enum CustomerSort
{
    /// <summary>Store order (cheapest: no sort).</summary>
    None,
    /// <summary>Highest churn probability first; only customers with a churn prediction.</summary>
    Churn,
    /// <summary>Highest 12-month value first; only customers with a CLV prediction.</summary>
    Clv,
}

/// <summary>The contact channels a customer can consent to being marketed on.</summary>
public enum ConsentChannel
{
    Email,
    Sms,
    Phone,
}

/// <summary>
/// A customer list as the store runs it: filters on the predictions the last training run wrote back to the profiles
/// (<c>predictions.segments</c>, <c>predictions.churn</c>, <c>predictions.clv</c>), consent and source, and one sort. The
/// store turns it into an indexed query (Cosmos: <c>WHERE</c> / <c>ORDER BY</c>, see docs/architecture.md), so a page costs
/// the same whatever the number of customers. <see cref="Matches"/> is the reference meaning every store must keep.
/// </summary>
/// <param name="Segment">RFM segment name, compared exactly (callers canonicalise the spelling).</param>
/// <param name="Cluster">Behavioural cluster number (the segments prediction's value).</param>
/// <param name="WithConsent">Only customers who consented to this channel (<c>consent.{channel}</c> is true).</param>
/// <param name="WithoutConsent">Only customers who did not (false or never stated); used to count those left out.</param>
/// <param name="Source">Only customers with an identity from this source system.</param>
/// <param name="ExcludeProfilingWithdrawn">Leave out customers whose profiling consent is false (score lists).</param>
/// <param name="OnlyProfilingWithdrawn">Only customers whose profiling consent is false; used to count those left out.</param>
/// <param name="Recency">RFM recency score 1-5 (the segments prediction's <c>recency</c>): one row of the RFM grid.</param>
/// <param name="Frequency">RFM frequency score 1-5 (the segments prediction's <c>frequency</c>): one column of the RFM grid.</param>
public sealed record CustomerListQuery(
    string? Segment = null,
    int? Cluster = null,
    double? MinChurn = null,
    double? MaxChurn = null,
    double? MinClv = null,
    ConsentChannel? WithConsent = null,
    ConsentChannel? WithoutConsent = null,
    string? Source = null,
    CustomerSort Sort = CustomerSort.None,
    bool ExcludeProfilingWithdrawn = false,
    bool OnlyProfilingWithdrawn = false,
    int? Recency = null,
    int? Frequency = null)
{
    /// <summary>Prediction kinds as stored in <see cref="CustomerProfile.Predictions"/> (the model kinds' names).</summary>
    public const string ChurnKind = "churn";
    public const string ClvKind = "clv";
    public const string SegmentsKind = "segments";

    /// <summary>True when the list is built from model output (a score or segment filter, or a score sort).</summary>
    public bool UsesPredictions =>
        Segment is not null || Cluster is not null || Recency is not null || Frequency is not null || MinChurn is not null || MaxChurn is not null || MinClv is not null || Sort != CustomerSort.None;

    public bool Matches(CustomerProfile profile) =>
        profile.MergedInto is null
        && (Segment is null || (Prediction(profile, SegmentsKind) is { } s && string.Equals(s.Label, Segment, StringComparison.Ordinal)))
        && (Cluster is null || (Prediction(profile, SegmentsKind) is { } k && k.Value == Cluster))
        && (Recency is null || (Prediction(profile, SegmentsKind) is { } r && r.Recency == Recency))
        && (Frequency is null || (Prediction(profile, SegmentsKind) is { } f && f.Frequency == Frequency))
        && (MinChurn is null || (Prediction(profile, ChurnKind) is { } c && c.Value >= MinChurn))
        && (MaxChurn is null || (Prediction(profile, ChurnKind) is { } c2 && c2.Value <= MaxChurn))
        && (MinClv is null || (Prediction(profile, ClvKind) is { } v && v.Value >= MinClv))
        && (WithConsent is null || HasConsent(profile.Consent, WithConsent.Value) == true)
        && (WithoutConsent is null || HasConsent(profile.Consent, WithoutConsent.Value) != true)
        && (Source is null || profile.Identities.Any(i => i.Source == Source))
        && (SortKind is null || Prediction(profile, SortKind) is not null)
        && (!ExcludeProfilingWithdrawn || profile.Consent.Profiling != false)
        && (!OnlyProfilingWithdrawn || profile.Consent.Profiling == false);

    /// <summary>The prediction kind the list is sorted by, or null.</summary>
    public string? SortKind => Sort switch
    {
        CustomerSort.Churn => ChurnKind,
        CustomerSort.Clv => ClvKind,
        _ => null,
    };

    /// <summary>The sort key of a matching profile (higher first).</summary>
    public double SortValue(CustomerProfile profile) =>
        SortKind is { } kind && Prediction(profile, kind) is { } p ? p.Value : double.NegativeInfinity;

    public static bool? HasConsent(Consent consent, ConsentChannel channel) => channel switch
    {
        ConsentChannel.Email => consent.Email,
        ConsentChannel.Sms => consent.Sms,
        ConsentChannel.Phone => consent.Phone,
        _ => throw new ArgumentOutOfRangeException(nameof(channel)),
    };

    private static Prediction? Prediction(CustomerProfile profile, string kind) =>
        profile.Predictions.TryGetValue(kind, out var p) ? p : null;
}
