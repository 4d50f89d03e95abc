using System.Text.Json;
using iCrm.Core.Profiles;
using iCrm.Ml.Recommendations;

namespace iCrm.Ml.Tests.Recommendations;

public class RecommenderSpecification
{
    private static readonly Lazy<(List<Interaction> Data, RecommenderTrainingResult Result)> Trained = new(() =>
    {
        var data = RecommendationSimulation.Generate(customers: 3_000, groups: 20, itemsPerGroup: 15, ordersPerCustomer: 6, seed: 3);
        return (data, RecommenderTrainer.Train(data, new RecommenderOptions()));
    });

    private static RecommendationModel FitKind(string kind) =>
        RecommenderTrainer.Fit(kind, InteractionData.Build(Trained.Value.Data), new RecommenderOptions());

    [Fact]
    public void Item_similarity_and_ease_beat_popularity_on_a_shop_with_planted_item_groups()
    {
        var metrics = Trained.Value.Result.Metrics.GroupBy(m => m.Kind).ToDictionary(g => g.Key, g => g.MaxBy(m => m.NdcgAt10)!);
        Assert.Equal(3, metrics.Count);
        var popularity = metrics[RecommenderKinds.Popularity];
        Assert.True(metrics[RecommenderKinds.ItemSimilarity].NdcgAt10 > popularity.NdcgAt10 * 1.2, $"sar {metrics[RecommenderKinds.ItemSimilarity]} vs {popularity}");
        Assert.True(metrics[RecommenderKinds.Ease].NdcgAt10 > popularity.NdcgAt10 * 1.2, $"ease {metrics[RecommenderKinds.Ease]} vs {popularity}");
        Assert.True(metrics[RecommenderKinds.Ease].RecallAt10 > popularity.RecallAt10);
        Assert.True(metrics[RecommenderKinds.ItemSimilarity].PrecisionAt10 > popularity.PrecisionAt10);
        Assert.True(metrics[RecommenderKinds.Ease].Coverage > popularity.Coverage);
        Assert.True(popularity.PopularShare > metrics[RecommenderKinds.Ease].PopularShare);
    }

    [Fact]
    public void The_trainer_searches_the_grid_keeps_an_accurate_candidate_and_reports_it_on_customers_it_did_not_choose_on()
    {
        var result = Trained.Value.Result;
        var options = new RecommenderOptions();
        Assert.Equal(1 + options.EaseLambdas.Count + options.Similarities.Count * options.HalfLives.Count, result.Metrics.Count);
        Assert.Empty(result.Skipped);
        var chosen = result.Metrics.Single(m => m.Candidate == result.ChosenCandidate);
        Assert.True(chosen.NdcgAt10 >= result.Metrics.Max(m => m.NdcgAt10) * (1 - options.CoverageTolerance));
        Assert.Equal(result.Chosen, result.Model.Kind);
        Assert.Equal(result.ChosenCandidate, result.Report[0].Candidate);
        Assert.Equal(3, result.Report.Select(m => m.Kind).Distinct().Count());
        Assert.All(result.Metrics, m => Assert.True(m.Customers > 500 && m.NdcgAt10 is > 0 and <= 1));
        // Selection and report customers are the two halves of the eligible customers.
        Assert.InRange(result.Report[0].Customers, result.Metrics[0].Customers * 0.8, result.Metrics[0].Customers * 1.25);
        Assert.True(result.HoldoutInteractions > 0 && result.TrainInteractions > result.HoldoutInteractions);
    }

    [Fact]
    public void The_per_user_holdout_hides_some_but_never_all_of_each_eligible_customers_items_whatever_order_the_lines_came_in()
    {
        var data = Trained.Value.Data;
        var (train, selection, report) = InteractionData.Build(data).PerUserSplit(0.25, 2, seed: 4);
        var (_, again, _) = InteractionData.Build([.. data.AsEnumerable().Reverse()]).PerUserSplit(0.25, 2, seed: 4);
        Assert.Equal(selection.Select(c => (c.CustomerId, string.Join(",", c.Relevant.Order(StringComparer.Ordinal)))),
            again.Select(c => (c.CustomerId, string.Join(",", c.Relevant.Order(StringComparer.Ordinal)))));
        Assert.Empty(selection.Select(c => c.CustomerId).Intersect(report.Select(c => c.CustomerId)));
        var eligible = data.GroupBy(i => i.CustomerId).Count(g => g.Select(i => i.ItemId).Distinct().Count() >= 2);
        Assert.Equal(eligible, selection.Count + report.Count);
        foreach (var c in selection.Concat(report))
        {
            Assert.NotEmpty(c.Relevant);
            Assert.NotEmpty(c.History);
            Assert.DoesNotContain(c.History, h => c.Relevant.Contains(h.ItemId));
        }
        var customer = Array.IndexOf(train.Customers, selection[0].CustomerId);
        Assert.DoesNotContain(train.Purchases[customer], p => selection[0].Relevant.Contains(train.Items[p.Item]));
    }

