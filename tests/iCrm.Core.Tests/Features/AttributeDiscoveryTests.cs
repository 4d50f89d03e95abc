using System.Text.Json;
using iCrm.Core.Features;
using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Features;

public sealed class AttributeDiscoveryTests
{
    private static readonly DateTimeOffset Cutoff = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<CustomerProfile> ProfilesWithExtraColumns() =>
        Enumerable.Range(0, 200).Select(i => new CustomerProfile
        {
            Id = $"c{i}",
            Attributes = new Dictionary<string, string>
            {
                ["Household Size"] = (i % 5 + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["plan"] = i % 3 == 0 ? "Gold" : "basic",
                ["loyalty_member"] = i % 2 == 0 ? "true" : "false",
                ["member_id"] = $"M{i}",
                ["churn_reason"] = "price",
                ["favourite_quote"] = $"free text number {i}",
            },
        }).ToList();

    [Fact]
    public void Numeric_attributes_get_a_named_slot_and_categorical_ones_are_hashed()
    {
        var schema = AttributeDiscovery.Discover(ProfilesWithExtraColumns());

        Assert.Equal(["household_size", "loyalty_member"], schema.NumericAttributes);
        Assert.Equal(["plan"], schema.CategoricalAttributes);
        Assert.True(schema.IndexOf("attr:household_size") >= FixedFeatures.Count);
        Assert.Equal("customer attribute 'household_size'", schema.Features[schema.IndexOf("attr:household_size")].Label);
    }

    [Fact]
    public void Identifiers_free_text_and_label_like_attributes_are_never_features()
    {
        var schema = AttributeDiscovery.Discover(ProfilesWithExtraColumns());

        Assert.DoesNotContain("member_id", schema.NumericAttributes.Concat(schema.CategoricalAttributes));
        Assert.DoesNotContain("churn_reason", schema.NumericAttributes.Concat(schema.CategoricalAttributes));
        Assert.DoesNotContain("favourite_quote", schema.CategoricalAttributes);
    }

    [Fact]
    public void Attribute_values_land_in_their_slots()
    {
        var profiles = ProfilesWithExtraColumns();
        var builder = new FeatureBuilder(AttributeDiscovery.Discover(profiles));

        var gold = builder.Build(profiles[3], Cutoff);   // household 4, plan Gold, loyalty false
        var basic = builder.Build(profiles[4], Cutoff);  // household 5, plan basic, loyalty true

        Assert.Equal(4f, gold["attr:household_size"]);
        Assert.Equal(0f, gold["attr:loyalty_member"]);
        Assert.Equal(1f, basic["attr:loyalty_member"]);
        var hashStart = FixedFeatures.Count + 2;
        Assert.Equal(1f, gold.Values[hashStart..].Sum());
        Assert.NotEqual(gold.Values[hashStart..], basic.Values[hashStart..]);
    }

    [Fact]
    public void A_schema_survives_json_and_keeps_its_fingerprint()
    {
        var schema = AttributeDiscovery.Discover(ProfilesWithExtraColumns());

        var copy = JsonSerializer.Deserialize<FeatureSchema>(JsonSerializer.Serialize(schema))!;

        Assert.Equal(schema.Fingerprint, copy.Fingerprint);
        Assert.True(copy.IsCompatibleWith(schema));
        Assert.False(FeatureSchema.Default.IsCompatibleWith(schema));
        Assert.Throws<InvalidOperationException>(() => FeatureSchema.Default.EnsureCompatibleWith(schema));
    }
}
