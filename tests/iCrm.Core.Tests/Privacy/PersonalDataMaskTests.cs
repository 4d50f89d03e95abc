using iCrm.Core.Privacy;

namespace iCrm.Core.Tests.Privacy;

public sealed class PersonalDataMaskTests
{
    [Theory]
    [InlineData("maria.rossi@example.it", "m***@example.it")]
    [InlineData("+39 06 1234 5678", "***78")]
    [InlineData("Maria Rossi", "M*** R***")]
    [InlineData("2024-13-45", "2024-13-45")]
    [InlineData("12.50", "12.50")]
    [InlineData("O-17,C-9,2099-01-01,-3", "O-17,C-9,2099-01-01,-3")]
    [InlineData("", "")]
    public void Masks_who_but_keeps_what_made_the_row_fail(string text, string expected) =>
        Assert.Equal(expected, PersonalDataMask.Mask(text));

    [Fact]
    public void Long_rows_are_cut()
    {
        var masked = PersonalDataMask.Mask(string.Join(",", Enumerable.Repeat("12345", 200)));
        Assert.Equal(PersonalDataMask.MaxLength + 1, masked.Length);
        Assert.EndsWith("…", masked);
    }

    [Fact]
    public void Messages_keep_their_wording_and_mask_the_values_they_quote()
    {
        Assert.Equal("'a***@b.com' is not a valid email address.", PersonalDataMask.MaskMessage("'anna@b.com' is not a valid email address."));
        Assert.Equal("Rating 7 is outside 1–5.", PersonalDataMask.MaskMessage("Rating 7 is outside 1–5."));
        Assert.Equal("'L*** S***' is not a date.", PersonalDataMask.MaskMessage("'Last Sunday' is not a date."));
    }
}
