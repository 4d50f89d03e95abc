using iCrm.Core.Drops;
using iCrm.Core.Profiles;
using iCrm.Ml.Churn;
using iCrm.Ml.Training;
using Xunit.Abstractions;

namespace iCrm.Ml.Tests.Churn;

public sealed class NoiseLabelTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Labels_that_are_pure_noise_give_a_card_auc_near_one_half_never_a_confident_number()
    {
        // The telco customers' real attributes, with the churn label replaced by a coin flip (the real churn rate).
        var lines = File.ReadAllLines(Path.Combine(TelcoChurnEndToEndTests.DataDirectory, "churn-bigml-80.csv")).Where(l => l.Length > 0).Take(1_201).ToList();
        var header = lines[0].Split(',');
        var rng = new Random(11);
        var profiles = new List<CustomerProfile>();
        for (var r = 1; r < lines.Count; r++)
        {
            var cells = lines[r].Split(',');
            var p = new CustomerProfile { Id = $"n{r}", ChurnLabel = new ChurnLabel(rng.NextDouble() < 0.15, null, "noise") };
            for (var i = 0; i < header.Length; i++)
            {
                if (header[i] == "State")
                {
                    p.Contact.State = cells[i];
                }
                else if (header[i] != "Churn")
                {
                    p.Attributes[DropSchema.AttributeName(header[i])] = cells[i];
                }
            }

            profiles.Add(p);
        }

        var trained = await new ChurnKind().TrainAsync(new TrainingSnapshot(profiles, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), "noise", CancellationToken.None);

        output.WriteLine($"noise-label card AUC {trained.Card.PromotionValue:F4} ({trained.Card.Parameters["algorithm"]}), brier {trained.Card.Metrics["brier"]:F4} vs base rate {trained.Card.Baselines["base_rate"]["brier"]:F4}");
        Assert.InRange(trained.Card.PromotionValue, 0.43, 0.57);
        Assert.InRange(trained.Card.Metrics["brier"], trained.Card.Baselines["base_rate"]["brier"] - 0.005, 1);
    }
}
