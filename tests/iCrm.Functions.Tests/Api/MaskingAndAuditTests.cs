using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Functions.Api;
using iCrm.Functions.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.Functions.Tests.Api;

/// <summary>Contact masking per role, the audit entries API reads write, and the audit queries of the privacy role.</summary>
public sealed class MaskingAndAuditTests : IDisposable
{
    private const string Email = "jane.doe@example.com";
    private const string Phone = "+442071838789";
    private readonly IcrmAppFactory _app = new();

    public MaskingAndAuditTests() => RoleKeys.UseRoleKeys(_app);

    public void Dispose() => _app.Dispose();

    private static CustomerProfile Jane()
    {
        var profile = ApiTestKit.Profile("c-0042");
        profile.Identities = [new SourceIdentity("web", "W-778812")];
        profile.Contact = new ContactDetails
        {
            Email = Email, Phone = Phone, FirstName = "Jane", LastName = "Doe", BirthDate = new DateOnly(1985, 7, 14),
            Street = "12 Baker Street", City = "London", Postcode = "NW1 6XE", Country = "GB", LoyaltyId = "L-445566",
        };
        profile.ContactValues.Add(new ContactValue("email", "jane@old.example.org", "pos", ApiTestKit.Now.AddDays(-90)));
        return profile;
    }

    private async Task StoreJaneAsync()
    {
        await _app.StoreAsync(Jane());
        _ = _app.Server;
        var key = _app.Services.GetRequiredService<iCrm.Core.Identity.MatchKeyHasher>().SourceKey("web", "W-778812");
        await _app.Identities.ClaimAsync(key.Value, key.Kind.ToString(), "c-0042");
    }

