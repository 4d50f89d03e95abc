using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Sentiment;
using iCrm.Ml.Training;

namespace iCrm.Ml.Tests.Sentiment;

public sealed class SentimentKindTests
{
    private static readonly DateTimeOffset AsOf = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Praise = ["great service", "love the product", "fast delivery, very happy", "excellent quality", "friendly staff, thanks", "works well"];
    private static readonly string[] Complaints = ["late delivery again", "product broke, angry", "rude staff", "refund never arrived", "poor quality, disappointed", "awful"];

    /// <summary>Rated feedback, alternating praise (5 stars) and complaints (1 star); <paramref name="time"/> gives each text's timestamp.</summary>
    private static TrainingSnapshot Snapshot(int texts, Func<int, DateTimeOffset> time, Func<int, string>? text = null)
    {
        var rng = new Random(9);
        var profiles = Enumerable.Range(0, texts / 4).Select(c => new CustomerProfile { Id = $"c{c:D4}" }).ToList();
        for (var i = 0; i < texts; i++)
        {
            var positive = i % 2 == 0;
            profiles[i % profiles.Count].Feedback.Add(new FeedbackItem
            {
                Timestamp = time(i),
                Channel = "web",
                Rating = positive ? 5 : 1,
                Text = text?.Invoke(i) ?? (positive ? Praise[rng.Next(Praise.Length)] : Complaints[rng.Next(Complaints.Length)]) + $" order {rng.Next(1000)}",
            });
        }
        return new TrainingSnapshot(profiles, AsOf);
    }

    [Fact]
    public async Task Identical_timestamps_are_evaluated_by_stratified_cross_validation_and_the_card_shows_the_confusion_matrix()
    {
        var snapshot = Snapshot(200, _ => AsOf.AddDays(-10));

        var card = (await new SentimentKind().TrainAsync(snapshot, "v1", CancellationToken.None)).Card;

        Assert.StartsWith(EvaluationProtocols.StratifiedCrossValidation, card.EvaluationProtocol);
        Assert.Equal(200, card.RowCounts["test_rows"]);
        Assert.Equal(200, card.RowCounts["final_fit_rows"]);
        var matrix = card.Charts["confusion_matrix"];
        Assert.Equal(200, matrix.Rows);
        Assert.Equal(200, matrix.Points.Sum(p => int.Parse(p.Label!, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal([(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)], matrix.Points.Select(p => (p.X, p.Y)));
        Assert.True(card.PromotionValue > 0.9, $"accuracy {card.PromotionValue}");
        Assert.InRange(card.Metrics["neutral_share"], 0, 1);
        Assert.Contains("tfidf_logistic_regression", card.Baselines.Keys);
    }

    [Fact]
    public async Task Spread_timestamps_are_evaluated_on_the_newest_texts_and_the_shipped_model_is_refit_on_all_of_them()
    {
        // The newest fifth carries a word never seen before, always in complaints: only a model refit on all texts knows it.
        var snapshot = Snapshot(300, i => AsOf.AddDays(-300 + i), i => i >= 240 && i % 2 == 1 ? $"zorblax zorblax {i}" : i % 2 == 0 ? $"great service {i}" : $"rude staff {i}");
        var kind = new SentimentKind();

        var trained = await kind.TrainAsync(snapshot, "v1", CancellationToken.None);

        Assert.StartsWith(EvaluationProtocols.TimeHoldout, trained.Card.EvaluationProtocol);
        Assert.Equal(60, trained.Card.RowCounts["test_rows"]);
        Assert.Equal(240, trained.Card.RowCounts["train_rows"]);
        Assert.Equal(AsOf.AddDays(-300 + 239), trained.Card.Cutoff);
        var scorer = (SentimentProfileScorer)kind.Load(new MemoryStream(trained.Bundle), trained.Card);
        Assert.True(scorer.Model.Score("zorblax zorblax") < 0.5, $"score {scorer.Model.Score("zorblax zorblax"):F3}");
    }

    [Fact]
    public async Task The_champion_is_measured_on_the_challengers_holdout_only_when_it_never_saw_those_texts()
    {
        var kind = new SentimentKind();
        var early = Snapshot(200, i => AsOf.AddDays(-400 + i));
        var champion = await kind.TrainAsync(early, "v1", CancellationToken.None);
        var championScorer = kind.Load(new MemoryStream(champion.Bundle), champion.Card);

        // Later data: the new holdout (newest fifth) is newer than anything the champion trained on.
        var later = Snapshot(400, i => AsOf.AddDays(-400 + i));
        var challenger = await kind.TrainAsync(later, "v2", CancellationToken.None);
        Assert.NotNull(kind.EvaluateChampion(championScorer, later, challenger.Card));

        // The champion has seen the challenger's holdout (same data): no common out-of-sample rows, use its card.
        var again = await kind.TrainAsync(early, "v3", CancellationToken.None);
        var laterChampion = kind.Load(new MemoryStream(challenger.Bundle), challenger.Card);
        Assert.Null(kind.EvaluateChampion(laterChampion, early, again.Card));
    }
}
