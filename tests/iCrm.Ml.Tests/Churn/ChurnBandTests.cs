using iCrm.Ml.Churn;

namespace iCrm.Ml.Tests.Churn;

public sealed class ChurnBandTests
{
    [Theory]
    [InlineData(ChurnBand.Low, "low")]
    [InlineData(ChurnBand.Medium, "medium")]
    [InlineData(ChurnBand.High, "high")]
    public void A_band_is_spelled_in_lower_case_as_the_api_has_always_spelled_it(ChurnBand band, string label)
    {
        Assert.Equal(label, band.Label());
        Assert.Equal(band.ToString().ToLowerInvariant(), band.Label());
    }

    [Fact]
    public void Every_band_has_a_label()
    {
        Assert.All(Enum.GetValues<ChurnBand>(), b => Assert.Equal(b.ToString().ToLowerInvariant(), b.Label()));
    }
}