    private HttpClient Client(ApiRole role)
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Add(ApiKeys.ApiKeyHeader, RoleKeys.KeyOf(role));
        return client;
    }

    private async Task<IReadOnlyList<AuditEntry>> FlushedAuditAsync()
    {
        await _app.Services.GetRequiredService<AuditTrail>().FlushAsync();
        return [.. _app.Audit.Entries.Values.OrderBy(e => e.At)];
    }

    [Fact]
    public async Task A_reader_sees_contact_fields_masked()
    {
        await StoreJaneAsync();

        var profile = (await Client(ApiRole.Reader).GetFromJsonAsync<JsonObject>("/api/customers/c-0042"))!;
        var contact = profile["contact"]!;

        Assert.Equal("j***@example.com", contact["email"]!.GetValue<string>());
        Assert.Equal("**********89", contact["phone"]!.GetValue<string>());
        Assert.Equal("Jane", contact["firstName"]!.GetValue<string>());
        Assert.Equal("D.", contact["lastName"]!.GetValue<string>());
        Assert.Equal("***", contact["street"]!.GetValue<string>());
        Assert.Equal("NW***", contact["postcode"]!.GetValue<string>());
        Assert.Equal("London", contact["city"]!.GetValue<string>());
        Assert.Equal("*****66", contact["loyaltyId"]!.GetValue<string>());
        Assert.Null(contact["birthDate"]);
        Assert.Equal(1985, profile["birthYear"]!.GetValue<int>());
        Assert.True(profile["contactMasked"]!.GetValue<bool>());
        Assert.Equal("j***@old.example.org", profile["contactAlternatives"]![0]!["value"]!.GetValue<string>());
        var text = profile.ToJsonString();
        Assert.DoesNotContain(Email, text);
        Assert.DoesNotContain("Baker", text);
        Assert.DoesNotContain("2071838789", text);
    }

    [Theory]
    [InlineData(ApiRole.Marketer)]
    [InlineData(ApiRole.Privacy)]
    public async Task Marketers_and_the_privacy_role_see_full_contact(ApiRole role)
    {
        await StoreJaneAsync();

        var profile = (await Client(role).GetFromJsonAsync<JsonObject>("/api/customers/c-0042"))!;

        Assert.Equal(Email, profile["contact"]!["email"]!.GetValue<string>());
        Assert.Equal(Phone, profile["contact"]!["phone"]!.GetValue<string>());
        Assert.Equal("1985-07-14", profile["contact"]!["birthDate"]!.GetValue<string>());
        Assert.False(profile["contactMasked"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Lists_and_source_lookups_mask_for_readers_too()
    {
        await StoreJaneAsync();
        var reader = Client(ApiRole.Reader);

        var list = (await reader.GetFromJsonAsync<JsonObject>("/api/customers"))!;
        var bySource = (await reader.GetFromJsonAsync<JsonObject>("/api/customers/by-source/web/W-778812"))!;

        Assert.Equal("j***@example.com", list["items"]![0]!["contact"]!["email"]!.GetValue<string>());
        Assert.Equal("j***@example.com", bySource["contact"]!["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task Every_profile_read_writes_an_entry_naming_key_role_action_and_purpose_but_no_personal_data()
    {
        await StoreJaneAsync();
        var reader = Client(ApiRole.Reader);
        using var scoredApp = _app.With(ApiTestKit.Scoring(new FullScoring()));
        var scored = scoredApp.CreateClient();
        scored.DefaultRequestHeaders.Add(ApiKeys.ApiKeyHeader, RoleKeys.MarketerKey);

        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/customers/c-0042?purpose=support")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/customers/by-source/web/W-778812")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/customers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await scored.GetAsync("/api/customers/c-0042/scores?purpose=retention")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await scored.GetAsync("/api/customers/c-0042/recommendations")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await scored.PostAsync("/api/scores:batch", ApiTestKit.Json("{\"ids\": [\"c-0042\", \"nobody\"]}"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync("/api/customers/nobody")).StatusCode);

        await scoredApp.Services.GetRequiredService<AuditTrail>().FlushAsync();
        var entries = await FlushedAuditAsync();

        Assert.Equal([ReadActions.Read, ReadActions.ReadBySource, ReadActions.List, ReadActions.Scores, ReadActions.Recommendations, ReadActions.BatchScores],
            entries.Select(e => e.Action));
        Assert.All(entries, e => Assert.Equal("c-0042", e.CustomerId));
        Assert.Equal(["reader", "reader", "reader", "marketer", "marketer", "marketer"], entries.Select(e => e.Actor));
        Assert.Equal(["reader", "reader", "reader", "marketer", "marketer", "marketer"], entries.Select(e => e.Role));
        Assert.Equal(["support", null, null, "retention", null, null], entries.Select(e => e.Purpose));
        Assert.Equal(entries.Count, entries.Select(e => e.Id).Distinct().Count());
        // No email, name, phone, street, birth date or raw source id in any entry.
        var written = JsonSerializer.Serialize(entries.Select(e => e with { Id = "" }));
        foreach (var personal in new[] { Email, "jane@old", "Jane", "Doe", "2071838789", "Baker", "1985-07-14", "W-778812", "L-445566" })
        {
            Assert.DoesNotContain(personal, written, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task The_audit_can_be_queried_by_time_and_action_in_pages_newest_first()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 7; i++)
        {
            await _app.Audit.WriteAsync(new AuditEntry($"e{i}", i % 2 == 0 ? "c-a" : "c-b", i < 5 ? "read" : "merge", "reader", start.AddHours(i), Role: "reader"));
        }
        var privacy = Client(ApiRole.Privacy);

        var first = (await privacy.GetFromJsonAsync<JsonObject>("/api/audit?action=read&from=2026-01-01T01:00:00Z&to=2026-01-01T05:00:00Z&pageSize=2"))!;
        var token = first["continuationToken"]!.GetValue<string>();
        var second = (await privacy.GetFromJsonAsync<JsonObject>($"/api/audit?action=read&from=2026-01-01T01:00:00Z&to=2026-01-01T05:00:00Z&pageSize=2&continuationToken={token}"))!;
        var customer = (await privacy.GetFromJsonAsync<JsonObject>("/api/customers/c-a/audit"))!;
        var merges = (await privacy.GetFromJsonAsync<JsonObject>("/api/audit?action=merge"))!;

        Assert.Equal(["e4", "e3"], Ids(first));
        Assert.Equal(["e2", "e1"], Ids(second));
        Assert.Null(second["continuationToken"]);
        Assert.Equal(["e6", "e4", "e2", "e0"], Ids(customer));
        Assert.Equal(["e6", "e5"], Ids(merges));
        Assert.Equal("reader", first["items"]![0]!["actor"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_drop_that_changes_a_profile_shows_in_its_audit_and_in_the_list_of_changes()
    {
        await StoreJaneAsync();
        _app.Drops.Put("web/orders/o.csv", "order_id,customer_id,order_date,amount\nO-9001,W-778812,2026-01-02,12.50\nO-9002,W-778812,2026-01-09,7.25\n");
        var report = (await _app.InvokeIngestAsync(new global::Azure.Storage.Blobs.BlobClient(new Uri("https://acct.blob.core.windows.net/drops/web/orders/o.csv"))))!;
        Assert.Equal((iCrm.Core.Ingestion.IngestionStatus.Completed, 2L), (report.Status, report.RowsAccepted));
        var privacy = Client(ApiRole.Privacy);

        var customer = (await privacy.GetFromJsonAsync<JsonObject>("/api/customers/c-0042/audit"))!;
        var changes = (await privacy.GetFromJsonAsync<JsonObject>("/api/audit?action=change"))!;

        var change = Assert.Single(customer["items"]!.AsArray(), i => i!["action"]!.GetValue<string>() == "change")!;
        Assert.Equal(("ingest", "system", "orders", report.Id, $"ingest-{report.Id}"),
            (change["actor"]!.GetValue<string>(), change["role"]!.GetValue<string>(), change["reason"]!.GetValue<string>(),
             change["relatedId"]!.GetValue<string>(), change["id"]!.GetValue<string>()));
        var listed = Assert.Single(changes["items"]!.AsArray())!;
        Assert.Equal(("c-0042", report.Id), (listed["customerId"]!.GetValue<string>(), listed["relatedId"]!.GetValue<string>()));
        var text = customer.ToJsonString() + changes.ToJsonString();
        foreach (var personal in new[] { "W-778812", Email, "Jane", "O-9001", "12.5" })
        {
            Assert.DoesNotContain(personal, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("/api/audit?from=yesterday", "from must be an ISO 8601 instant")]
    [InlineData("/api/audit?to=2026-13-01", "to must be an ISO 8601 instant")]
    [InlineData("/api/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from must be before to")]
    [InlineData("/api/audit?action=DROP%20TABLE", "action must be")]
    [InlineData("/api/audit?pageSize=0", "pageSize")]
    [InlineData("/api/audit?continuationToken=zzz", "continuationToken")]
    [InlineData("/api/customers/bad%20id/audit", "1-64 letters")]
    public async Task Bad_audit_queries_are_400_saying_what_is_wrong(string url, string expected)
    {
        var problem = await (await Client(ApiRole.Privacy).GetAsync(url)).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.Detail());
    }

    private static List<string> Ids(JsonObject page) => [.. page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>())];
}