    [Fact]
    public void A_spent_time_budget_still_tries_every_kinds_default_and_lists_what_it_skipped()
    {
        var data = RecommendationSimulation.Generate(customers: 500, groups: 5, itemsPerGroup: 10, ordersPerCustomer: 5, seed: 9);
        var result = RecommenderTrainer.Train(data, new RecommenderOptions { TuningSeconds = 0 });
        Assert.Equal(3, result.Metrics.Count);
        Assert.Equal(3, result.Metrics.Select(m => m.Kind).Distinct().Count());
        Assert.NotEmpty(result.Skipped);
    }

    [Fact]
    public void A_customer_who_bought_from_one_group_is_recommended_that_groups_other_items_with_a_reason_naming_a_bought_item()
    {
        var model = Trained.Value.Result.Model;
        var t = RecommendationSimulation.Start.AddDays(100);
        var history = new List<Purchase> { new(RecommendationSimulation.Item(7, 0), t), new(RecommendationSimulation.Item(7, 1), t), new(RecommendationSimulation.Item(7, 2), t.AddDays(3)) };
        var recs = model.Recommend(history, 10);
        Assert.Equal(10, recs.Count);
        Assert.True(recs.Count(r => r.ItemId.StartsWith("g07-", StringComparison.Ordinal)) >= 7, string.Join(", ", recs.Select(r => r.ItemId)));
        var first = recs[0];
        Assert.StartsWith("often bought with ", first.Reason);
        Assert.Contains(first.BecauseOf, history.Select(h => h.ItemId));
        Assert.EndsWith(first.BecauseOf!, first.Reason);
        Assert.True(recs.Zip(recs.Skip(1)).All(p => p.First.Score >= p.Second.Score || p.Second.Reason == "popular"));
    }

    [Theory]
    [InlineData(RecommenderKinds.ItemSimilarity)]
    [InlineData(RecommenderKinds.Ease)]
    [InlineData(RecommenderKinds.Popularity)]
    public void Items_already_bought_are_not_recommended_again_unless_repurchase_is_typical(string kind)
    {
        var model = FitKind(kind);
        var t = RecommendationSimulation.Start.AddDays(200);
        string once = RecommendationSimulation.Item(3, 0), staple = "staple-0";
        int stapleIndex = model.Index[staple], onceIndex = model.Index[once];
        Assert.True(model.RepurchaseRates[stapleIndex] >= model.RepurchaseThreshold, $"staple rate {model.RepurchaseRates[stapleIndex]}");
        Assert.True(model.RepurchaseRates[onceIndex] < model.RepurchaseThreshold, $"one-off rate {model.RepurchaseRates[onceIndex]}");

        var recs = model.Recommend([new(once, t), new(staple, t), new("staple-1", t)], 20);
        Assert.DoesNotContain(recs, r => r.ItemId == once);
        if (kind != RecommenderKinds.Ease) Assert.Contains(recs, r => r.ItemId == staple); // EASE has a zero diagonal: it does not recommend an item from itself
    }

    [Fact]
    public void A_customer_with_no_history_gets_popular_items()
    {
        var model = Trained.Value.Result.Model;
        var recs = model.Recommend([], 10);
        Assert.Equal(10, recs.Count);
        Assert.All(recs, r => { Assert.Equal("popular", r.Reason); Assert.Null(r.BecauseOf); });
        Assert.Equal(model.PopularIds.Take(10).Select(i => model.Items[i]), recs.Select(r => r.ItemId));

        var unknown = model.Recommend([new("never-seen", RecommendationSimulation.Start)], 5);
        Assert.All(unknown, r => Assert.Equal("popular", r.Reason));
    }

    [Theory]
    [InlineData(RecommenderKinds.ItemSimilarity)]
    [InlineData(RecommenderKinds.Ease)]
    public void A_model_survives_a_json_round_trip_and_recommends_the_same(string kind)
    {
        var model = FitKind(kind);
        var back = JsonSerializer.Deserialize<RecommendationModel>(JsonSerializer.Serialize(model))!;
        var t = RecommendationSimulation.Start.AddDays(300);
        List<Purchase> history = [new(RecommendationSimulation.Item(2, 1), t.AddDays(-40)), new(RecommendationSimulation.Item(9, 0), t)];
        Assert.Equal(model.Recommend(history, 10), back.Recommend(history, 10));
        Assert.Equal(kind, back.Kind);
    }

