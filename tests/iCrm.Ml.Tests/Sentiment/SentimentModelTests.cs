using iCrm.Core.Profiles;
using iCrm.Ml.Sentiment;
using iCrm.Testing;

namespace iCrm.Ml.Tests.Sentiment;

/// <summary>The UCI "Sentiment Labelled Sentences" Amazon file: cross-validated and refit once for all tests.</summary>
public sealed class AmazonSentences
{
    public AmazonSentences()
    {
        using var reader = File.OpenText(Locate());
        Examples = SentimentExamples.ReadLabelledSentences(reader);
        Evaluation = SentimentModel.CrossValidate(Examples, folds: 5);
        Model = SentimentModel.Train(Examples);
    }

    public List<SentimentExample> Examples { get; }

    public SentimentModel Model { get; }

    public SentimentEvaluation Evaluation { get; }

    private static string Locate() => TestData.Path("sentiment", "amazon_cells_labelled.txt");
}

public sealed class SentimentModelTests(AmazonSentences amazon) : IClassFixture<AmazonSentences>
{

    [Fact]
    public void Every_labelled_sentence_is_read_including_quoted_ones()
    {
        Assert.Equal(1000, amazon.Examples.Count);
        Assert.Equal(500, amazon.Examples.Count(e => e.Positive));
        Assert.Contains(amazon.Examples, e => e.Text == "Good case, Excellent value." && e.Positive);
        Assert.Contains(amazon.Examples, e => e.Text.Contains("the ear \"clip\" is not", StringComparison.Ordinal));
    }

    [Fact]
    public void Five_fold_accuracy_on_the_amazon_sentences_reaches_0_85_and_beats_tfidf_logistic_regression()
    {
        // Issue 13 target: >= 0.85 (TF-IDF + logistic regression reaches about 0.825 on this file).
        Assert.Equal(5, amazon.Evaluation.Folds);
        Assert.Equal(1000, amazon.Evaluation.TestRows);
        Assert.Equal(1000, amazon.Evaluation.Confusion.Total);
        Assert.True(amazon.Evaluation.Accuracy >= 0.85, $"accuracy {amazon.Evaluation.Accuracy:F3}");
        Assert.True(amazon.Evaluation.Accuracy > amazon.Evaluation.TfIdfBaselineAccuracy, $"accuracy {amazon.Evaluation.Accuracy:F3}, TF-IDF {amazon.Evaluation.TfIdfBaselineAccuracy:F3}");
        Assert.Equal(5, amazon.Evaluation.ChosenL2.Count);
    }

    [Fact]
    public void The_neutral_band_share_is_reported_and_texts_outside_it_are_classified_more_accurately()
    {
        Assert.InRange(amazon.Evaluation.NeutralShare, 0.01, 0.5);
        Assert.True(amazon.Evaluation.AccuracyOutsideNeutral > amazon.Evaluation.Accuracy,
            $"outside the band {amazon.Evaluation.AccuracyOutsideNeutral:F3}, overall {amazon.Evaluation.Accuracy:F3}");
    }

    [Fact]
    public void Labels_that_are_pure_noise_give_an_out_of_sample_accuracy_near_one_half()
    {
        var rng = new Random(5);
        var noise = amazon.Examples.Take(400).Select(e => e with { Positive = rng.Next(2) == 0 }).ToList();

        var evaluation = SentimentModel.CrossValidate(noise, folds: 5);

        Assert.InRange(evaluation.Accuracy, 0.4, 0.6);
    }

    [Fact]
    public void Scores_are_probabilities_that_lean_the_right_way()
    {
        var good = amazon.Model.Score("Excellent phone, great sound and the battery lasts, I love it.");
        var bad = amazon.Model.Score("Terrible, it broke after a week and support was useless. Waste of money.");

        Assert.InRange(good, 0, 1);
        Assert.InRange(bad, 0, 1);
        Assert.True(good > 0.5 && bad < 0.5, $"good {good:F3}, bad {bad:F3}");
        Assert.Equal(0.5, amazon.Model.Score("   "));
    }

