using iCrm.Core.Identity;

namespace iCrm.Core.Tests.Identity;

public sealed class ProbabilisticMatcherTests
{
    private static readonly ProbabilisticMatcher Matcher = new();

    internal static MatchCandidate Person(
        string? given = "sarah", string? surname = "bruhn", string? street = "44 forbes street", string? suburb = "kellerberrin",
        string? postcode = "4510", string? state = "vic", DateOnly? birth = null) =>
        MatchCandidate.Create(given, surname, street, suburb, postcode, state, birth ?? new DateOnly(1930, 2, 13));

    [Fact]
    public void Match_fields_are_normalised_and_the_house_number_is_split_from_the_street()
    {
        var c = MatchCandidate.Create(" Zoë ", "O'Brien", "12A  Main   Rd.", "St. James", "40 11", "VIC", null);

        Assert.Equal("zoe", c.GivenName);
        Assert.Equal("obrien", c.Surname);
        Assert.Equal("12a", c.StreetNumber);
        Assert.Equal("main rd", c.Street);
        Assert.Equal("st james", c.Suburb);
        Assert.Equal("4011", c.Postcode);
        Assert.Equal("vic", c.State);
    }

    [Fact]
    public void Identical_people_score_above_the_match_threshold_and_strangers_below_review()
    {
        var stranger = Person("lachlan", "berry", "69 giblin street", "bittern", "4814", "qld", new DateOnly(1999, 2, 19));

        Assert.True(Matcher.Score(Person(), Person()) >= Matcher.Options.MatchThreshold);
        Assert.True(Matcher.Score(Person(), stranger) < Matcher.Options.ReviewThreshold);
    }

    [Fact]
    public void A_typo_in_the_surname_and_a_moved_street_still_match()
    {
        var variant = Person(surname: "bruhm", street: "44 forbess street");
        Assert.True(Matcher.Score(Person(), variant) >= Matcher.Options.MatchThreshold);
    }

    [Fact]
    public void Birth_dates_with_day_and_month_swapped_agree_as_similar()
    {
        var explanation = Matcher.Explain(Person(birth: new DateOnly(1980, 3, 7)), Person(birth: new DateOnly(1980, 7, 3)));
        Assert.Equal(Agreement.Similar, explanation.Evidence.Single(e => e.Field == MatchField.BirthDate).Level);
    }

    [Theory]
    [InlineData(1980, 3, 8, Agreement.Partial)]
    [InlineData(1908, 3, 7, Agreement.Partial)]
    [InlineData(1981, 4, 7, Agreement.Disagree)]
    [InlineData(1980, 3, 7, Agreement.Exact)]
    public void Birth_dates_one_keying_error_apart_agree_partially(int year, int month, int day, Agreement expected)
    {
        var explanation = Matcher.Explain(Person(birth: new DateOnly(1980, 3, 7)), Person(birth: new DateOnly(year, month, day)));
        Assert.Equal(expected, explanation.Evidence.Single(e => e.Field == MatchField.BirthDate).Level);
    }

    [Fact]
    public void Given_name_and_surname_swapped_are_recognised()
    {
        var explanation = Matcher.Explain(Person(), Person(given: "bruhn", surname: "sarah"));

        Assert.True(explanation.NamesSwapped);
        Assert.Equal(Agreement.Exact, explanation.Evidence.Single(e => e.Field == MatchField.Surname).Level);
        Assert.True(explanation.Score >= Matcher.Options.MatchThreshold);
    }

    [Fact]
    public void Missing_fields_carry_no_weight()
    {
        var explanation = Matcher.Explain(Person(), Person(suburb: null));
        var suburb = explanation.Evidence.Single(e => e.Field == MatchField.Suburb);

        Assert.Equal(Agreement.Missing, suburb.Level);
        Assert.Equal(0.0, suburb.Weight);
    }

