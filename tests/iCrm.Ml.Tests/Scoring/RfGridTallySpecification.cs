using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Segments;
using iCrm.Ml.Tests.Training;
using iCrm.Testing;

namespace iCrm.Ml.Tests.Scoring;

/// <summary>
/// The RFM grid of the write-back: each slice tallies customers, value and churn per recency × frequency cell, the reduce
/// sums the slices, and the result is the same as tallying every customer at once, whatever the slicing.
/// </summary>
public sealed class RfGridTallySpecification
{
    private static readonly DateTimeOffset At = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, Prediction> Scored(int r, int f, double churn, double clv, bool flat = true)
    {
        var segments = new Prediction("s1", At, -1, RfmModel.SegmentFor(r, f),
            [new("rfm_recency", "recency", r), new("rfm_frequency", "frequency", f), new("rfm_monetary", "monetary", 3)]);
        return new()
        {
            [ModelKinds.Segments] = flat ? segments with { Recency = r, Frequency = f } : segments,
            [ModelKinds.Churn] = new Prediction("c1", At, churn, null, []),
            [ModelKinds.Clv] = new Prediction("v1", At, clv, null, []),
        };
    }

    /// <summary>200 customers spread over the grid, plus prospects (no RFM score) and customers without a churn score.</summary>
    private static List<Dictionary<string, Prediction>> Population()
    {
        var rng = new Random(11);
        var list = new List<Dictionary<string, Prediction>>();
        for (var i = 0; i < 200; i++)
        {
            list.Add(Scored(1 + rng.Next(5), 1 + rng.Next(3), Math.Round(rng.NextDouble(), 3), Math.Round(rng.NextDouble() * 500, 2), flat: i % 7 != 0));
        }
        for (var i = 0; i < 15; i++)
        {
            list.Add(new() { [ModelKinds.Segments] = new Prediction("s1", At, -1, SegmentsKind.ProspectSegment, []) });
        }
        var noChurn = Scored(5, 5, 0, 120);
        noChurn.Remove(ModelKinds.Churn);
        list.Add(noChurn);
        return list;
    }

    [Fact]
    public void The_reduce_of_the_slices_equals_one_tally_of_everybody_whatever_the_slicing()
    {
        var population = Population();
        var whole = new ScoringTally();
        population.ForEach(whole.Add);

        foreach (var slices in new[] { 1, 3, 8 })
        {
            var parts = Enumerable.Range(0, slices).Select(_ => new ScoringTally()).ToArray();
            for (var i = 0; i < population.Count; i++)
            {
                parts[i % slices].Add(population[i]);
            }
            var reduced = new ScoringTally();
            foreach (var part in parts.Reverse())
            {
                reduced.Add(part);
            }

            Assert.Equal(whole.RfGrid.Keys.Order(), reduced.RfGrid.Keys.Order());
            foreach (var (key, expected) in whole.RfGrid)
            {
                var actual = reduced.RfGrid[key];
                Assert.Equal(expected.Customers, actual.Customers);
                Assert.Equal(expected.Value, actual.Value, 6);
                Assert.Equal(expected.ChurnScored, actual.ChurnScored);
                Assert.Equal(expected.ChurnProbability, actual.ChurnProbability, 6);
            }
        }
    }

