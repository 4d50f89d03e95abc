using System.Diagnostics;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Sentiment;

/// <summary>
/// The sentiment kind: a local text model trained on the tenant's own rated feedback (ratings 4-5 positive, 1-2
/// negative). Time-based holdout: the newest <see cref="HoldoutShare"/> of rated feedback (by timestamp) is the test
/// set; baseline = always the training majority class. Promotion: holdout accuracy, higher is better, 0.01 absolute.
/// The champion scores every feedback text in the write-back (<see cref="FeedbackItem.Sentiment"/>), which the churn
/// features then read. With an external <paramref name="provider"/> (Azure AI Language, <c>Sentiment__Provider=azure</c>)
/// the local model is still trained and evaluated (its card says how well the tenant's own ratings are predicted), but
/// feedback is scored by the provider.
/// </summary>
public sealed class SentimentKind(SentimentTrainingOptions? options = null, double holdoutShare = 0.2, int minimumPerClass = 20, ISentimentProvider? provider = null)
    : IModelTrainer, IModelLoader, IChampionEvaluator
{
    private readonly ISentimentProvider? _external = provider is LocalSentimentProvider ? null : provider;

    public double HoldoutShare { get; } = holdoutShare;

    public string Kind => ModelKinds.Sentiment;

    public PromotionRule Promotion { get; } = new(0.01);

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var rated = Rated(snapshot);
        var positives = rated.Count(r => r.Example.Positive);
        if (positives < minimumPerClass || rated.Count - positives < minimumPerClass)
        {
            throw new NotEnoughDataException($"Sentiment needs at least {minimumPerClass} positive and {minimumPerClass} negative rated texts; found {positives} and {rated.Count - positives}.");
        }
        var cut = Cut(rated.Count);
        var train = rated[..cut].Select(r => r.Example).ToList();
        var test = rated[cut..].Select(r => r.Example).ToList();
        var model = SentimentModel.Train(train, options);
        cancellationToken.ThrowIfCancellationRequested();
        var correct = test.Count(e => model.Score(e.Text) >= 0.5 == e.Positive);
        var accuracy = test.Count == 0 ? double.NaN : correct / (double)test.Count;
        var majorityPositive = train.Count(e => e.Positive) * 2 >= train.Count;
        var majority = test.Count == 0 ? double.NaN : test.Count(e => e.Positive == majorityPositive) / (double)test.Count;
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "P(positive) of a feedback text (0 negative … 1 positive; below 0.4 negative, from 0.6 positive), learned from the " +
                "tenant's own ratings: 4-5 stars positive, 1-2 negative, 3 and unrated left out of training.",
            Algorithm = "ML.NET text featurizer (word 1-2 grams, char 3-grams) + SDCA logistic regression",
            PromotionMetric = "accuracy",
            PromotionValue = accuracy,
            HigherIsBetter = true,
            Metrics = { ["accuracy"] = ModelCards.Round(accuracy), ["test_positive_rate"] = ModelCards.Round(test.Count(e => e.Positive) / (double)Math.Max(1, test.Count)) },
            Baselines = { ["majority_class"] = new Dictionary<string, double> { ["accuracy"] = ModelCards.Round(majority) } },
            FeatureSchema = [new("text", "text", "feedback text (word and character n-grams)")],
            TrainingWindowStart = rated[0].Timestamp,
            Cutoff = rated[cut - 1].Timestamp,
            RowCounts = { ["rated_texts"] = rated.Count, ["train_rows"] = train.Count, ["test_rows"] = test.Count },
            Parameters =
            {
                ["holdout"] = $"newest {HoldoutShare:P0} of rated feedback by time",
                ["max_training_texts"] = (options?.MaximumExamples ?? new SentimentTrainingOptions().MaximumExamples).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            Details = new JsonObject
            {
                ["labels"] = "weak labels from ratings (4-5 positive, 1-2 negative)",
                ["feedbackScoredBy"] = _external is null ? "this local model" : $"external provider ({_external.GetType().Name})",
            },
        };
        return Task.FromResult(new TrainedModel(card, ModelCards.Save(model.Save)));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card) => new SentimentProfileScorer(card.Version, SentimentModel.Load(bundle), _external);

    /// <summary>The champion's accuracy on the same newest rated texts the challenger was tested on.</summary>
    public double? EvaluateChampion(IProfileScorer champion, TrainingSnapshot snapshot, ModelCard challenger)
    {
        if (champion is not SentimentProfileScorer scorer)
        {
            return null;
        }
        var rated = Rated(snapshot);
        var test = rated[Cut(rated.Count)..];
        return test.Count == 0 ? null : test.Count(r => scorer.Model.Score(r.Example.Text) >= 0.5 == r.Example.Positive) / (double)test.Count;
    }

    private int Cut(int count) => (int)Math.Round(count * (1 - HoldoutShare));

    /// <summary>Rated feedback before the scoring date, oldest first (ties by text, so the split is reproducible).</summary>
    private static List<(DateTimeOffset Timestamp, SentimentExample Example)> Rated(TrainingSnapshot snapshot) =>
        snapshot.Profiles.Where(p => p.MergedInto is null)
            .SelectMany(p => p.Feedback)
            .Where(f => f.Timestamp < snapshot.AsOf && f.Rating is >= 4 or <= 2 && !string.IsNullOrWhiteSpace(f.Text))
            .OrderBy(f => f.Timestamp).ThenBy(f => f.Text, StringComparer.Ordinal)
            .Select(f => (f.Timestamp, new SentimentExample(f.Text, f.Rating >= 4)))
            .ToList();
}

