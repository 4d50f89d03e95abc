using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Core.Privacy;

namespace iCrm.Functions.Tests.Api;

/// <summary>Data-subject requests over HTTP: erase, export and consent, against the real ingestion pipeline.</summary>
public sealed class PrivacyEndpointTests : IDisposable
{
    private const string Customers =
        "customer_id,email,phone,first_name,last_name,city,consent_email,consent_profiling\n" +
        "W-1,ada.lovelace@example.test,+44 20 7946 0001,Ada,Lovelace,London,true,true\n" +
        "W-2,grace.hopper@example.test,+44 20 7946 0002,Grace,Hopper,Leeds,false,\n" +
        "W-1,not-an-email,,Ada,Lovelace,London,,\n"; // quarantined: its raw text names W-1

    private static readonly string Orders =
        "order_id,customer_id,order_date,amount\n" +
        $"O-1,W-1,{DateTimeOffset.UtcNow.AddDays(-40):yyyy-MM-dd},19.90\n" +
        $"O-2,W-1,{DateTimeOffset.UtcNow.AddDays(-10):yyyy-MM-dd},5.10\n" +
        $"O-3,W-2,{DateTimeOffset.UtcNow.AddDays(-12):yyyy-MM-dd},42.00\n" +
        "O-4,W-1,not-a-date,3\n"; // quarantined

    private static readonly string Feedback =
        "customer_id,timestamp,text,rating\n" +
        $"W-1,{DateTimeOffset.UtcNow.AddDays(-9):yyyy-MM-ddTHH:mm:ssZ},The parcel came late,2\n";

    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<string> DropPeopleAsync()
    {
        await IngestAsync("web/customers/people.csv", Customers);
        await IngestAsync("web/orders/orders.csv", Orders);
        await IngestAsync("web/feedback/feedback.csv", Feedback);
        return await IdOfAsync("W-1");
    }

    private async Task<IngestionReport> IngestAsync(string path, string content)
    {
        _app.Drops.Put(path, content);
        var report = await _app.InvokeIngestAsync(new global::Azure.Storage.Blobs.BlobClient(new Uri($"https://acct.blob.core.windows.net/drops/{path}")));
        Assert.NotNull(report);
        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal(report.RowsRead, report.RowsAccepted + report.RowsRejected + report.DuplicatesSkipped);
        return report;
    }

    private async Task<string> IdOfAsync(string webId)
    {
        var profile = await _app.CreateClient().GetFromJsonAsync<JsonObject>($"/api/customers/by-source/web/{webId}");
        return profile!["id"]!.GetValue<string>();
    }

    private static StringContent Reason(string reason = "DSR-2026-0042") => ApiTestKit.Json($"{{\"reason\":\"{reason}\"}}");