    [Fact]
    public void Save_then_load_gives_identical_scores()
    {
        using var stream = new MemoryStream();
        amazon.Model.Save(stream);
        stream.Position = 0;
        var loaded = SentimentModel.Load(stream);

        foreach (var e in amazon.Examples.Take(100))
        {
            Assert.Equal(amazon.Model.Score(e.Text), loaded.Score(e.Text));
        }
    }

    [Fact]
    public async Task Scoring_from_many_threads_at_once_gives_the_same_answers()
    {
        var texts = amazon.Examples.Take(200).Select(e => e.Text).ToArray();
        var expected = texts.Select(amazon.Model.Score).ToArray();

        var parallel = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => texts.Select(amazon.Model.Score).ToArray())));

        Assert.All(parallel, scores => Assert.Equal(expected, scores));
    }

    [Fact]
    public async Task The_local_provider_is_disabled_until_it_has_a_model_and_then_scores_in_order()
    {
        var provider = new LocalSentimentProvider();
        Assert.False(provider.IsEnabled);
        await Assert.ThrowsAsync<SentimentUnavailableException>(() => provider.ScoreAsync(["x"], CancellationToken.None));

        provider.Model = amazon.Model;
        var results = await provider.ScoreAsync(["I love this, works great.", "Broken and useless, very disappointed."], CancellationToken.None);

        Assert.True(provider.IsEnabled);
        Assert.Equal(2, results.Count);
        Assert.Equal(SentimentLabel.Positive, results[0].Label);
        Assert.Equal(SentimentLabel.Negative, results[1].Label);
    }
}

public sealed class SentimentExamplesTests
{
    [Fact]
    public void Words_after_a_negation_are_marked_up_to_the_next_punctuation()
    {
        Assert.Equal("not neggood, but it's fine", SentimentModel.MarkNegation("not good, but it's fine"));
        Assert.Equal("It doesn't negwork negat negall. Great", SentimentModel.MarkNegation("It doesn't work at all. Great"));
        Assert.Equal("never 2 negbuy", SentimentModel.MarkNegation("never 2 buy"));
    }

    [Fact]
    public void Ratings_become_weak_labels_and_middling_or_unrated_feedback_is_left_out()
    {
        FeedbackItem Item(int? rating, string text = "text") =>
            new() { Timestamp = DateTimeOffset.UnixEpoch, Rating = rating, Channel = "web", Text = text };

        var examples = SentimentExamples.FromFeedback([Item(5), Item(4), Item(3), Item(2), Item(1), Item(null), Item(5, " ")]);

        Assert.Equal([true, true, false, false], examples.Select(e => e.Positive));
    }

    [Fact]
    public void A_model_trained_on_weakly_labelled_feedback_separates_praise_from_complaints()
    {
        var rng = new Random(3);
        string[] praise = ["great service", "love the product", "fast delivery, very happy", "excellent quality", "friendly staff, thanks"];
        string[] complaints = ["late delivery again", "product broke, angry", "rude staff", "refund never arrived", "poor quality, disappointed"];
        var feedback = Enumerable.Range(0, 300).Select(i => new FeedbackItem
        {
            Timestamp = DateTimeOffset.UnixEpoch.AddDays(i),
            Channel = "web",
            Rating = i % 2 == 0 ? rng.Next(4, 6) : rng.Next(1, 3),
            Text = i % 2 == 0 ? praise[rng.Next(praise.Length)] : complaints[rng.Next(complaints.Length)],
        });

        var model = SentimentModel.Train(SentimentExamples.FromFeedback(feedback));

        Assert.True(model.Score("very happy, excellent quality") > 0.7);
        Assert.True(model.Score("broke and the refund was late") < 0.3);
    }

    [Fact]
    public void Results_are_labelled_from_the_score()
    {
        Assert.Equal(SentimentLabel.Positive, SentimentResult.FromScore(0.6).Label);
        Assert.Equal(SentimentLabel.Neutral, SentimentResult.FromScore(0.5).Label);
        Assert.Equal(SentimentLabel.Negative, SentimentResult.FromScore(0.39).Label);
        Assert.Equal(1.0, SentimentResult.FromScore(1.7).Score);
    }
}
