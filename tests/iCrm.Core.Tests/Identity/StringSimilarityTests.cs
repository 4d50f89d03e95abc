using iCrm.Core.Identity;

namespace iCrm.Core.Tests.Identity;

public sealed class StringSimilarityTests
{
    [Theory]
    [InlineData("MARTHA", "MARHTA", 0.961)]
    [InlineData("DWAYNE", "DUANE", 0.840)]
    [InlineData("DIXON", "DICKSONX", 0.813)]
    [InlineData("JELLYFISH", "SMELLYFISH", 0.896)]
    public void Jaro_Winkler_matches_the_published_reference_values(string a, string b, double expected)
    {
        Assert.Equal(expected, StringSimilarity.JaroWinkler(a, b), 3);
        Assert.Equal(expected, StringSimilarity.JaroWinkler(b, a), 3);
    }

    [Fact]
    public void Jaro_Winkler_is_one_for_equal_strings_and_zero_for_nothing_in_common()
    {
        Assert.Equal(1.0, StringSimilarity.JaroWinkler("sondergeld", "sondergeld"));
        Assert.Equal(0.0, StringSimilarity.JaroWinkler("abc", "xyz"));
        Assert.Equal(0.0, StringSimilarity.JaroWinkler("abc", ""));
    }

    [Theory]
    [InlineData("4011", "4012", true)]
    [InlineData("4011", "4101", true)]
    [InlineData("4011", "4011", false)]
    [InlineData("4011", "4122", false)]
    [InlineData("4011", "401", false)]
    public void A_single_typo_is_one_wrong_character_or_two_adjacent_swapped(string a, string b, bool expected) =>
        Assert.Equal(expected, StringSimilarity.IsSingleTypo(a, b));

    [Theory]
    [InlineData("Robert", "R163")]
    [InlineData("Rupert", "R163")]
    [InlineData("Rubin", "R150")]
    [InlineData("Ashcraft", "A261")]
    [InlineData("Tymczak", "T522")]
    [InlineData("Pfister", "P236")]
    [InlineData("Honeyman", "H555")]
    [InlineData("lee", "L000")]
    [InlineData("o'brien", "O165")]
    [InlineData("", "")]
    [InlineData("123", "")]
    public void Soundex_codes_follow_the_american_rules(string name, string expected) =>
        Assert.Equal(expected, Phonetic.Soundex(name));

    [Fact]
    public void Soundex_files_spelling_variants_of_a_surname_together()
    {
        Assert.Equal(Phonetic.Soundex("smith"), Phonetic.Soundex("smyth"));
        Assert.Equal(Phonetic.Soundex("mccarthy"), Phonetic.Soundex("mccarty"));
        Assert.NotEqual(Phonetic.Soundex("smith"), Phonetic.Soundex("jones"));
    }
}