    [Fact]
    public async Task Erasing_removes_the_profile_keys_and_quarantined_rows_and_a_re_drop_is_quarantined_as_erased_subject()
    {
        var id = await DropPeopleAsync();
        var other = await IdOfAsync("W-2");
        var client = _app.CreateClient();
        var rejectedBefore = _app.Quarantine.Rejected.Values.Sum(r => r.Count);
        Assert.Equal(2, rejectedBefore);

        var response = await client.PostAsync($"/api/customers/{id}:erase", Reason());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tombstone = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(id, tombstone["erasedId"]!.GetValue<string>());
        Assert.Equal(2, tombstone["quarantineRowsRemoved"]!.GetValue<int>());
        Assert.True(tombstone["keysTombstoned"]!.GetValue<int>() >= 3); // source id, email, phone

        // Profile, claims and quarantined rows are gone; the other person is untouched.
        await (await client.GetAsync($"/api/customers/{id}")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Null(await _app.Customers.GetAsync(id));
        Assert.DoesNotContain(_app.Identities.Claims.Values, c => c.CustomerId == id && c.Kind != ErasedKeys.Kind);
        Assert.DoesNotContain(_app.Identities.Claims.Values, c => c.Candidates?.Contains(id) == true);
        Assert.Equal(0, _app.Quarantine.Rejected.Values.Sum(r => r.Count));
        Assert.NotNull(await _app.Customers.GetAsync(other));
        var tombstoneText = string.Join("\n", _app.Identities.Claims.Values.Where(c => c.CustomerId == id).Select(c => c.ToString()));
        Assert.DoesNotContain("lovelace", tombstoneText, StringComparison.OrdinalIgnoreCase);

        // The same files again (new uploads): nothing of W-1 comes back, its rows are erased_subject, accounting exact.
        var customers = await IngestAsync("web/customers/people.csv", Customers);
        var orders = await IngestAsync("web/orders/orders.csv", Orders);
        var feedback = await IngestAsync("web/feedback/feedback.csv", Feedback);
        Assert.Equal(1, customers.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Equal(1, customers.RejectedByReason[RejectionReasons.InvalidEmail]);
        Assert.Equal(2, orders.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Equal(1, feedback.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Equal(0, customers.CustomersCreated);
        Assert.Null(await _app.Customers.GetAsync(id));
        await (await client.GetAsync("/api/customers/by-source/web/W-1")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.All(_app.Quarantine.Rejected.Values.SelectMany(r => r).Where(r => r.Reason == RejectionReasons.ErasedSubject),
            r => Assert.Equal("", r.RawText));

        // Another system naming the person only by their email (or phone) does not recreate them either.
        var app = await IngestAsync("app/customers/signup.csv", "customer_id,email\nA-77,Ada.Lovelace@Example.test\n");
        var phone = await IngestAsync("pos/customers/till.csv", "customer_id,phone\nP-5,+44 20 7946 0001\n");
        Assert.Equal(1, app.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Equal(1, phone.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Equal([other], _app.Customers.All().Select(p => p.Id));
    }

    [Fact]
    public async Task Erasing_is_idempotent_and_unknown_ids_and_bad_reasons_are_refused()
    {
        var id = await DropPeopleAsync();
        var client = _app.CreateClient();

        var first = await (await client.PostAsync($"/api/customers/{id}:erase", Reason())).Content.ReadFromJsonAsync<JsonObject>();
        var again = await client.PostAsync($"/api/customers/{id}:erase", Reason());

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first!.ToJsonString(), (await again.Content.ReadFromJsonAsync<JsonObject>())!.ToJsonString());
        await (await client.PostAsync("/api/customers/c_000000000000000000000000:erase", Reason())).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("reason", (await (await client.PostAsync($"/api/customers/{id}:erase", ApiTestKit.Json("{}"))).ProblemAsync(HttpStatusCode.BadRequest)).Detail());
        Assert.Contains("personal data", (await (await client.PostAsync($"/api/customers/{id}:erase", Reason("asked by ada@example.test"))).ProblemAsync(HttpStatusCode.BadRequest)).Detail());
        Assert.Contains("personal data", (await (await client.PostAsync($"/api/customers/{id}:erase", Reason("call 020 7946 0001"))).ProblemAsync(HttpStatusCode.BadRequest)).Detail());
        await (await client.PostAsync($"/api/customers/{id}:erase", Reason(new string('x', 201)))).ProblemAsync(HttpStatusCode.BadRequest);
        await (await client.PostAsync("/api/customers/no%20such:erase", Reason())).ProblemAsync(HttpStatusCode.BadRequest);

        var audit = _app.Audit.Entries.Values.Where(e => e.Action == "erase").ToList();
        Assert.Equal(2, audit.Count);
        Assert.All(audit, e => Assert.Equal(("DSR-2026-0042", "privacy", id), (e.Reason, e.Purpose, e.CustomerId)));
    }

    [Fact]
    public async Task Erasing_a_merged_away_id_erases_the_survivor_and_every_profile_merged_into_it()
    {
        // Two profiles (one known by email, one by phone) that a third row proves to be one person: merged.
        await IngestAsync("web/customers/people.csv", "customer_id,email,first_name\nW-1,ada.lovelace@example.test,Ada\n");
        await IngestAsync("callcenter/customers/calls.csv", "customer_id,phone,first_name\nC-9,+44 20 7946 0009,Ada\n");
        await IngestAsync("app/customers/signup.csv", "customer_id,email,phone\nA-1,ada.lovelace@example.test,+44 20 7946 0009\n");
        var ids = _app.Customers.All().Select(p => p.Id).ToList();
        Assert.Equal(2, ids.Count);
        var live = _app.Customers.All().Single(p => p.MergedInto is null).Id;
        var dead = ids.Single(i => i != live);
        Assert.Equal(live, (await _app.Customers.GetAsync(dead))!.Value.MergedInto);
        var client = _app.CreateClient();

        var erased = (await (await client.PostAsync($"/api/customers/{dead}:erase", Reason())).Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(live, erased["erasedId"]!.GetValue<string>());
        Assert.Equal(ids.Order(StringComparer.Ordinal), erased["erasedIds"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Empty(_app.Customers.All());
        var bySurvivor = (await (await client.PostAsync($"/api/customers/{live}:erase", Reason())).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(erased["erasedAt"]!.ToJsonString(), bySurvivor["erasedAt"]!.ToJsonString());
        var redrop = await IngestAsync("callcenter/customers/calls.csv", "customer_id,phone,first_name\nC-9,+44 20 7946 0009,Ada\n");
        Assert.Equal(1, redrop.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Empty(_app.Customers.All());
    }

    [Fact]
    public async Task With_recreation_allowed_a_new_sign_up_after_erasure_creates_a_new_profile()
    {
        _app.Settings["Privacy:AllowRecreationAfterErase"] = "true";
        var id = await DropPeopleAsync();
        var client = _app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/customers/{id}:erase", Reason())).StatusCode);

        var report = await IngestAsync("app/customers/signup.csv", "customer_id,email,first_name\nA-77,ada.lovelace@example.test,Ada\n");

        Assert.Equal(0, report.RowsRejected);
        Assert.Equal(1, report.CustomersCreated);
        var profile = await client.GetFromJsonAsync<JsonObject>("/api/customers/by-source/app/A-77");
        Assert.Equal("ada.lovelace@example.test", profile!["contact"]!["email"]!.GetValue<string>());
        Assert.Null(profile["identities"]!["web"]); // nothing of the erased relationship came back
    }

    [Fact]
    public async Task The_export_is_a_download_holding_what_was_dropped_with_consent_history_and_audit()
    {
        var id = await DropPeopleAsync();
        var client = _app.CreateClient();

        var response = await client.GetAsync($"/api/customers/{id}/export");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal($"customer-{id}.json", response.Content.Headers.ContentDisposition?.FileName);
        var export = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(id, export["customerId"]!.GetValue<string>());
        Assert.Equal("privacy", export["purpose"]!.GetValue<string>());
        Assert.Equal(["W-1"], export["identities"]!.AsArray().Single(s => s!["source"]!.GetValue<string>() == "web")!["sourceIds"]!.AsArray().Select(n => n!.GetValue<string>()));
        var contact = export["contact"]!;
        Assert.Equal(("ada.lovelace@example.test", "+442079460001", "Ada", "Lovelace", "London"),
            (contact["email"]!.GetValue<string>(), contact["phone"]!.GetValue<string>(), contact["firstName"]!.GetValue<string>(),
             contact["lastName"]!.GetValue<string>(), contact["city"]!.GetValue<string>()));
        var orders = export["history"]!["orders"]!.AsArray();
        Assert.Equal(["O-1", "O-2"], orders.Select(o => o!["orderId"]!.GetValue<string>()).Order());
        Assert.Equal(25.00m, orders.Sum(o => o!["amount"]!.GetValue<decimal>()));
        Assert.Equal("The parcel came late", export["history"]!["feedback"]!.AsArray().Single()!["text"]!.GetValue<string>());
        var consent = export["consent"]!;
        Assert.True(consent["consent"]!["email"]!.GetValue<bool>());
        Assert.True(consent["consent"]!["profiling"]!.GetValue<bool>());
        Assert.Contains(consent["statements"]!.AsArray(), s => s!["channel"]!.GetValue<string>() == "email" && s["source"]!.GetValue<string>() == "web");
        Assert.Contains(export["audit"]!.AsArray(), a => a!["action"]!.GetValue<string>() == "export");
        Assert.NotNull(export["liveScoresNote"]); // no model trained here: said so, not silently missing
        Assert.Contains(_app.Audit.Entries.Values, e => e is { Action: "export", Purpose: "privacy" } && e.CustomerId == id);
        await (await client.GetAsync("/api/customers/c_000000000000000000000000/export")).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_export_schema_is_typed_in_the_OpenAPI_document()
    {
        var document = (await _app.CreateClient().GetFromJsonAsync<JsonObject>("/api/openapi.json"))!;
        var schemas = document["components"]!["schemas"]!.AsObject();

        var export = schemas["CustomerExport"]!["properties"]!.AsObject();
        Assert.Equal(["attributes", "audit", "churnLabel", "consent", "contact", "contactValues", "createdAt", "customerId", "exportedAt",
            "history", "identities", "liveScores", "liveScoresNote", "mergeExplanations", "mergedIds", "purpose", "signupDate",
            "storedPredictions", "updatedAt"], export.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.NotNull(schemas["ConsentStatement"]);
        Assert.NotNull(schemas["ErasureView"]);
        var paths = document["paths"]!.AsObject();
        Assert.NotNull(paths["/api/customers/{id}:erase"]!["post"]!["requestBody"]);
        Assert.Contains("Privacy", paths["/api/customers/{id}/export"]!["get"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task Consent_statements_from_drops_and_the_endpoint_keep_the_most_recent_per_channel()
    {
        var id = await DropPeopleAsync();
        var client = _app.CreateClient();
        var now = DateTimeOffset.UtcNow;

        var withdrawn = await client.PostAsync($"/api/customers/{id}/consent",
            ApiTestKit.Json("{\"channel\":\"Email\",\"value\":false,\"source\":\"preference-centre\"}"));
        var older = await client.PostAsync($"/api/customers/{id}/consent",
            ApiTestKit.Json($"{{\"channel\":\"email\",\"value\":true,\"source\":\"call-centre\",\"at\":\"{now.AddDays(-30):O}\"}}"));

        Assert.Equal(HttpStatusCode.OK, withdrawn.StatusCode);
        var view = (await older.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.False(view["consent"]!["email"]!.GetValue<bool>()); // the older opt-in is kept but does not win
        var email = view["statements"]!.AsArray().Where(s => s!["channel"]!.GetValue<string>() == "email").ToList();
        Assert.Equal(["call-centre", "web", "preference-centre"], email.Select(s => s!["source"]!.GetValue<string>())); // oldest first
        Assert.False((await client.GetFromJsonAsync<JsonObject>($"/api/customers/{id}"))!["consent"]!["email"]!.GetValue<bool>());

        // A later drop restating consent is a newer statement: it wins.
        await IngestAsync("web/customers/people.csv", Customers);
        Assert.True((await _app.Customers.GetAsync(id))!.Value.Consent.Email);

        var audit = _app.Audit.Entries.Values.Where(e => e.Action == "consent").Select(e => e.Reason).Order().ToList();
        Assert.Equal(["email:given", "email:withdrawn"], audit);
        foreach (var bad in new[]
        {
            "{\"channel\":\"fax\",\"value\":true,\"source\":\"web\"}",
            "{\"channel\":\"sms\",\"source\":\"web\"}",
            "{\"channel\":\"sms\",\"value\":true}",
            "{\"channel\":\"sms\",\"value\":true,\"source\":\"a b@c\"}",
            $"{{\"channel\":\"sms\",\"value\":true,\"source\":\"web\",\"at\":\"{now.AddDays(1):O}\"}}",
        })
        {
            await (await client.PostAsync($"/api/customers/{id}/consent", ApiTestKit.Json(bad))).ProblemAsync(HttpStatusCode.BadRequest);
        }
        await (await client.PostAsync("/api/customers/c_000000000000000000000000/consent",
            ApiTestKit.Json("{\"channel\":\"sms\",\"value\":true,\"source\":\"web\"}"))).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Withdrawn_profiling_consent_clears_predictions_and_leaves_the_person_out_of_the_next_training_run()
    {
        var client = _app.CreateClient();
        await _app.IngestAsync("web/orders/history.csv", ApiTestKit.OrderHistoryCsv());
        var first = await client.TrainAsync("[\"churn\"]");
        Assert.Equal(40, first["profiles"]!.GetValue<long>());
        var id = await IdOfAsync("3");
        Assert.NotEmpty((await _app.Customers.GetAsync(id))!.Value.Predictions);

        var response = await client.PostAsync($"/api/customers/{id}/consent",
            ApiTestKit.Json("{\"channel\":\"profiling\",\"value\":false,\"source\":\"app\"}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await _app.Customers.GetAsync(id))!.Value.Predictions);

        var second = await client.TrainAsync("[\"churn\"]");
        Assert.Equal("succeeded", second["status"]!.GetValue<string>());
        Assert.Equal(39, second["profiles"]!.GetValue<long>());
        Assert.Equal(1, second["profilesWithoutProfilingConsent"]!.GetValue<long>());
        Assert.Empty((await _app.Customers.GetAsync(id))!.Value.Predictions); // nothing written back for them
        var export = (await client.GetFromJsonAsync<JsonObject>($"/api/customers/{id}/export"))!;
        Assert.Null(export["liveScores"]);
        Assert.Contains("Profiling consent", export["liveScoresNote"]!.GetValue<string>());
    }
}
