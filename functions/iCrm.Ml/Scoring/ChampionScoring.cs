using iCrm.Core.Profiles;
using iCrm.Ml.Churn;
using iCrm.Ml.Lifetime;
using iCrm.Ml.Recommendations;
using iCrm.Ml.Registry;
using iCrm.Ml.Segments;
using iCrm.Ml.Sentiment;
using iCrm.Ml.Training;

namespace iCrm.Ml.Scoring;

/// <summary>
/// Live scoring from the champions; a kind without a champion is reported in <see cref="CustomerScores.Unavailable"/>.
/// The champions' scorers are loaded once (<see cref="ChampionModels"/>) and reused, so a call only builds the
/// profile's features (on the stack) and walks the models.
/// </summary>
public sealed class ChampionScoring(ChampionModels champions) : ICustomerScoring
{
    /// <summary>Feedback in the last this-many days is "recent"; the year before that (to 365 days) is "earlier".</summary>
    public const int RecentSentimentDays = 90;

    /// <summary>A change in average sentiment smaller than this is "stable".</summary>
    public const double SentimentChange = 0.1;

    private static readonly System.Diagnostics.Metrics.Meter Meter = new("iCrm.Scoring");
    private static readonly System.Diagnostics.Metrics.Histogram<double> Latency =
        Meter.CreateHistogram<double>("icrm.scoring.duration", "ms", "Time to score one customer with the champions.");

    public async Task<CustomerScores> ScoreAsync(CustomerProfile profile, DateTimeOffset asOf, ScoreRequest request, CancellationToken cancellationToken = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var scores = await ScoreCoreAsync(profile, asOf, request, cancellationToken);
        Latency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return scores;
    }

    private async Task<CustomerScores> ScoreCoreAsync(CustomerProfile profile, DateTimeOffset asOf, ScoreRequest request, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<string, string>(5);
        var unavailable = new Dictionary<string, string>(0);

        ChurnScore? churn = null;
        if (await Champion(ModelKinds.Churn) is ChurnProfileScorer churnScorer)
        {
            var p = churnScorer.Predict(profile, asOf);
            churn = new ChurnScore(p.Probability, p.Band.Label(), p.TopFactors);
        }

        LifetimeValueScore? clv = null;
        if (await Champion(ModelKinds.Clv) is LifetimeProfileScorer clvScorer && clvScorer.Predict(profile, asOf) is { } l)
        {
            clv = new LifetimeValueScore(l.ExpectedPurchases, l.ProbabilityAlive, l.Clv, "", clvScorer.Model.ScoringDate(profile, asOf));
        }

        SegmentScore? segment = null;
        if (await Champion(ModelKinds.Segments) is SegmentsProfileScorer segmentScorer && segmentScorer.Assign(profile, asOf) is { } s)
        {
            segment = new SegmentScore(s.Rfm.Segment, s.Rfm.R, s.Rfm.F, s.Rfm.M, s.Cluster?.ToString(System.Globalization.CultureInfo.InvariantCulture), s.ClusterDescription);
        }

        var sentimentScorer = await Champion(ModelKinds.Sentiment, required: false) as SentimentProfileScorer;
        var trend = Trend(profile, asOf, sentimentScorer?.Model);

        IReadOnlyList<Recommendation>? recommendations = null;
        if (request.Recommendations && await Champion(ModelKinds.Recommendations) is RecommendationsProfileScorer recommender)
        {
            recommendations = [.. recommender.Recommend(profile, asOf, Math.Clamp(request.Top, 1, 100)).Select(r => new Recommendation(r.ItemId, r.Score, r.Reason))];
        }

        return new CustomerScores(profile.Id, asOf, churn, clv, segment, trend, recommendations, versions, unavailable);

        async ValueTask<IProfileScorer?> Champion(string kind, bool required = true)
        {
            var (scorer, missing) = await champions.GetAsync(kind, cancellationToken);
            if (scorer is not null)
            {
                versions[kind] = scorer.Version;
            }
            else if (required)
            {
                unavailable[kind] = missing!.Reason;
            }
            return scorer;
        }
    }

    /// <summary>
    /// Average sentiment of the last <see cref="RecentSentimentDays"/> days against the rest of the year before. Feedback
    /// the write-back has not scored yet is scored live when a sentiment model is available; null when there is no feedback.
    /// </summary>
    public static SentimentTrend? Trend(CustomerProfile profile, DateTimeOffset asOf, SentimentModel? model)
    {
        if (profile.Feedback.Count == 0)
        {
            return null;
        }
        var recentFrom = asOf.AddDays(-RecentSentimentDays);
        var yearFrom = asOf.AddDays(-365);
        double recent = 0, earlier = 0;
        int nRecent = 0, nEarlier = 0;
        foreach (var f in profile.Feedback)
        {
            if (f.Timestamp >= asOf || f.Timestamp < yearFrom)
            {
                continue;
            }
            double? score = f.Sentiment ?? (model is not null && !string.IsNullOrWhiteSpace(f.Text) ? model.Score(f.Text) : null);
            if (score is not { } v)
            {
                continue;
            }
            if (f.Timestamp >= recentFrom)
            {
                recent += v;
                nRecent++;
            }
            else
            {
                earlier += v;
                nEarlier++;
            }
        }
        if (nRecent + nEarlier == 0)
        {
            return null;
        }
        double? r = nRecent > 0 ? Math.Round(recent / nRecent, 4) : null;
        double? e = nEarlier > 0 ? Math.Round(earlier / nEarlier, 4) : null;
        var direction = r is null || e is null ? "unknown"
            : r - e >= SentimentChange ? "improving"
            : e - r >= SentimentChange ? "worsening"
            : "stable";
        return new SentimentTrend(r, e, direction, nRecent + nEarlier);
    }
}
