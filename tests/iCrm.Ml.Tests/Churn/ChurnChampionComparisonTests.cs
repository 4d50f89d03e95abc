using iCrm.Core.Profiles;
using iCrm.Ml.Churn;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Tests.Churn;

public sealed class ChurnChampionComparisonTests
{
    [Fact]
    public async Task Under_cross_validation_the_champion_configuration_is_measured_on_the_challengers_folds_not_on_rows_it_trained_on()
    {
        // Customers with explicit, undated labels that follow an attribute (plus noise): the cross-validation protocol.
        var rng = new Random(5);
        var profiles = Enumerable.Range(0, 400).Select(i =>
        {
            var calls = rng.Next(0, 8);
            return new CustomerProfile
            {
                Id = $"e{i}",
                Attributes = new Dictionary<string, string>
                {
                    ["service_calls"] = calls.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["plan"] = rng.NextDouble() < 0.5 ? "Basic" : "Premium",
                },
                ChurnLabel = new ChurnLabel(rng.NextDouble() < 0.1 + calls * 0.08, null, "crm"),
            };
        }).ToList();
        var snapshot = new TrainingSnapshot(profiles, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var kind = new ChurnKind(new ChurnTrainingOptions { Boosted = [(50, 8, 0.1)] });
        var trained = await kind.TrainAsync(snapshot, "v1", CancellationToken.None);
        var champion = kind.Load(new MemoryStream(trained.Bundle), trained.Card);

        Assert.StartsWith(EvaluationProtocols.StratifiedCrossValidation, trained.Card.EvaluationProtocol);
        // Found in this run's search (same configuration, same folds) …
        Assert.Equal(trained.Card.PromotionValue, kind.EvaluateChampion(champion, snapshot, trained.Card)!.Value, 6);
        // … and, without that record, refit fold by fold: the same number, not the champion's in-sample score.
        trained.Card.Details!.Remove("search");
        Assert.Equal(trained.Card.PromotionValue, kind.EvaluateChampion(champion, snapshot, trained.Card)!.Value, 6);
        var inSample = BinaryMetrics.Compute([.. profiles.Select(p => champion.Score(p, snapshot.AsOf).Value)], [.. profiles.Select(p => p.ChurnLabel!.Churned)]);
        Assert.True(inSample.RocAuc > trained.Card.PromotionValue, "the refit model has seen every row, so its own score on them is flattering");
    }
}
