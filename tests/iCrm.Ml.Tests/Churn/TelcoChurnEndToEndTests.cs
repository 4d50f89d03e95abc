using iCrm.Ml.Churn;
using iCrm.Ml.Registry;
using iCrm.Ml.Tests.Training;
using iCrm.Ml.Training;
using iCrm.Testing;
using Xunit.Abstractions;

namespace iCrm.Ml.Tests.Churn;

/// <summary>
/// The public telco churn data (../shared/data/churn) as a user meets it: the 80 file dropped as customers with a
/// row-number id and its <c>Churn</c> column, the 20 file dropped without it (so its labels cannot leak into training),
/// one training run, then the 20 file's customers scored by the champion exactly as the API scores them.
/// </summary>
public sealed class TelcoChurnEndToEndTests(ITestOutputHelper output)
{
    internal static string DataDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "..", "shared", "data", "churn");
                if (File.Exists(Path.Combine(candidate, "churn-bigml-80.csv")))
                {
                    return Path.GetFullPath(candidate);
                }
            }

            throw new FileNotFoundException("../shared/data/churn/churn-bigml-80.csv was not found above the test's directory.");
        }
    }

    /// <summary>The file with a <c>customer_id</c> column in front (prefix + row number); without its label column when asked.</summary>
    internal static (string Csv, List<(string Id, bool Churned)> Truth) AsCustomersDrop(string file, string idPrefix, bool keepLabel)
    {
        var lines = File.ReadAllLines(Path.Combine(DataDirectory, file)).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split(',');
        var label = Array.FindIndex(header, h => h.Trim().Equals("Churn", StringComparison.OrdinalIgnoreCase));
        var truth = new List<(string, bool)>();
        var csv = new System.Text.StringBuilder();
        string Row(string[] cells) => string.Join(',', keepLabel ? cells : cells.Where((_, i) => i != label));
        csv.Append("customer_id,").AppendLine(Row(header));
        for (var r = 1; r < lines.Count; r++)
        {
            var cells = lines[r].Split(',');
            var id = $"{idPrefix}{r}";
            truth.Add((id, bool.Parse(cells[label])));
            csv.Append(id).Append(',').AppendLine(Row(cells));
        }

        return (csv.ToString(), truth);
    }

    [Fact]
    public async Task Trained_on_the_80_file_the_champion_ranks_the_20_file_above_gradient_boosting_and_its_card_says_so()
    {
        var harness = new IngestionHarness();
        var (train, trainTruth) = AsCustomersDrop("churn-bigml-80.csv", "a", keepLabel: true);
        var (test, testTruth) = AsCustomersDrop("churn-bigml-20.csv", "b", keepLabel: false);
        var trainReport = await harness.IngestAsync("telco/customers/churn-bigml-80.csv", train);
        var testReport = await harness.IngestAsync("telco/customers/churn-bigml-20.csv", test);
        Assert.Equal(trainTruth.Count, trainReport.RowsAccepted);
        Assert.Equal(testTruth.Count, testReport.RowsAccepted);
        var labelled = await harness.FindBySourceAsync("telco", trainTruth[0].Id);
        Assert.Equal(trainTruth[0].Churned, labelled!.ChurnLabel!.Churned);
        Assert.Equal("yes", labelled.Attributes["voice_mail_plan"].ToLowerInvariant());

        var registry = new InMemoryModelRegistry();
        var churn = new ChurnKind();
        var asOf = harness.Time.GetUtcNow();
        var run = await TrainingWorld.Runner(harness.Customers, registry, [(churn, churn)]).RunAsync(new TrainingRunRecord
        {
            RunId = "telco",
            Trigger = "test",
            RequestedAt = asOf,
            AsOf = asOf,
            Kinds = [ModelKinds.Churn],
        });
        Assert.True(run.Models[ModelKinds.Churn].Promoted, run.Models[ModelKinds.Churn].Reason);

        var champion = (await registry.GetChampionAsync(ModelKinds.Churn))!.Value.Version;
        var card = (await registry.GetCardAsync(ModelKinds.Churn, champion))!;
        await using var bundle = (await registry.OpenBundleAsync(ModelKinds.Churn, champion))!;
        var scorer = churn.Load(bundle, card);
        var scores = new List<double>();
        foreach (var (id, _) in testTruth)
        {
            var profile = await harness.FindBySourceAsync("telco", id);
            Assert.Null(profile!.ChurnLabel);
            scores.Add(scorer.Score(profile, asOf).Value);
        }

        var dev = BinaryMetrics.Compute(scores, [.. testTruth.Select(t => t.Churned)]);
        output.WriteLine($"dev AUC {dev.RocAuc:F4}, brier {dev.Brier:F4}; card AUC {card.PromotionValue:F4} ({card.Parameters["algorithm"]}); {card.EvaluationProtocol}");
        output.WriteLine(string.Join(", ", card.Details!["search"]!.AsObject().Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.True(dev.RocAuc >= 0.93, $"ROC-AUC on the 20 file {dev.RocAuc:F4}");
        Assert.InRange(card.PromotionValue, dev.RocAuc - 0.03, dev.RocAuc + 0.03);
        Assert.StartsWith(EvaluationProtocols.StratifiedCrossValidation, card.EvaluationProtocol);
        Assert.Equal(trainTruth.Count, card.RowCounts["refit_rows"]);
        Assert.Equal("explicit", card.Details["labelDefinition"]!.GetValue<string>());
        Assert.DoesNotContain("buys nothing", card.Description);
        Assert.Contains("attr:international_plan", card.FeatureSchema.Select(f => f.Name));
        Assert.Contains("attr_target:state", card.FeatureSchema.Select(f => f.Name));
        Assert.True(card.Metrics["brier"] < card.Baselines["base_rate"]["brier"]);
        Assert.Equal(["calibration", "lift", "precision_recall", "roc"], card.Charts.Keys.Order());
        Assert.All(card.Charts.Values, c => Assert.Equal(trainTruth.Count, c.Rows));
    }
}
