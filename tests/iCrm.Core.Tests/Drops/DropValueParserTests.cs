using iCrm.Core.Drops;

namespace iCrm.Core.Tests.Drops;

public class DropValueParserTests
{
    private static DropValueParser Parser(string culture = "en-US", string zone = "UTC") =>
        new(new ValidationOptions { Culture = culture, TimeZone = zone });

    [Theory]
    [InlineData("2024-03-12", "2024-03-12T00:00:00+00:00")]
    [InlineData("2024-03-12T14:30:05Z", "2024-03-12T14:30:05+00:00")]
    [InlineData("2024-03-12T14:30:05.123+02:00", "2024-03-12T14:30:05.123+02:00")]
    [InlineData("2024-03-12 14:30", "2024-03-12T14:30:00+00:00")]
    [InlineData("2024-03-12T14:30:05-0500", "2024-03-12T14:30:05-05:00")]
    [InlineData("20240312", "2024-03-12T00:00:00+00:00")]
    [InlineData("2024/03/12", "2024-03-12T00:00:00+00:00")]
    [InlineData("12.03.2024", "2024-03-12T00:00:00+00:00")]
    [InlineData("12.03.2024 08:15:00", "2024-03-12T08:15:00+00:00")]
    [InlineData("12 Mar 2024", "2024-03-12T00:00:00+00:00")]
    [InlineData("12-Mar-2024", "2024-03-12T00:00:00+00:00")]
    [InlineData("March 12, 2024", "2024-03-12T00:00:00+00:00")]
    [InlineData("03/12/2024", "2024-03-12T00:00:00+00:00")]
    [InlineData("03/12/2024 2:30 PM", "2024-03-12T14:30:00+00:00")]
    [InlineData("1710253800", "2024-03-12T14:30:00+00:00")]
    public void Timestamps_in_iso_and_common_regional_forms_are_read(string text, string expected)
    {
        Assert.True(Parser().TryParseTimestamp(text, out var value), text);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), value);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture).Offset, value.Offset);
    }

    [Theory]
    [InlineData("en-US", "03/04/2024", 3, 4)]
    [InlineData("en-GB", "03/04/2024", 4, 3)]
    [InlineData("en-AU", "03/04/2024", 4, 3)]
    [InlineData("de-DE", "03.04.2024", 4, 3)]
    [InlineData("en-GB", "03/04/24", 4, 3)]
    public void Day_month_order_follows_the_culture(string culture, string text, int month, int day)
    {
        Assert.True(Parser(culture).TryParseDate(text, out var date));
        Assert.Equal((month, day), (date.Month, date.Day));
    }

    [Theory]
    [InlineData("en-US", "13/04/2024")]
    [InlineData("en-US", "25/12/2024")]
    [InlineData("en-GB", "04/13/2024")]
    public void A_date_that_does_not_fit_the_sources_culture_is_invalid_rather_than_guessed(string culture, string text)
    {
        Assert.False(Parser(culture).TryParseDate(text, out _));
    }

    [Fact]
    public void Timestamps_without_an_offset_are_read_in_the_configured_time_zone()
    {
        var parser = Parser(zone: "Europe/London");
        Assert.True(parser.TryParseTimestamp("2024-07-01 09:00", out var summer));
        Assert.True(parser.TryParseTimestamp("2024-01-01 09:00", out var winter));
        Assert.True(parser.TryParseTimestamp("2024-07-01T09:00:00Z", out var explicitUtc));

        Assert.Equal(TimeSpan.FromHours(1), summer.Offset);
        Assert.Equal(TimeSpan.Zero, winter.Offset);
        Assert.Equal(TimeSpan.Zero, explicitUtc.Offset);
    }

    [Theory]
    [InlineData("2024-02-30")]
    [InlineData("2024-13-01")]
    [InlineData("31/31/2024")]
    [InlineData("yesterday")]
    [InlineData("2024-03-12T25:00")]
    [InlineData("2024-03-12T10:00+99:00")]
    [InlineData("12")]
    public void Impossible_dates_are_not_read(string text)
    {
        Assert.False(Parser().TryParseTimestamp(text, out _));
    }

    [Theory]
    [InlineData("en-US", "1234.5", "1234.5")]
    [InlineData("en-US", "-12", "-12")]
    [InlineData("en-US", "1,234.56", "1234.56")]
    [InlineData("en-US", "1.234,56", "1234.56")]
    [InlineData("en-US", "12,5", "12.5")]
    [InlineData("en-US", "1,234", "1234")]
    [InlineData("de-DE", "1,234", "1.234")]
    [InlineData("en-US", "1,234,567", "1234567")]
    [InlineData("en-US", "1.234.567,8", "1234567.8")]
    [InlineData("en-US", "1 234,50", "1234.50")]
    [InlineData("en-US", "1'234.50", "1234.50")]
    [InlineData("en-US", "$12.99", "12.99")]
    [InlineData("en-US", "12.99 €", "12.99")]
    [InlineData("en-US", "(12.50)", "-12.50")]
    [InlineData("en-US", "1e3", "1000")]
    [InlineData("en-US", "123456789012345678901.5", "123456789012345678901.5")]
    public void Numbers_with_point_or_comma_decimals_and_thousands_separators_are_read(string culture, string text, string expected)
    {
        Assert.True(Parser(culture).TryParseDecimal(text, out var value), text);
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), value);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1.2.3,4,5")]
    [InlineData("12-")]
    [InlineData("")]
    [InlineData("1,2,3.4.5")]
    public void Text_that_is_not_a_number_is_not_read_as_one(string text)
    {
        var ok = Parser().TryParseDecimal(text, out var value);
        Assert.True(!ok || text == "12-" && value == -12m);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("y", true)]
    [InlineData("1", true)]
    [InlineData("False", false)]
    [InlineData("no", false)]
    [InlineData("N", false)]
    [InlineData("0", false)]
    public void Booleans_in_the_usual_spellings(string text, bool expected)
    {
        Assert.True(DropValueParser.TryParseBoolean(text, out var value));
        Assert.Equal(expected, value);
        Assert.False(DropValueParser.TryParseBoolean("maybe", out _));
    }
}
