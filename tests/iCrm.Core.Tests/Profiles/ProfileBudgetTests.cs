using System.Globalization;
using System.Text;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Testing;

using static iCrm.Core.Tests.Ingestion.IngestionTestData;

namespace iCrm.Core.Tests.Profiles;

public sealed class ProfileBudgetTests
{
    [Fact]
    public async Task A_row_with_ten_fields_of_99000_characters_is_quarantined_as_field_too_long_and_no_profile_grows()
    {
        var harness = new IngestionHarness(now: Now);
        var huge = new string('x', 99_000);
        var header = "customer_id,email,first_name,last_name,street,city,state,notes_1,notes_2,notes_3,notes_4,notes_5";
        var csv = $"{header}\nW1,ann@example.com,Ann,Lee,1 Main St,Springfield,CA,a,b,c,d,e\nW2,bob@example.com,{string.Join(',', Enumerable.Repeat(huge, 10))}\n";

        var report = await harness.IngestAsync("web/customers/c.csv", csv);

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal((2L, 1L, 1L), (report.RowsRead, report.RowsAccepted, report.RowsRejected));
        var rejected = Assert.Single(harness.Quarantine.Rejected[report.Id]);
        Assert.Equal((3L, RejectionReasons.FieldTooLong, "first_name"), (rejected.Line, rejected.Reason, rejected.Field));
        Assert.Null(await harness.FindBySourceAsync("web", "W2"));
        Assert.All(harness.Customers.All(), p => Assert.True(ProfileSize.Measure(p) < 10_000));
    }

    [Fact]
    public async Task A_row_with_10000_columns_keeps_100_attributes_and_is_flagged()
    {
        var harness = new IngestionHarness(now: Now);
        var columns = Enumerable.Range(1, 9_999).Select(i => $"extra_{i}");
        var csv = $"customer_id,{string.Join(',', columns)}\nW1,{string.Join(',', Enumerable.Range(1, 9_999).Select(i => $"v{i}"))}\n";

        var report = await harness.IngestAsync("web/customers/wide.csv", csv);

        Assert.Equal((1L, 1L, 1L), (report.RowsAccepted, report.RowsFlagged, report.FlaggedByReason[WarningReasons.AttributesCapped]));
        var profile = (await harness.FindBySourceAsync("web", "W1"))!;
        Assert.Equal(ProfileLimits.MaxAttributes, profile.Attributes.Count);
        Assert.Equal("v1", profile.Attributes["extra_1"]);
        Assert.Equal("v100", profile.Attributes["extra_100"]);
        Assert.False(profile.Attributes.ContainsKey("extra_101"));
    }

    [Fact]
    public async Task Attribute_values_over_the_what_if_limit_are_field_too_long_and_long_headers_are_cut()
    {
        var harness = new IngestionHarness(now: Now);
        var longHeader = new string('h', 100);
        var csv = $"customer_id,note,{longHeader}\nW1,{new string('n', ProfileLimits.MaxAttributeValueLength + 1)},x\nW2,short,y\n";

        var report = await harness.IngestAsync("web/customers/notes.csv", csv);

        var rejected = Assert.Single(harness.Quarantine.Rejected[report.Id]);
        Assert.Equal((2L, RejectionReasons.FieldTooLong, "note"), (rejected.Line, rejected.Reason, rejected.Field));
        var profile = (await harness.FindBySourceAsync("web", "W2"))!;
        Assert.Equal("y", profile.Attributes[new string('h', ProfileLimits.MaxAttributeNameLength)]);
    }

    [Fact]
    public async Task A_customer_whose_history_crosses_the_budget_has_the_oldest_orders_folded_into_monthly_buckets_and_keeps_every_sum()
    {
        // 1,000 orders of 20 lines each: the order log alone would be about 3.5 MB of JSON.
        var rows = new List<string>(20_000);
        decimal total = 0;
        for (var order = 0; order < 1_000; order++)
        {
            var date = new DateTime(2020, 1, 1).AddDays(order * 2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            for (var line = 1; line <= 20; line++)
            {
                var price = 1 + ((order * 20 + line) % 50);
                total += price;
                rows.Add($"ORDER-{order:D6},{line},BIG,{date},PRODUCT-{(order + line) % 300:D5},1,{price}");
            }
        }
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 5_000 }, Now);

        var report = await harness.IngestAsync("pos/orders/history.csv", Orders([.. rows]));

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal((20_000L, 20_000L, 0L), (report.RowsRead, report.RowsAccepted, report.RowsRejected));
        var profile = (await harness.FindBySourceAsync("pos", "BIG"))!;
        Assert.InRange(ProfileSize.Measure(profile), 1, ProfileLimits.DefaultBudgetBytes);
        Assert.NotEmpty(profile.OrderMonths);
        Assert.InRange(profile.Orders.Select(o => o.OrderId).Distinct().Count(), 1, 999);
        Assert.Equal(total, profile.Orders.Sum(o => o.Amount) + profile.OrderMonths.Sum(m => m.Spend));
        Assert.Equal(1_000, profile.Orders.Select(o => o.OrderId).Distinct().Count() + profile.OrderMonths.Sum(m => m.Orders));
        Assert.True(string.CompareOrdinal(profile.OrderMonths.Max(m => m.Month), profile.Orders.Min(o => o.Date).ToString("yyyy-MM", CultureInfo.InvariantCulture)) <= 0,
            "the newest orders are kept, the oldest folded");