/// <summary>
/// Scores every feedback text of a profile (<see cref="Enrich"/>) and summarises the last year's sentiment as the
/// profile's sentiment prediction.
/// </summary>
public sealed class SentimentProfileScorer(string version, SentimentModel model, ISentimentProvider? external = null) : IProfileScorer, IProfileEnricher
{
    public string Kind => ModelKinds.Sentiment;

    public string Version => version;

    public SentimentModel Model => model;

    public async ValueTask<bool> EnrichAsync(CustomerProfile profile, bool rescore, CancellationToken cancellationToken)
    {
        var pending = profile.Feedback.Where(f => !string.IsNullOrWhiteSpace(f.Text) && (rescore || f.Sentiment is null)).ToList();
        if (pending.Count == 0)
        {
            return false;
        }
        IReadOnlyList<double> scores = external is { IsEnabled: true }
            ? [.. (await external.ScoreAsync([.. pending.Select(f => f.Text)], cancellationToken)).Select(r => r.Score)]
            : [.. pending.Select(f => model.Score(f.Text))];
        var changed = false;
        for (var i = 0; i < pending.Count; i++)
        {
            var s = Math.Round(scores[i], 4);
            if (pending[i].Sentiment != s)
            {
                pending[i].Sentiment = s;
                changed = true;
            }
        }
        return changed;
    }

    public Prediction Score(CustomerProfile profile, DateTimeOffset asOf)
    {
        double sum = 0;
        var n = 0;
        foreach (var f in profile.Feedback)
        {
            if (f.Timestamp >= asOf || f.Timestamp < asOf.AddDays(-365) || string.IsNullOrWhiteSpace(f.Text))
            {
                continue;
            }
            sum += f.Sentiment ?? model.Score(f.Text);
            n++;
        }
        if (n == 0)
        {
            return new Prediction(version, asOf, 0.5, "no feedback", []);
        }
        var mean = sum / n;
        return new Prediction(version, asOf, Math.Round(mean, 4), SentimentResult.FromScore(mean).Label.ToString().ToLowerInvariant(),
            [new Factor("feedback_365d", "feedback items in the last 365 days", n)]);
    }
}