    [Fact]
    public void The_explanation_names_fields_and_levels_but_no_values()
    {
        var explanation = Matcher.Explain(Person(), Person(surname: "bruhm", birth: new DateOnly(1930, 3, 13)));
        var lines = explanation.ToEvidenceLines();

        Assert.Equal(8, explanation.Evidence.Count);
        Assert.Contains("GivenName:Exact:", lines[0], StringComparison.Ordinal);
        Assert.Equal(Math.Round(explanation.Evidence.Sum(e => e.Weight), 1), Math.Round(explanation.Score, 1));
        Assert.All(lines, l =>
        {
            Assert.DoesNotContain("sarah", l, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("bruh", l, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("4510", l, StringComparison.Ordinal);
            Assert.DoesNotContain("1930", l, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void A_profile_is_matched_by_its_best_variant()
    {
        var record = Person(surname: "bruhn", street: "17 new road", suburb: "perth", postcode: "6000", state: "wa");
        var variants = new[] { Person(), Person(street: "17 new road", suburb: "perth", postcode: "6000", state: "wa") };

        var best = Matcher.BestScore(record, variants, out var index);

        Assert.Equal(1, index);
        Assert.True(best > Matcher.Score(record, variants[0]));
    }

    [Fact]
    public void Profile_variants_are_bounded_deduplicated_and_keep_the_founding_record()
    {
        var variants = new List<MatchCandidate>();
        Assert.True(ProfileVariants.Add(variants, Person()));
        Assert.False(ProfileVariants.Add(variants, Person()));
        for (var i = 0; i < 15; i++)
        {
            ProfileVariants.Add(variants, Person(postcode: (5000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)), cap: 5);
        }

        Assert.Equal(5, variants.Count);
        Assert.Equal(Person(), variants[0]);
        Assert.Equal("5014", variants[^1].Postcode);
    }

    [Fact]
    public void Blocking_files_a_misspelt_duplicate_under_a_shared_key()
    {
        var a = BlockingKeys.Payloads(Person());
        var b = BlockingKeys.Payloads(Person(surname: "brun", postcode: "4501", birth: new DateOnly(1930, 2, 14)));

        Assert.NotEmpty(a.Intersect(b));
        Assert.All(a, p => Assert.Contains('|', p));
    }

    [Fact]
    public void A_blocking_key_files_each_customer_once_and_stops_at_its_cap()
    {
        var ids = new List<string> { "c_old" };
        var mergedInto = new Dictionary<string, string> { ["c_old"] = "c_new" };
        string Current(string id) => mergedInto.GetValueOrDefault(id, id);

        Assert.False(BlockingKeys.TryFile(ids, "c_new", Current));
        Assert.True(BlockingKeys.TryFile(ids, "c_2", Current));
        Assert.False(BlockingKeys.TryFile(ids, "c_2", Current));
        Assert.False(BlockingKeys.TryFile(ids, "c_3", Current, cap: 2));
        Assert.Equal(["c_old", "c_2"], ids);
    }

    [Fact]
    public void A_review_threshold_above_the_match_threshold_is_refused() =>
        Assert.Throws<ArgumentException>(() => new ProbabilisticMatcher(new MatchOptions { MatchThreshold = 5, ReviewThreshold = 10 }));

    private static readonly MatchKey RecordEmail = new(MatchKeyKind.Email, "em:" + new string('a', 64));
    private static readonly string OtherEmail = "em:" + new string('b', 64);

    [Fact]
    public void A_disagreeing_email_weighs_against_a_match_and_marks_a_conflict_unless_birth_date_and_address_agree()
    {
        var same = Matcher.Assess(Person(), [RecordEmail], [Person()], [RecordEmail.Value]);
        var different = Matcher.Assess(Person(), [RecordEmail], [Person()], [OtherEmail]);
        var unknown = Matcher.Assess(Person(), [RecordEmail], [Person()], []);

        Assert.True(same.Score > unknown.Score && unknown.Score > different.Score);
        Assert.Equal(MatchWeights.Default[MatchField.Email, Agreement.Disagree], different.Score - unknown.Score, 6);
        Assert.False(unknown.Conflicting);
        // A private and a work address: with birth date and address agreeing, a different email weighs against but does
        // not hold the pair back; with names and birth date only, or with the option off, it does.
        Assert.False(different.Conflicting);
        var namesAndBirthDate = Person(street: null, suburb: null, postcode: null, state: null);
        Assert.True(Matcher.Assess(namesAndBirthDate, [RecordEmail], [Person()], [OtherEmail]).Conflicting);
        var strict = new ProbabilisticMatcher(new MatchOptions { EmailMayDifferWhenBirthDateAndAddressAgree = false });
        Assert.True(strict.Assess(Person(), [RecordEmail], [Person()], [OtherEmail]).Conflicting);
        var evidence = Matcher.Explain(Person(), Person(), [RecordEmail], [OtherEmail]).Evidence;
        Assert.Contains(evidence, e => e.Field == MatchField.Email && e.Level == Agreement.Disagree && e.Weight < 0);
    }

    [Theory]
    [InlineData("sarah", "bruhn")]
    [InlineData("bruhn", "sarah")]
    [InlineData("sara", "bruhn")]
    public void Names_alone_in_any_spelling_are_not_corroborated(string given, string surname)
    {
        var namesOnly = MatchCandidate.Create("sarah", "bruhn", null, null, null, null, null);
        var assessment = Matcher.Assess(MatchCandidate.Create(given, surname, null, null, null, null, null), [], [namesOnly], null);

        Assert.False(assessment.Corroborated);
        Assert.True(Matcher.Assess(Person(), [], [Person()], null).Corroborated);
    }
}

/// <summary>Postcodes written differently by different channels compare equal (ZIP+4, leading zeros lost by a till).</summary>
public sealed class PostcodeNormalisationTests
{
    [Theory]
    [InlineData("02116", "2116")]
    [InlineData("02116-1234", "2116")]
    [InlineData("02116 1234", "2116")]
    [InlineData("87185-4099", "87185")]
    [InlineData("4000", "4000")]
    [InlineData("0800", "800")]
    [InlineData("SW1A 1AA", "sw1a1aa")]
    [InlineData("000", "000")]
    public void Postcodes_are_compared_without_zip_plus_four_and_leading_zeros(string written, string compared) =>
        Assert.Equal(compared, iCrm.Core.Identity.MatchCandidate.Create(null, null, null, null, written, null, null).Postcode);

    [Fact]
    public void A_till_that_dropped_the_leading_zero_agrees_with_the_web_shop()
    {
        var web = iCrm.Core.Identity.MatchCandidate.Create("Ann", "Lee", null, null, "02116-4099", null, new DateOnly(1980, 3, 7));
        var till = iCrm.Core.Identity.MatchCandidate.Create("Ann", "Lee", null, null, "2116", null, new DateOnly(1980, 3, 7));
        var evidence = new iCrm.Core.Identity.ProbabilisticMatcher().Explain(web, till).Evidence;
        Assert.Contains(evidence, e => e is { Field: iCrm.Core.Identity.MatchField.Postcode, Level: iCrm.Core.Identity.Agreement.Exact });
    }
}