        var again = await harness.IngestAsync("pos/orders/history-again.csv", Orders([.. rows]));
        Assert.Equal((20_000L, 0L), (again.DuplicatesSkipped, again.RowsAccepted)); // folded lines are still recognised
    }

    [Fact]
    public async Task Rows_that_would_grow_a_profile_past_the_budget_even_after_folding_are_quarantined_as_profile_too_large()
    {
        var history = new ProfileHistoryOptions { MaxProfileBytes = 20_000 };
        var harness = new IngestionHarness(now: Now, history: history);
        var header = "customer_id,email," + string.Join(',', Enumerable.Range(1, 100).Select(i => $"a{i}"));
        string Row(string id, char fill) => $"{id},{id.ToLowerInvariant()}@example.com," + string.Join(',', Enumerable.Repeat(new string(fill, 250), 100));
        await harness.IngestAsync("web/customers/small.csv", "customer_id,email\nW1,w1@example.com\n");

        var report = await harness.IngestAsync("web/customers/wide.csv", $"{header}\n{Row("W1", 'a')}\n{Row("W2", 'b')}\n");

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.True(report.IsBalanced);
        Assert.Equal((2L, 0L, 2L), (report.RowsRead, report.RowsAccepted, report.RowsRejected));
        Assert.Equal(2, report.RejectedByReason[RejectionReasons.ProfileTooLarge]);
        Assert.Equal([2L, 3L], harness.Quarantine.Rejected[report.Id].Select(r => r.Line));
        var w1 = (await harness.FindBySourceAsync("web", "W1"))!;
        Assert.Empty(w1.Attributes); // as it was stored
        Assert.Null(await harness.FindBySourceAsync("web", "W2"));
        Assert.All(harness.Customers.All(), p => Assert.True(ProfileSize.Measure(p) <= history.MaxProfileBytes));
    }

    [Fact]
    public async Task A_new_profile_rejected_as_too_large_leaves_no_key_claimed_and_the_persons_next_drop_creates_it()
    {
        var history = new ProfileHistoryOptions { MaxProfileBytes = 20_000 };
        var harness = new IngestionHarness(now: Now, history: history);
        var header = "customer_id,email,phone," + string.Join(',', Enumerable.Range(1, 100).Select(i => $"a{i}"));
        var wide = "W2,w2@example.com,+14155550199," + string.Join(',', Enumerable.Repeat(new string('b', 250), 100));

        var rejected = await harness.IngestAsync("web/customers/wide.csv", $"{header}\n{wide}\n");

        Assert.Equal((1L, 1L), (rejected.RowsRejected, rejected.RejectedByReason[RejectionReasons.ProfileTooLarge]));
        Assert.Empty(harness.Customers.All());
        Assert.DoesNotContain(harness.Identities.Claims.Values, c => c.Candidates is null); // fails before: src, em and ph claimed for nobody

        var later = await harness.IngestAsync("web/customers/small.csv", "customer_id,email,phone\nW2,w2@example.com,+14155550199\n");

        Assert.Equal((IngestionStatus.Completed, 1L, 1, 0, 0), (later.Status, later.RowsAccepted, later.CustomersCreated, later.CustomersUpdated, later.CustomersMerged));
        var profile = (await harness.FindBySourceAsync("web", "W2"))!;
        Assert.Equal("w2@example.com", profile.Contact.Email);
        var claims = harness.Identities.Claims.Values.Where(c => c.Candidates is null).ToList();
        Assert.Equal(3, claims.Count); // source id, email, phone
        Assert.All(claims, c => Assert.Equal(profile.Id, c.CustomerId));
    }

    [Fact]
    public void The_cheap_size_bound_is_never_below_the_serialized_size()
    {
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.FromHours(2));
        var profile = new CustomerProfile
        {
            Id = "c-1",
            Identities = [new("web", "Ærø-<1>"), new("pos", "\"quoted\"")],
            Contact = new ContactDetails { Email = "a+b@example.com", FirstName = "Zoë", LastName = "O'Brien", City = "Łódź", Country = "PL" },
            FieldStamps = { ["email"] = new FieldStamp("web", at) },
            ContactValues = [new("email", "a+b@example.com", "web", at), new("email", "\"old\"+<b>@example.com", "pos", at.AddDays(-1))],
            Attributes = { ["note"] = "日本語のテキスト & <b>", ["tier"] = "gold" },
            Orders = [.. Enumerable.Range(0, 50).Select(i => new OrderLine($"O-{i}", i, at, "SKU\t1", -123456.789m, 99999999.99m, "web", i % 2 == 0))],
            OrderMonths = [new MonthlyOrders { Month = "2024-01", Orders = 3, Spend = 12.5m, Returns = 1 }],
            EventMonths = [new MonthlyEvents { Month = "2024-01", Type = "view", Count = 7 }],
            RecentEvents = [new CustomerEvent(at, "email_click", "P\u0001", 1.25m, "email")],
            Feedback = [new FeedbackItem { Timestamp = at, Rating = 5, Channel = "app", Text = string.Concat(Enumerable.Repeat("Świetnie! \"<3\" 😀 ", 200)), Sentiment = 0.123456789 }],
            Subscriptions = [new Subscription("gold+", new DateOnly(2024, 1, 1), null, 9.99m, "month", "erp")],
            SeenKeys = [.. Enumerable.Range(0, 100).Select(i => ProfileHistory.Hash("k", i.ToString(CultureInfo.InvariantCulture)))],
            AppliedChunks = [new AppliedChunk("0123456789abcdef0123456789abcdef#12", int.MaxValue, int.MaxValue, true, ["c-2"], "c-3", int.MaxValue)],
            MatchKeys = ["em:abc", "ph:def"],
            MergedFrom = ["c-2"],
            MergeExplanations = [new MergeExplanation("c-2", at, "Probabilistic", 15.5, ["email agrees", "name ~ 0.93"])],
            Predictions = { ["churn"] = new Prediction("v1", at, 0.42, "high", [new Factor("recency_days", "Days since last order", -0.3)]) },
            CreatedAt = at,
            UpdatedAt = at,
        };

        Assert.True(ProfileSize.UpperBound(profile) >= ProfileSize.Measure(profile));
        Assert.True(ProfileSize.UpperBound(profile) < 4 * ProfileSize.Measure(profile), "the bound stays close enough to spare serializing most profiles");
        Assert.True(ProfileSize.QuickUpperBound(profile) >= ProfileSize.UpperBound(profile), "the length-only bound is the looser one");
    }

    [Fact]
    public void The_cheap_size_bound_counts_every_contact_value_and_alternative()
    {
        var at = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.FromHours(2));
        string[] fields = ["email", "phone", "firstName", "lastName", "street", "city", "postcode", "state", "country", "loyaltyId"];
        // Many sources, each with its own escaped value per field: the alternatives a merged profile keeps.
        var values = new List<ContactValue>();
        for (var source = 0; source < 60; source++)
        {
            foreach (var field in fields)
            {
                values.Add(new ContactValue(field, $"Zoë \"<{source}>\" Łódź {field} {new string('x', 40)}", $"src-{source}",
                    at.AddMinutes(source).AddTicks(1234567)));
            }
        }
        var profile = new CustomerProfile
        {
            Id = "c-1",
            Contact = new ContactDetails { Email = "a+b@example.com", FirstName = "Zoë" },
            FieldStamps = { ["email"] = new FieldStamp("web", at) },
            ContactValues = values,
            CreatedAt = at,
            UpdatedAt = at,
        };

        var measured = ProfileSize.Measure(profile);
        Assert.True(measured > ProfileSize.FixedAllowance, "the contact values alone are larger than the fixed allowance");
        Assert.True(ProfileSize.UpperBound(profile) >= measured);
        Assert.True(ProfileSize.UpperBound(profile) < 4 * measured, "the bound stays close enough to spare serializing most profiles");
        Assert.True(ProfileSize.QuickUpperBound(profile) >= ProfileSize.UpperBound(profile), "the length-only bound is the looser one");
    }

    [Fact]
    public void Merge_explanations_and_identity_lists_are_bounded()
    {
        var profile = new CustomerProfile
        {
            Id = "c",
            Identities = [.. Enumerable.Range(0, 1_500).Select(i => new SourceIdentity("web", $"id{i}"))],
            MergedFrom = [.. Enumerable.Range(0, 1_500).Select(i => $"m{i}")],
            MergeExplanations = [.. Enumerable.Range(0, 300).Select(i =>
                new MergeExplanation($"m{i}", DateTimeOffset.UnixEpoch, "Probabilistic", 1, [.. Enumerable.Range(0, 100).Select(e => $"e{e}")]))],
        };

        ProfileHistory.Bound(profile);

        Assert.Equal(ProfileLimits.MaxIdentities, profile.Identities.Count);
        Assert.Equal("id0", profile.Identities[0].SourceId);
        Assert.Equal(ProfileLimits.MaxMergedFrom, profile.MergedFrom.Count);
        Assert.Equal(ProfileLimits.MaxMergeExplanations, profile.MergeExplanations.Count);
        Assert.Equal("m299", profile.MergeExplanations[^1].OtherId);
        Assert.All(profile.MergeExplanations, e => Assert.Equal(ProfileLimits.MaxEvidencePerExplanation, e.Evidence.Count));
    }
}
