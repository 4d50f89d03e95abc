using iCrm.Core.Features;

namespace iCrm.Core.Tests.Features;

public sealed class BucketMonthTests
{
    [Theory]
    [InlineData("2025-02", 2025, 2)]
    [InlineData("0001-01", 1, 1)]
    [InlineData("9999-12", 9999, 12)]
    public void A_bucket_key_names_its_year_and_month(string key, int year, int month)
    {
        Assert.True(BucketMonth.TryParse(key, out var y, out var m));
        Assert.Equal((year, month), (y, m));
        Assert.True(BucketMonth.TryStart(key, out var start));
        Assert.Equal(new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero), start);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2025-2")]
    [InlineData("2025/02")]
    [InlineData("2025-13")]
    [InlineData("2025-00")]
    [InlineData("0000-05")]
    [InlineData("20x5-02")]
    [InlineData("+025-02")]
    [InlineData("2025-02-01")]
    [InlineData(" 2025-02")]
    public void Anything_but_a_four_digit_year_and_a_two_digit_month_is_not_a_bucket_key(string? key)
    {
        Assert.False(BucketMonth.TryParse(key, out _, out _));
        Assert.False(BucketMonth.TryStart(key, out _));
    }
}
