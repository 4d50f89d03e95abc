using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Sentiment;

/// <summary>
/// The sentiment kind: a local text model (<see cref="SentimentModel"/>) trained on the tenant's own rated feedback
/// (ratings 4-5 positive, 1-2 negative). Every figure on the card is out of sample, by one of three protocols:
/// <list type="bullet">
/// <item>time-based holdout (the newest <see cref="HoldoutShare"/> of rated feedback) when the timestamps spread, i.e.
/// there is a point in time with between 10 % and 30 % of the texts after it and both classes on each side;</item>
/// <item>otherwise stratified k-fold cross-validation (up to <c>crossValidationLimit</c> texts; identical timestamps would
/// make a "newest" holdout the alphabetically last texts);</item>
/// <item>or, for more texts, a stratified random holdout.</item>
/// </list>
/// The L2 weight is chosen by cross-validation inside the training part; the shipped model is then refit on all rated
/// texts. Baselines on the same rows: the training majority class and TF-IDF + logistic regression. Promotion: accuracy,
/// higher is better, 0.01 absolute; the champion is measured on the challenger's holdout only when that holdout is newer
/// than everything the champion trained on (otherwise its own card value is used).
/// The champion scores every feedback text in the write-back (<see cref="FeedbackItem.Sentiment"/>), which the churn
/// features then read. With an external <paramref name="provider"/> (Azure AI Language, <c>Sentiment__Provider=azure</c>)
/// the local model is still trained and evaluated (its card says how well the tenant's own ratings are predicted), but
/// feedback is scored by the provider.
/// </summary>
public sealed class SentimentKind(
    SentimentTrainingOptions? options = null, double holdoutShare = 0.2, int minimumPerClass = 20, ISentimentProvider? provider = null,
    int folds = 5, int crossValidationLimit = 5_000)
    : IModelTrainer, IModelLoader, IChampionEvaluator
{
    private const string TrainedThroughParameter = "trained_through";

    private readonly ISentimentProvider? _external = provider is LocalSentimentProvider ? null : provider;
    private readonly SentimentTrainingOptions _options = options ?? new SentimentTrainingOptions();

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
        var all = rated.Select(r => r.Example).ToList();
        var n = rated.Count;
        SentimentEvaluation evaluation;
        string protocol;
        DateTimeOffset? holdoutFrom = null;
        if (TimeCut(rated) is { } cut)
        {
            evaluation = SentimentModel.EvaluateHoldout(all[..cut], all[cut..], _options);
            holdoutFrom = rated[cut].Timestamp;
            protocol = $"{EvaluationProtocols.TimeHoldout}: trained on the {cut:N0} rated texts before {holdoutFrom:yyyy-MM-dd HH:mm}, tested on the " +
                $"{n - cut:N0} from then on; the L2 weight is chosen by {_options.TuningFolds}-fold CV on the training part; the shipped model is refit on all {n:N0} texts";
        }
        else if (n <= crossValidationLimit)
        {
            evaluation = SentimentModel.CrossValidate(all, folds, _options);
            protocol = $"{EvaluationProtocols.StratifiedCrossValidation}: {folds} folds stratified by label over {n:N0} rated texts (their timestamps do not spread); " +
                $"the L2 weight is chosen by {_options.TuningFolds}-fold CV inside each training fold; the shipped model is refit on all {n:N0} texts";
        }
        else
        {
            var inTest = SentimentModel.StratifiedHoldout([.. all.Select(e => e.Positive)], HoldoutShare, _options.Seed);
            evaluation = SentimentModel.EvaluateHoldout([.. all.Where((_, i) => !inTest[i])], [.. all.Where((_, i) => inTest[i])], _options);
            protocol = $"{EvaluationProtocols.StratifiedHoldout}: a random {HoldoutShare:P0} of the {n:N0} rated texts, stratified by label (their timestamps do not spread); " +
                $"the L2 weight is chosen by {_options.TuningFolds}-fold CV on the rest; the shipped model is refit on all {n:N0} texts";
        }
        cancellationToken.ThrowIfCancellationRequested();
        // A holdout chose one L2 weight on the training part: keep it for the refit (the training part is most of the
        // data). Cross-validation chose one per fold, so the refit chooses again on all texts.
        var model = SentimentModel.Train(all, evaluation.Folds == 1 && _options.L2Regularization is null
            ? _options with { L2Regularization = evaluation.ChosenL2[0] } : _options);
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "P(positive) of a feedback text (0 negative … 1 positive), learned from the tenant's own ratings: 4-5 stars positive, 1-2 negative, " +
                $"3 and unrated left out of training. Labels: below {SentimentResult.NegativeBelow} negative, from {SentimentResult.PositiveFrom} positive, in between " +
                $"neutral (the model is unsure); {evaluation.NeutralShare:P0} of the out-of-sample texts fell in that neutral band. Accuracy counts P ≥ 0.5 as positive.",
            Algorithm = "ML.NET text featurizer (word 1-2-grams and char 1-5-grams, negation marked) with naive Bayes log-count-ratio weights + " +
                "L-BFGS logistic regression (NB-LR), L2 weight chosen by cross-validation",
            PromotionMetric = "accuracy",
            PromotionValue = evaluation.Accuracy,
            HigherIsBetter = true,
            EvaluationProtocol = protocol,
            Metrics =
            {
                ["accuracy"] = ModelCards.Round(evaluation.Accuracy),
                ["neutral_share"] = ModelCards.Round(evaluation.NeutralShare),
                ["accuracy_outside_neutral"] = ModelCards.Round(evaluation.AccuracyOutsideNeutral),
                ["test_positive_rate"] = ModelCards.Round(evaluation.TestPositiveRate),
            },
            Baselines =
            {
                ["majority_class"] = new Dictionary<string, double> { ["accuracy"] = ModelCards.Round(evaluation.MajorityAccuracy) },
                ["tfidf_logistic_regression"] = new Dictionary<string, double> { ["accuracy"] = ModelCards.Round(evaluation.TfIdfBaselineAccuracy) },
            },
            Charts = { ["confusion_matrix"] = ConfusionChart(evaluation.Confusion) },
            FeatureSchema = [new("text", "text", "feedback text (word and character n-grams)")],
            TrainingWindowStart = rated[0].Timestamp,
            Cutoff = holdoutFrom is null ? rated[^1].Timestamp : rated[all.Count - evaluation.TestRows - 1].Timestamp,
            RowCounts = { ["rated_texts"] = n, ["train_rows"] = evaluation.TrainRows, ["test_rows"] = evaluation.TestRows, ["final_fit_rows"] = Math.Min(n, _options.MaximumExamples) },
            Parameters =
            {
                ["l2_per_1000_texts"] = model.L2Regularization.ToString(CultureInfo.InvariantCulture),
                ["l2_candidates"] = string.Join(", ", _options.L2Candidates.Select(c => c.ToString(CultureInfo.InvariantCulture))),
                ["naive_bayes_smoothing"] = _options.NaiveBayesSmoothing.ToString(CultureInfo.InvariantCulture),
                ["l2_chosen_per_fold"] = string.Join(", ", evaluation.ChosenL2.Select(c => c.ToString(CultureInfo.InvariantCulture))),
                ["neutral_band"] = $"[{SentimentResult.NegativeBelow.ToString(CultureInfo.InvariantCulture)}, {SentimentResult.PositiveFrom.ToString(CultureInfo.InvariantCulture)})",
                ["max_training_texts"] = _options.MaximumExamples.ToString(CultureInfo.InvariantCulture),
                [TrainedThroughParameter] = rated[^1].Timestamp.ToString("O", CultureInfo.InvariantCulture),
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

    public IProfileScorer Load(Stream bundle, ModelCard card) =>
        new SentimentProfileScorer(card.Version, SentimentModel.Load(bundle), _external,
            card.Parameters.TryGetValue(TrainedThroughParameter, out var through) && DateTimeOffset.TryParse(through, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null);

    /// <summary>
    /// The champion's accuracy on the challenger's time holdout, when every text of that holdout is newer than the data the
    /// champion was fitted on (so both are out of sample on the same rows). Under cross-validation, or when the champion
    /// has seen the holdout (it was refit on all data of an earlier run), there is no such row set: null, and the runner
    /// compares with the champion's card, also an out-of-sample figure.
    /// </summary>
    public double? EvaluateChampion(IProfileScorer champion, TrainingSnapshot snapshot, ModelCard challenger)
    {
        if (champion is not SentimentProfileScorer { TrainedThrough: { } through } scorer
            || !challenger.EvaluationProtocol.StartsWith(EvaluationProtocols.TimeHoldout, StringComparison.Ordinal)
            || challenger.Cutoff is not { } cutoff)
        {
            return null;
        }
        var test = Rated(snapshot).Where(r => r.Timestamp > cutoff).ToList();
        if (test.Count == 0 || test[0].Timestamp <= through)
        {
            return null;
        }
        return test.Count(r => scorer.Model.Score(r.Example.Text) >= 0.5 == r.Example.Positive) / (double)test.Count;
    }

    /// <summary>x = actual class, y = predicted class (0 negative, 1 positive), label = how many texts.</summary>
    private static CardChart ConfusionChart(SentimentConfusion c) => new(
        "Confusion matrix (out of sample, P(positive) ≥ 0.5 predicts positive; 0 = negative, 1 = positive)", "actual class", "predicted class",
        [
            new(0, 0, c.TrueNegative.ToString(CultureInfo.InvariantCulture)),
            new(0, 1, c.FalsePositive.ToString(CultureInfo.InvariantCulture)),
            new(1, 0, c.FalseNegative.ToString(CultureInfo.InvariantCulture)),
            new(1, 1, c.TruePositive.ToString(CultureInfo.InvariantCulture)),
        ],
        c.Total);

    /// <summary>
    /// Where a time-based holdout starts, or null when the timestamps do not spread: the cut must fall between two
    /// different timestamps (ties never straddle it), leave between 10 % and 30 % of the texts after it, and leave both
    /// classes on each side. The cut nearest to <see cref="HoldoutShare"/> wins.
    /// </summary>
    private int? TimeCut(List<(DateTimeOffset Timestamp, SentimentExample Example)> rated)
    {
        var n = rated.Count;
        var target = (int)Math.Round(n * (1 - HoldoutShare));
        int? best = null;
        for (var cut = (int)Math.Ceiling(n * 0.7); cut <= (int)Math.Floor(n * 0.9); cut++)
        {
            if (cut <= 0 || cut >= n || rated[cut - 1].Timestamp >= rated[cut].Timestamp)
            {
                continue;
            }
            if (best is null || Math.Abs(cut - target) < Math.Abs(best.Value - target))
            {
                best = cut;
            }
        }
        if (best is not { } chosen)
        {
            return null;
        }
        bool BothClasses(IEnumerable<(DateTimeOffset, SentimentExample Example)> part) =>
            part.Any(r => r.Example.Positive) && part.Any(r => !r.Example.Positive);
        return BothClasses(rated.Take(chosen)) && BothClasses(rated.Skip(chosen)) ? chosen : null;
    }

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
/// <param name="trainedThrough">The newest rated text the model was fitted on (null for bundles without it).</param>
public sealed class SentimentProfileScorer(string version, SentimentModel model, ISentimentProvider? external = null, DateTimeOffset? trainedThrough = null) : IProfileScorer, IProfileEnricher
{
    public DateTimeOffset? TrainedThrough => trainedThrough;

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