    [Fact]
    public void Recent_purchases_weigh_more_than_old_ones_in_item_similarity()
    {
        var model = FitKind(RecommenderKinds.ItemSimilarity);
        var now = RecommendationSimulation.Start.AddDays(300);
        var recs = model.Recommend([new(RecommendationSimulation.Item(4, 0), now.AddDays(-400)), new(RecommendationSimulation.Item(11, 0), now)], 5, now);
        Assert.All(recs, r => Assert.StartsWith("g11-", r.ItemId));
    }

    [Fact]
    public void Interactions_come_from_order_lines_without_returns_or_missing_products()
    {
        var profile = new CustomerProfile
        {
            Id = "c1",
            Orders =
            [
                new("o1", 1, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "P1", 2, 10, "web", false),
                new("o1", 2, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), "P2", 1, 10, "web", true),
                new("o1", 3, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), null, 1, 10, "web", false),
                new("o2", 1, DateTimeOffset.Parse("2026-03-01T00:00:00Z"), "P3", 1, 10, "web", false),
            ],
        };
        var interactions = Interaction.FromProfiles([profile], DateTimeOffset.Parse("2026-02-01T00:00:00Z"));
        var only = Assert.Single(interactions);
        Assert.Equal(("c1", "P1", 2.0), (only.CustomerId, only.ItemId, only.Quantity));
        Assert.Equal(["P1", "P3"], Purchase.FromProfile(profile).Select(p => p.ItemId));
    }

    [Fact]
    public void The_blocked_inverse_matches_mathnet_on_a_random_positive_definite_matrix()
    {
        const int n = 150;
        var rnd = new Random(5);
        var x = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(400, n, (_, _) => rnd.NextDouble() < 0.05 ? 1 : 0);
        var g = x.TransposeThisAndMultiply(x) + MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseIdentity(n) * 5;
        var a = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) a[i * n + j] = g[i, j];
        SymmetricInverse.InvertInPlace(a, n, blockSize: 32);
        var expected = g.Inverse();
        double worst = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) worst = Math.Max(worst, Math.Abs(expected[i, j] - a[i * n + j]));
        Assert.True(worst < 1e-10, $"max difference {worst}");
    }
}

public class ItemSimilarityOptionsSpecification
{
    [Fact]
    public void Lift_similarity_is_an_option_and_still_finds_the_planted_groups()
    {
        var data = RecommendationSimulation.Generate(customers: 1_000, groups: 10, itemsPerGroup: 10, ordersPerCustomer: 5, seed: 8);
        var model = RecommenderTrainer.Fit(RecommenderKinds.ItemSimilarity, InteractionData.Build(data), new RecommenderOptions { Similarity = "lift" });
        var t = RecommendationSimulation.Start.AddDays(10);
        var recs = model.Recommend([new(RecommendationSimulation.Item(5, 0), t), new(RecommendationSimulation.Item(5, 1), t)], 5);
        Assert.True(recs.Count(r => r.ItemId.StartsWith("g05-", StringComparison.Ordinal)) >= 4, string.Join(", ", recs.Select(r => r.ItemId)));
    }

    [Fact]
    public void Ease_is_fitted_on_the_most_bought_items_when_the_catalogue_is_larger_than_the_dense_limit()
    {
        var data = RecommendationSimulation.Generate(customers: 500, groups: 10, itemsPerGroup: 10, ordersPerCustomer: 5, seed: 8);
        var options = new RecommenderOptions { MaxEaseItems = 50, Kinds = [RecommenderKinds.Ease] };
        var result = RecommenderTrainer.Train(data, options);
        Assert.Equal(50, result.EaseItems);
        var model = result.Model;
        Assert.Equal(RecommenderKinds.Ease, model.Kind);
        Assert.Equal(model.Items.Length, model.NeighbourIds.Length);
        var withNeighbours = Enumerable.Range(0, model.Items.Length).Where(i => model.NeighbourIds[i].Length > 0).ToList();
        Assert.InRange(withNeighbours.Count, 10, 50);
        var top50 = data.GroupBy(i => i.ItemId).OrderByDescending(g => g.Select(i => i.CustomerId).Distinct().Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(50).Select(g => g.Key).ToHashSet();
        Assert.All(withNeighbours, i => Assert.Contains(model.Items[i], top50));
    }
}