    [Fact]
    public void A_cell_counts_exactly_its_customers_and_prospects_are_in_no_cell()
    {
        var population = Population();
        var tally = new ScoringTally();
        population.ForEach(tally.Add);

        // 201 customers with an RFM score; the 15 prospects count in the segments but not in the grid.
        Assert.Equal(201, tally.RfGrid.Values.Sum(c => c.Customers));
        Assert.Equal(15, tally.Segments[SegmentsKind.ProspectSegment].Customers);
        Assert.All(tally.RfGrid.Keys, k => Assert.True(ScoringTally.TryParseRfCell(k, out _, out _), k));
        // The cell of (R 5, F 5) holds only the customer without a churn score: counted, value summed, no churn rate.
        var top = tally.RfGrid[ScoringTally.RfCellKey(5, 5)];
        Assert.Equal(1, top.Customers);
        Assert.Equal(120, top.Value);
        Assert.Null(top.ChurnRate);
        // A cell's figures are those of the customers with its scores (some read from the factors of older predictions).
        var expected = population.Where(p => p[ModelKinds.Segments].TopFactors.Any(f => f.Feature == "rfm_recency" && f.Contribution == 2)
            && p[ModelKinds.Segments].TopFactors.Any(f => f.Feature == "rfm_frequency" && f.Contribution == 3)).ToList();
        var cell = tally.RfGrid[ScoringTally.RfCellKey(2, 3)];
        Assert.Equal(expected.Count, cell.Customers);
        Assert.Equal(expected.Sum(p => p[ModelKinds.Clv].Value), cell.Value, 6);
        Assert.Equal(Math.Round(expected.Average(p => p[ModelKinds.Churn].Value), 4), cell.ChurnRate);
    }

    [Theory]
    [InlineData("r5f1", true, 5, 1)]
    [InlineData("r1f5", true, 1, 5)]
    [InlineData("r0f1", false, 0, 0)]
    [InlineData("r6f1", false, 0, 0)]
    [InlineData("f1r5", false, 0, 0)]
    [InlineData("r5f", false, 0, 0)]
    [InlineData("unscored", false, 0, 0)]
    public void Cell_keys_read_back_only_as_scores_1_to_5(string key, bool ok, int r, int f)
    {
        Assert.Equal(ok, ScoringTally.TryParseRfCell(key, out var recency, out var frequency));
        Assert.Equal((r, f), (recency, frequency));
    }

    [Fact]
    public async Task The_write_back_of_a_segments_model_tallies_the_grid_of_what_it_wrote_and_publishes_it_as_the_latest()
    {
        var store = await TrainingWorld.StoreAsync(TrainingWorld.Profiles(400));
        var registry = new InMemoryModelRegistry();
        var kind = new SegmentsKind();
        var champions = TrainingWorld.Champions(registry, [kind]);
        var results = new InProcessScoringResults();
        var scorer = new SliceScorer(store, champions, [kind], results, registry, TimeProvider.System, concurrency: 4);
        var runner = new iCrm.Ml.Training.TrainingRunner(store, registry, registry, registry, [kind], [kind], champions, TimeProvider.System,
            new iCrm.Ml.ModelOptions { ScoreSlices = 5 }, new InProcessScoreSliceQueue(scorer, workers: 2));

        var run = await runner.RunAsync(TrainingWorld.Run());

        Assert.Equal(TrainingRunStatus.Succeeded, run.Status);
        var latest = await results.GetLatestSummaryAsync();
        Assert.NotNull(latest);
        Assert.Equal(run.RunId, latest.RunId);
        Assert.Equal(5, latest.Slices);
        // Every written segments prediction carries flat R and F scores, and the grid counts each customer in its cell once.
        var written = store.All().Select(p => p.Predictions.GetValueOrDefault(ModelKinds.Segments)).Where(p => p?.Recency is not null).ToList();
        Assert.NotEmpty(written);
        Assert.Equal(written.Count, latest.Totals.RfGrid.Values.Sum(c => c.Customers));
        foreach (var group in written.GroupBy(p => ScoringTally.RfCellKey(p!.Recency!.Value, p.Frequency!.Value)))
        {
            Assert.Equal(group.Count(), latest.Totals.RfGrid[group.Key].Customers);
        }
        Assert.True(latest.Totals.RfGrid.Count > 3, "the synthetic customers spread over several cells");
    }

    [Fact]
    public async Task Only_a_later_cutoff_replaces_the_latest_summary()
    {
        var results = new InProcessScoringResults();
        var older = new ScoringSummary("run1", 1, At.AddHours(5), new ScoringTally(), At);
        var newer = new ScoringSummary("run2", 1, At.AddHours(1), new ScoringTally(), At.AddDays(1));

        await results.PublishLatestAsync(newer);
        await results.PublishLatestAsync(older); // a slower write-back of an earlier run finishes last

        Assert.Equal("run2", (await results.GetLatestSummaryAsync())!.RunId);
    }
}
