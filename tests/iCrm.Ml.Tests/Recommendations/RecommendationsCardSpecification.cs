using iCrm.Core.Profiles;
using iCrm.Ml.Recommendations;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Tests.Recommendations;

/// <summary>Issue 13 items 4 and 6: the recommendations card names its protocol, the grid it searched, coverage, a
/// popularity-bias figure and precision/recall/nDCG at k.</summary>
public sealed class RecommendationsCardSpecification
{
    private static List<CustomerProfile> Profiles(int customers, int seed) =>
        [.. RecommendationSimulation.Generate(customers, groups: 8, itemsPerGroup: 10, ordersPerCustomer: 5, seed: seed)
            .GroupBy(i => i.CustomerId)
            .Select(g => new CustomerProfile
            {
                Id = g.Key,
                Orders = [.. g.OrderBy(i => i.Time).Select((i, n) => new OrderLine($"{g.Key}-{n}", 1, i.Time, i.ItemId, 1, 10, "web", false))],
            })];

    [Fact]
    public async Task The_card_names_the_per_user_protocol_the_grid_coverage_popularity_bias_and_metrics_at_k()
    {
        var profiles = Profiles(1_500, seed: 21);
        var card = (await new RecommendationsKind().TrainAsync(new TrainingSnapshot(profiles, RecommendationSimulation.Start.AddDays(400)), "v", default)).Card;

        Assert.StartsWith(EvaluationProtocols.PerUserRandomHoldout + ":", card.EvaluationProtocol, StringComparison.Ordinal);
        Assert.Equal("10,30,100,300,1000,3000", card.Parameters["grid_ease_lambda"]);
        Assert.Equal("jaccard,lift,cooccurrence", card.Parameters["grid_similarity"]);
        Assert.Equal(1 + 6 + 3 * 5, card.Details!["grid"]!.AsArray().Count);
        Assert.InRange(card.Metrics["catalogue_coverage"], 0.3, 1);
        Assert.InRange(card.Metrics["popular_share"], 0, 1);
        Assert.Equal(card.PromotionValue, card.Metrics["ndcg_at_10"], 4);
        Assert.Null(PromotionGate.NotComparable(card));

        var chart = card.Charts["precision_recall_ndcg_at_k"];
        Assert.Equal(RecommenderTrainer.Ks.Length * 3, chart.Points.Count);
        Assert.Equal(card.RowCounts["report_customers"], chart.Rows);
        var recall = chart.Points.Where(p => p.Label == "recall").ToList();
        Assert.Equal(RecommenderTrainer.Ks.Select(k => (double)k), recall.Select(p => p.X));
        Assert.True(recall.Zip(recall.Skip(1)).All(p => p.Second.Y >= p.First.Y), "recall grows with k");
        Assert.Equal(card.Metrics["ndcg_at_10"], chart.Points.Single(p => p.Label == "ndcg" && p.X == 10).Y, 4);
        Assert.NotEmpty(card.Baselines);
    }

    [Fact]
    public async Task A_shop_with_too_few_customers_to_evaluate_gives_a_not_comparable_card()
    {
        var profiles = Profiles(30, seed: 22);
        var card = (await new RecommendationsKind().TrainAsync(new TrainingSnapshot(profiles, RecommendationSimulation.Start.AddDays(400)), "v", default)).Card;
        Assert.Contains("fewer than the 20 needed", PromotionGate.NotComparable(card), StringComparison.Ordinal);
        Assert.True(double.IsNaN(card.PromotionValue));
    }
}
