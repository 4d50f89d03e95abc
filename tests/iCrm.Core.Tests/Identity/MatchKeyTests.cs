using iCrm.Core.Drops;
using iCrm.Core.Identity;

namespace iCrm.Core.Tests.Identity;

public sealed class MatchKeyTests
{
    private const string Secret = "unit-test-pii-key-0123456789abcdef";

    internal static CustomerRecord Customer(
        string source = "web", string id = "123", string? email = null, string? phone = null, string? loyalty = null,
        string? first = "Sarah", string? last = "Bruhn", string? street = "44 Forbes Street", string? city = "Kellerberrin",
        string? postcode = "4510", string? state = "vic", DateOnly? birth = null) =>
        new(source, id, 2, email, phone, first, last, birth ?? new DateOnly(1930, 2, 13), null, street, city, postcode, state, "AU",
            null, loyalty, null, null, null, null, new Dictionary<string, string>());

    /// <summary>Keys are stored (identities, profiles): they are HMAC-SHA256 of UTF-8 "{prefix}|{value}", as they always were.</summary>
    [Theory]
    [InlineData("sarah@example.com")]
    [InlineData("kundé.ßüß@例え.jp")] // multi-byte UTF-8
    [InlineData("a-very-long-value-")] // repeated below past the stack buffer
    public void Keys_are_the_hmac_of_the_prefixed_value(string email)
    {
        if (email.StartsWith("a-very-long", StringComparison.Ordinal))
        {
            email = string.Concat(Enumerable.Repeat(email, 60)) + "@example.com";
        }
        var key = new MatchKeyHasher(Secret).Key(MatchKeyKind.Email, email);
        var expected = "em:" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(Secret), System.Text.Encoding.UTF8.GetBytes("em|" + email)));
        Assert.Equal(expected, key.Value);
    }

    /// <summary>Source keys are stored too: the HMAC of "src|{source, trimmed and lower-cased}|{id, trimmed}", whatever the
    /// case of the folder name or the length of the id.</summary>
    [Theory]
    [InlineData("web", "C-9")]
    [InlineData("  POS-Store ", " 00042 ")]
    [InlineData("Ünïcode", "Kundé-ß")]
    [InlineData("crm", "long-id-")] // repeated below past the stack buffer
    public void Source_keys_are_the_hmac_of_the_lower_cased_source_and_the_id(string source, string id)
    {
        if (id.StartsWith("long-id", StringComparison.Ordinal))
        {
            id = string.Concat(Enumerable.Repeat(id, 40));
        }
        var key = new MatchKeyHasher(Secret).SourceKey(source, id);
        var expected = "src:" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(Secret), System.Text.Encoding.UTF8.GetBytes("src|" + source.Trim().ToLowerInvariant() + "|" + id.Trim())));
        Assert.Equal(expected, key.Value);
    }

    [Fact]
    public void Keys_are_stable_for_the_same_secret_and_change_with_it()
    {
        var record = Customer(email: "sarah@example.com", phone: "+61412345678", loyalty: "L-77");
        var a = new MatchKeyHasher(Secret).DeterministicKeys(record);
        var b = new MatchKeyHasher(Secret).DeterministicKeys(record);
        var other = new MatchKeyHasher("another-secret-entirely-0123456789").DeterministicKeys(record);

        Assert.Equal(a, b);
        Assert.Equal(4, a.Count);
        Assert.Empty(a.Select(k => k.Value).Intersect(other.Select(k => k.Value)));
    }

    [Fact]
    public void Keys_are_safe_cosmos_ids_with_a_kind_prefix_and_no_personal_data()
    {
        var hasher = new MatchKeyHasher(Secret);
        var record = Customer(email: "sarah.bruhn@example.com", phone: "+61412345678", loyalty: "L77");
        var keys = hasher.DeterministicKeys(record).Concat(hasher.BlockingKeysOf(MatchCandidate.FromRecord(record))).ToList();

        Assert.Equal(["src", "ly", "em", "ph"], keys.Take(4).Select(k => MatchKey.Prefix(k.Kind)));
        Assert.All(keys, k =>
        {
            Assert.Matches("^(src|ly|em|ph|bk):[0-9a-f]{64}$", k.Value);
            Assert.True(k.Value.Length <= 255);
            Assert.DoesNotContain("sarah", k.Value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("4510", k.Value, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void The_same_text_in_different_fields_gives_different_keys()
    {
        var hasher = new MatchKeyHasher(Secret);
        Assert.NotEqual(hasher.LoyaltyKey("61412345678")!.Value.Value[3..], hasher.PhoneKey("61412345678")!.Value.Value[3..]);
    }

    [Theory]
    [InlineData("J.O.Doe+news@gmail.com", "jodoe@gmail.com")]
    [InlineData("jodoe@googlemail.com", "jodoe@gmail.com")]
    [InlineData("jo.doe+crm@outlook.com", "jo.doe@outlook.com")]
    [InlineData("jo.doe+crm@example.com", "jo.doe+crm@example.com")]
    [InlineData("  Jo@Example.COM ", "jo@example.com")]
    [InlineData("not-an-email", null)]
    [InlineData("@example.com", null)]
    public void Emails_are_canonicalised_for_matching(string email, string? expected) =>
        Assert.Equal(expected, EmailAddress.Canonical(email));

    [Fact]
    public void Gmail_spellings_of_one_mailbox_share_a_key()
    {
        var hasher = new MatchKeyHasher(Secret);
        Assert.Equal(hasher.EmailKey("jodoe@gmail.com"), hasher.EmailKey("Jo.Doe+shop@googlemail.com"));
    }

    [Fact]
    public void Phone_and_loyalty_keys_ignore_formatting()
    {
        var hasher = new MatchKeyHasher(Secret);
        Assert.Equal(hasher.PhoneKey("+61412345678"), hasher.PhoneKey("+61 412 345 678"));
        Assert.Equal(hasher.LoyaltyKey("ab-1234"), hasher.LoyaltyKey("AB 1234"));
        Assert.Null(hasher.PhoneKey(" "));
        Assert.Null(hasher.LoyaltyKey(null));
    }

    [Fact]
    public void Customer_ids_derive_from_the_creating_source_key()
    {
        var hasher = new MatchKeyHasher(Secret);
        var record = Customer(source: "Web", id: "C-9");
        var id = hasher.CustomerIdFor(record);

        Assert.Matches("^c_[0-9a-f]{24}$", id);
        Assert.Equal(id, MatchKeyHasher.CustomerIdFor(hasher.SourceKey("web", "C-9")));
        Assert.NotEqual(id, hasher.CustomerIdFor(Customer(source: "web", id: "c-9")));
        Assert.NotEqual(id, new MatchKeyHasher("another-secret-entirely-0123456789").CustomerIdFor(record));
    }

    [Fact]
    public void A_short_secret_is_refused() =>
        Assert.Throws<ArgumentException>(() => new MatchKeyHasher("short"));
}
