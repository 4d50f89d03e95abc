using System.Text.Json;
using iCrm.Core.Features;
using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Features;

public sealed class AttributeDiscoveryTests
{
    private static readonly DateTimeOffset Cutoff = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Contracts = ["Month-to-month", "One year", "Two year"];

    private static List<CustomerProfile> ProfilesWithExtraColumns() =>
        Enumerable.Range(0, 200).Select(i => new CustomerProfile
        {
            Id = $"c{i}",
            Contact = new ContactDetails { State = $"S{i % 30}" },
            Attributes = new Dictionary<string, string>
            {
                ["Household Size"] = (i % 5 + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["contract"] = Contracts[i % 3],
                ["loyalty_member"] = i % 2 == 0 ? "true" : "false",
                ["phone_service"] = i % 4 == 0 ? "No" : "Yes",
                ["member_id"] = $"M{i}",
                ["ssn"] = $"{100 + i}-00-{1000 + i}",
                ["favourite_quote"] = $"free text number {i}",
            },
        }).ToList();

    [Fact]
    public void Numbers_and_yes_no_get_a_named_slot_each_whatever_the_attribute_is_called()
    {
        var schema = AttributeDiscovery.Discover(ProfilesWithExtraColumns());

        Assert.Equal(["household_size", "loyalty_member", "phone_service"], schema.NumericAttributes);
        Assert.Equal("customer attribute 'household_size'", schema.Features[schema.IndexOf("attr:household_size")].Label);
    }

    [Fact]
    public void Low_cardinality_categories_are_one_hot_without_collisions()
    {
        var schema = AttributeDiscovery.Discover(ProfilesWithExtraColumns());

        var contract = Assert.Single(schema.OneHotAttributes);
        Assert.Equal("contract", contract.Name);
        Assert.Equal(["month-to-month", "one year", "two year"], contract.Values);
        var builder = new FeatureBuilder(schema);
        var monthly = builder.Build(ProfilesWithExtraColumns()[0], Cutoff);
        var twoYear = builder.Build(ProfilesWithExtraColumns()[2], Cutoff);
        Assert.Equal(1f, monthly["attr:contract=month-to-month"]);
        Assert.Equal(0f, monthly["attr:contract=two year"]);
        Assert.Equal(1f, twoYear["attr:contract=two year"]);
        Assert.Equal(0f, twoYear["attr:contract=month-to-month"]);
    }

    [Fact]
    public void High_cardinality_categories_are_encoded_by_frequency_and_a_learnt_target_rate()
    {
        var profiles = ProfilesWithExtraColumns();
        var schema = AttributeDiscovery.Discover(profiles);

        var state = Assert.Single(schema.EncodedAttributes);
        Assert.Equal("state", state.Name);
        var before = new FeatureBuilder(schema).Build(profiles[0], Cutoff);
        Assert.Equal(7f / 200, before["attr_freq:state"], 5);
        Assert.Equal(0f, before["attr_target:state"]);

        var encoded = schema.WithTargetEncodings([new TargetEncoding(0.1f, new Dictionary<string, float> { ["s0"] = 0.4f })]);
        Assert.Equal(schema.Fingerprint, encoded.Fingerprint);
        var builder = new FeatureBuilder(encoded);
        Assert.Equal(0.4f, builder.Build(profiles[0], Cutoff)["attr_target:state"]);
        Assert.Equal(0.1f, builder.Build(profiles[1], Cutoff)["attr_target:state"]);
        Assert.Equal(0.1f, builder.Build(new CustomerProfile { Id = "x" }, Cutoff)["attr_target:state"]);
        Assert.Equal([schema.IndexOf("attr_target:state")], schema.TargetSlots());
    }

    [Fact]
    public void Only_configured_personal_data_and_values_that_identify_customers_are_left_out()
    {
        var schema = AttributeDiscovery.Discover(ProfilesWithExtraColumns());
        var used = schema.NumericAttributes.Concat(schema.OneHotAttributes.Select(a => a.Name)).Concat(schema.EncodedAttributes.Select(a => a.Name)).ToList();

        Assert.Contains("phone_service", used);
        Assert.DoesNotContain("ssn", used);
        Assert.DoesNotContain("member_id", used);
        Assert.DoesNotContain("favourite_quote", used);
        var configured = AttributeDiscovery.Discover(ProfilesWithExtraColumns(), new AttributeDiscoveryOptions { PersonalData = new HashSet<string> { "contract" } });
        Assert.Empty(configured.OneHotAttributes);
    }

    [Fact]
    public void A_schema_survives_json_and_keeps_its_fingerprint_and_encodings()
    {
        var schema = AttributeDiscovery.Discover(ProfilesWithExtraColumns())
            .WithTargetEncodings([new TargetEncoding(0.1f, new Dictionary<string, float> { ["s0"] = 0.4f })]);

        var copy = JsonSerializer.Deserialize<FeatureSchema>(JsonSerializer.Serialize(schema))!;

        Assert.Equal(schema.Fingerprint, copy.Fingerprint);
        Assert.True(copy.IsCompatibleWith(schema));
        Assert.Equal(0.4f, copy.EncodedAttributes[0].Target!.Of("s0"));
        Assert.False(FeatureSchema.Default.IsCompatibleWith(schema));
        Assert.Throws<InvalidOperationException>(() => FeatureSchema.Default.EnsureCompatibleWith(schema));
    }

    [Fact]
    public void A_version_1_schema_with_hashed_categories_is_still_built_so_old_models_score_until_retrained()
    {
        var features = FixedFeatures.All.Concat(Enumerable.Range(0, 4).Select(b => new FeatureDefinition($"attr_hash:{b}", FeatureKind.HashedCategory, $"group {b}"))).ToList();
        var v1 = new FeatureSchema(1, features, [], ["contract"], 4);

        var values = new FeatureBuilder(v1).Build(ProfilesWithExtraColumns()[0], Cutoff).Values;

        Assert.Equal(FixedFeatures.Count + 4, values.Length);
        Assert.Equal(1f, values[FixedFeatures.Count..].Sum());
    }
}
