using iCrm.Ml.Churn;

namespace iCrm.Ml.Tests.Churn;

public sealed class BinaryMetricsTests
{
    private static readonly bool[] Labels = [true, true, false, false];

    [Fact]
    public void A_perfect_ranking_has_an_auc_of_one_and_a_reversed_one_zero()
    {
        Assert.Equal(1.0, BinaryMetrics.Compute([0.9, 0.8, 0.2, 0.1], Labels).RocAuc);
        Assert.Equal(1.0, BinaryMetrics.Compute([0.9, 0.8, 0.2, 0.1], Labels).PrAuc);
        Assert.Equal(0.0, BinaryMetrics.Compute([0.1, 0.2, 0.8, 0.9], Labels).RocAuc);
    }

    [Fact]
    public void Tied_scores_count_as_half()
    {
        Assert.Equal(0.5, BinaryMetrics.Compute([0.5, 0.5, 0.5, 0.5], Labels).RocAuc);
        Assert.Equal(0.875, BinaryMetrics.Compute([0.9, 0.5, 0.5, 0.1], Labels).RocAuc);
    }

    [Fact]
    public void Brier_and_log_loss_match_their_definitions()
    {
        var m = BinaryMetrics.Compute([0.8, 0.6, 0.4, 0.1], Labels);

        Assert.Equal((0.04 + 0.16 + 0.16 + 0.01) / 4, m.Brier, 12);
        Assert.Equal(-(Math.Log(0.8) + Math.Log(0.6) + Math.Log(0.6) + Math.Log(0.9)) / 4, m.LogLoss, 12);
        Assert.Equal(0.5, m.PositiveRate);
    }
}

public sealed class BinaryMetricsJsonTests
{
    [Fact]
    public void Undefined_metrics_of_a_one_class_holdout_still_serialise_for_the_model_card()
    {
        var m = BinaryMetrics.Compute([0.2, 0.7], [true, true]);

        var json = System.Text.Json.JsonSerializer.Serialize(m);

        Assert.True(double.IsNaN(m.RocAuc));
        Assert.Contains("\"RocAuc\":\"NaN\"", json);
    }
}
