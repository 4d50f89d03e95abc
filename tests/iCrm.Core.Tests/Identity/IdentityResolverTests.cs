using iCrm.Core.Identity;

namespace iCrm.Core.Tests.Identity;

public sealed class IdentityResolverTests
{
    private static readonly MatchKeyHasher Hasher = new("unit-test-pii-key-0123456789abcdef");
    private static readonly IdentityResolver Resolver = new();
    private static readonly Dictionary<string, string> NoOwners = [];

    private static ProfileCandidate Profile(string id, params MatchCandidate[] variants) => new(id, variants);

    [Fact]
    public void A_record_nobody_knows_creates_a_profile_with_its_deterministic_id()
    {
        var record = MatchKeyTests.Customer(email: "sarah@example.com");
        var decision = Resolver.Resolve(record, Hasher, NoOwners, []);

        Assert.Equal(ResolutionOutcome.New, decision.Outcome);
        Assert.Equal(ResolutionRule.NewCustomer, decision.Rule);
        Assert.Equal(Hasher.CustomerIdFor(record), decision.CustomerId);
    }

    [Theory]
    [InlineData(MatchKeyKind.SourceId, ResolutionRule.SourceId)]
    [InlineData(MatchKeyKind.LoyaltyId, ResolutionRule.LoyaltyId)]
    [InlineData(MatchKeyKind.Email, ResolutionRule.Email)]
    [InlineData(MatchKeyKind.Phone, ResolutionRule.Phone)]
    public void A_record_whose_key_is_owned_joins_the_owner_by_that_rule(MatchKeyKind kind, ResolutionRule rule)
    {
        var record = MatchKeyTests.Customer(email: "sarah@example.com", phone: "+61412345678", loyalty: "L77");
        var key = Hasher.DeterministicKeys(record).Single(k => k.Kind == kind);

        var decision = Resolver.Resolve(record, Hasher, new Dictionary<string, string> { [key.Value] = "c_owner" }, []);

        Assert.Equal(ResolutionOutcome.Existing, decision.Outcome);
        Assert.Equal("c_owner", decision.CustomerId);
        Assert.Equal(rule, decision.Rule);
        Assert.Equal([new KeyLink(kind, "c_owner")], decision.KeyLinks);
    }

    [Fact]
    public void The_strongest_owned_key_names_the_rule()
    {
        var record = MatchKeyTests.Customer(email: "sarah@example.com", phone: "+61412345678");
        var keys = Hasher.DeterministicKeys(record);
        var owners = keys.ToDictionary(k => k.Value, _ => "c_same");

        Assert.Equal(ResolutionRule.SourceId, Resolver.Resolve(record, Hasher, owners, []).Rule);
    }

    [Fact]
    public void A_record_whose_keys_belong_to_two_profiles_merges_them_into_the_smaller_id()
    {
        var record = MatchKeyTests.Customer(email: "sarah@example.com", phone: "+61412345678");
        var email = Hasher.EmailKey(record.Email)!.Value;
        var phone = Hasher.PhoneKey(record.Phone)!.Value;
        var owners = new Dictionary<string, string> { [email.Value] = "c_bbb", [phone.Value] = "c_aaa" };

        var decision = Resolver.Resolve(record, Hasher, owners, []);

        Assert.Equal(ResolutionOutcome.Merge, decision.Outcome);
        Assert.Equal("c_aaa", decision.CustomerId);
        Assert.Equal(["c_bbb"], decision.MergedIds);
        Assert.Equal(ResolutionRule.Email, decision.Rule);
        Assert.Equal(["key:Email"], decision.EvidenceFor("c_bbb"));
        Assert.Equal(["key:Phone"], decision.EvidenceFor("c_aaa"));
    }

    [Fact]
    public void The_merge_survivor_does_not_depend_on_arrival_order()
    {
        Assert.Equal("c_0a", IdentityResolver.Survivor(["c_1f", "c_0a", "c_0b"]));
        Assert.Equal("c_0a", IdentityResolver.Survivor(["c_0b", "c_1f", "c_0a"]));
    }

    [Fact]
    public void A_record_without_shared_keys_joins_a_profile_it_matches_by_score_with_the_evidence()
    {
        var record = MatchKeyTests.Customer(source: "callcenter", id: "C-9", last: "Bruhm");
        var candidate = Profile("c_sarah", ProbabilisticMatcherTests.Person());
        var stranger = Profile("c_other", ProbabilisticMatcherTests.Person("lachlan", "berry", "69 giblin street", "bittern", "4814", "qld"));

        var decision = Resolver.Resolve(record, Hasher, NoOwners, [stranger, candidate]);

        Assert.Equal(ResolutionOutcome.Existing, decision.Outcome);
        Assert.Equal(ResolutionRule.Probabilistic, decision.Rule);
        Assert.Equal("c_sarah", decision.CustomerId);
        Assert.True(decision.Score >= Resolver.Matcher.Options.MatchThreshold);
        Assert.Contains(decision.ScoredLinks[0].Explanation.Evidence, e => e.Field == MatchField.Surname && e.Level is Agreement.Similar or Agreement.Partial);
    }

    [Fact]
    public void A_score_in_the_review_band_keeps_the_record_separate_but_reports_the_possible_match()
    {
        var record = MatchKeyTests.Customer(street: "9 other street", city: "perth", postcode: "6000", state: "wa");
        var candidate = Profile("c_sarah", ProbabilisticMatcherTests.Person());
        var resolver = new IdentityResolver(new ProbabilisticMatcher(new MatchOptions { ReviewThreshold = 5, MatchThreshold = 30 }));
        var score = resolver.Matcher.Score(MatchCandidate.FromRecord(record), candidate.Variants[0]);
        Assert.InRange(score, 5, 30);

        var decision = resolver.Resolve(record, Hasher, NoOwners, [candidate]);

        Assert.Equal(ResolutionOutcome.New, decision.Outcome);
        Assert.Equal("c_sarah", Assert.Single(decision.PossibleMatches).CustomerId);
    }

    [Fact]
    public void A_record_matching_two_profiles_by_score_merges_them()
    {
        var record = MatchKeyTests.Customer(source: "callcenter", id: "C-9");
        var a = Profile("c_b", ProbabilisticMatcherTests.Person());
        var b = Profile("c_a", ProbabilisticMatcherTests.Person(surname: "bruhm"));

        var decision = Resolver.Resolve(record, Hasher, NoOwners, [a, b]);

        Assert.Equal(ResolutionOutcome.Merge, decision.Outcome);
        Assert.Equal("c_a", decision.CustomerId);
        Assert.Equal(["c_b"], decision.MergedIds);
        Assert.Equal(2, decision.ScoredLinks.Count);
        Assert.Contains(decision.EvidenceFor("c_b"), l => l.StartsWith("Surname:Exact:", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_score_merges_a_record_matching_two_profiles_joins_the_best()
    {
        var resolver = new IdentityResolver(new ProbabilisticMatcher(new MatchOptions { MergeProfilesLinkedByScore = false }));
        var record = MatchKeyTests.Customer(source: "callcenter", id: "C-9");

        var decision = resolver.Resolve(record, Hasher, NoOwners,
            [Profile("c_a", ProbabilisticMatcherTests.Person(surname: "bruhm")), Profile("c_b", ProbabilisticMatcherTests.Person())]);

        Assert.Equal(ResolutionOutcome.Existing, decision.Outcome);
        Assert.Equal("c_b", decision.CustomerId);
        Assert.Equal("c_a", Assert.Single(decision.PossibleMatches).CustomerId);
    }
}
