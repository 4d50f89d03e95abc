using iCrm.Core.Drops;

namespace iCrm.Core.Tests.Drops;

public class ContactNormalizerTests
{
    [Theory]
    [InlineData("  Ann.Lee@Example.COM ", "ann.lee@example.com")]
    [InlineData("mailto:bob+crm@mail.co.uk", "bob+crm@mail.co.uk")]
    [InlineData("o'neil@xn--bcher-kva.de", "o'neil@xn--bcher-kva.de")]
    public void Emails_are_trimmed_and_lower_cased(string text, string expected)
    {
        Assert.True(ContactNormalizer.TryNormalizeEmail(text, out var email));
        Assert.Equal(expected, email);
    }

    [Theory]
    [InlineData("ann.example.com")]
    [InlineData("ann@")]
    [InlineData("@example.com")]
    [InlineData("ann@example")]
    [InlineData("ann@@example.com")]
    [InlineData("ann@exa mple.com")]
    [InlineData("ann@-example.com")]
    [InlineData("ann..lee@example.com")]
    [InlineData("ann@example.c")]
    [InlineData("ann@example.123")]
    public void Implausible_emails_are_refused(string text)
    {
        Assert.False(ContactNormalizer.TryNormalizeEmail(text, out _));
    }

    [Theory]
    [InlineData("US", "(415) 555-2671", "+14155552671")]
    [InlineData("US", "+1 415 555 2671", "+14155552671")]
    [InlineData("GB", "020 7946 0958", "+442079460958")]
    [InlineData("GB", "07911 123456", "+447911123456")]
    [InlineData("AU", "0412 345 678", "+61412345678")]
    [InlineData("AU", "(02) 9374 4000", "+61293744000")]
    [InlineData("US", "+44 20 7946 0958", "+442079460958")]
    [InlineData("DE", "030 123456", "+4930123456")]
    public void Phones_become_e164_reading_national_numbers_in_the_default_region(string region, string text, string expected)
    {
        Assert.True(new ContactNormalizer(region).TryNormalizePhone(text, out var e164), text);
        Assert.Equal(expected, e164);
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("555-0000-0000-0000-0000")]
    [InlineData("not a phone")]
    [InlineData("+1 000 000 0000")]
    public void Numbers_that_cannot_be_dialled_are_refused(string text)
    {
        Assert.False(new ContactNormalizer("US").TryNormalizePhone(text, out _));
    }

    [Theory]
    [InlineData("  JOHN  ", "John")]
    [InlineData("mary-jane", "Mary-Jane")]
    [InlineData("o'neil", "O'Neil")]
    [InlineData("McDonald", "McDonald")]
    [InlineData("van  der   Berg", "van der Berg")]
    [InlineData("VAN DER BERG", "Van Der Berg")]
    [InlineData("ZOË", "Zoë")]
    [InlineData("J", "J")]
    public void Names_are_trimmed_collapsed_and_title_cased_only_when_shouted_or_whispered(string text, string expected)
    {
        Assert.Equal(expected, ContactNormalizer.CleanText(text, titleCase: true));
    }

    [Fact]
    public void Text_is_normalised_to_nfc()
    {
        var decomposed = "Zoe\u0301";
        Assert.Equal("Zoé", ContactNormalizer.CleanText(decomposed, titleCase: false));
        Assert.Equal(4, decomposed.Length);
        Assert.Equal(3, ContactNormalizer.CleanText(decomposed, titleCase: false).Length);
    }

    [Theory]
    [InlineData("United Kingdom", "GB")]
    [InlineData("UK", "GB")]
    [InlineData("gbr", "GB")]
    [InlineData("U.S.A.", "US")]
    [InlineData("united states", "US")]
    [InlineData("Deutschland", "DE")]
    [InlineData("Germany", "DE")]
    [InlineData("au", "AU")]
    [InlineData("France", "FR")]
    [InlineData("Narnia", "Narnia")]
    public void Countries_become_iso_alpha2_when_recognisable(string text, string expected)
    {
        Assert.Equal(expected, ContactNormalizer.NormalizeCountry(text));
    }

    [Theory]
    [InlineData("F", "female")]
    [InlineData("Male", "male")]
    [InlineData("non-binary", "other")]
    [InlineData("unknown", null)]
    public void Gender_has_a_small_vocabulary(string text, string? expected)
    {
        Assert.Equal(expected, ContactNormalizer.NormalizeGender(text));
    }
}
