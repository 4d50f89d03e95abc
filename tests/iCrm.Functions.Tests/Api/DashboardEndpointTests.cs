using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Functions.Api;

namespace iCrm.Functions.Tests.Api;

/// <summary>The dashboard's assets (GET /api/dashboard/…) and the two endpoints it adds: GET /api/overview and
/// GET /api/ingestions/{id}/rejected.</summary>
public sealed class DashboardEndpointTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Dashboard_assets_are_anonymous_typed_and_revalidated_while_its_data_needs_the_key()
    {
        _app.Settings["Security:ApiKey"] = "local-api-key";
        var client = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var page = await client.GetAsync("/api/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("app.js", await page.Content.ReadAsStringAsync());
        Assert.True(page.Headers.CacheControl?.NoCache);

        var script = await client.GetAsync("/api/dashboard/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Contains("x-api-key", await script.Content.ReadAsStringAsync());
        Assert.Equal("text/css", (await client.GetAsync("/api/dashboard/app.css")).Content.Headers.ContentType?.MediaType);
        var chartJs = await client.GetAsync("/api/dashboard/vendor/chart.umd.min.js");
        Assert.Equal(HttpStatusCode.OK, chartJs.StatusCode);
        Assert.True((await chartJs.Content.ReadAsByteArrayAsync()).Length > 100_000, "the Chart.js bundle is embedded whole");

        // Unchanged files cost a 304 on revalidation.
        var again = new HttpRequestMessage(HttpMethod.Get, "/api/dashboard/app.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(again)).StatusCode);

        await (await client.GetAsync("/api/dashboard/no-such-file.js")).ProblemAsync(HttpStatusCode.NotFound);
        var bare = await client.GetAsync("/api/dashboard");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/api/dashboard/", bare.Headers.Location?.OriginalString);

        await (await client.GetAsync("/api/overview")).ProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Overview_totals_the_drops_of_the_window_by_day_and_reason_and_alerts_failed_ones()
    {
        var now = DateTimeOffset.UtcNow;
        await _app.Ledger.UpsertAsync(Report("d1", now.AddHours(-1), IngestionStatus.Completed, read: 10, accepted: 8, rejected: 2, reasons: new() { ["invalid_date"] = 2 }));
        await _app.Ledger.UpsertAsync(Report("d2", now.AddDays(-1), IngestionStatus.Failed, read: 5, accepted: 0, rejected: 0));
        await _app.Ledger.UpsertAsync(Report("old", now.AddDays(-40), IngestionStatus.Completed, read: 100, accepted: 100, rejected: 0));

        var overview = (await _app.CreateClient().GetFromJsonAsync<JsonObject>("/api/overview?days=7"))!;

        var drops = overview["drops"]!;
        Assert.Equal(2, drops["drops"]!.GetValue<int>());
        Assert.Equal(1, drops["failed"]!.GetValue<int>());
        Assert.Equal(15, drops["rowsRead"]!.GetValue<long>());
        Assert.Equal(2, drops["rowsRejected"]!.GetValue<long>());
        Assert.Equal(7, overview["dropsByDay"]!.AsArray().Count);
        Assert.Equal(8, overview["dropsByDay"]!.AsArray().Sum(d => d!["rowsAccepted"]!.GetValue<long>()));
        Assert.Equal(2, overview["rejectedByReason"]!["invalid_date"]!.GetValue<long>());
        var alert = Assert.Single(overview["alerts"]!.AsArray(), a => a!["subject"]!.GetValue<string>() == "drop")!;
        Assert.Equal("d2", alert["ref"]!.GetValue<string>());
        Assert.Equal("error", alert["severity"]!.GetValue<string>());
        Assert.Equal(5, overview["models"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("days=0", "days must be between 1 and 90")]
    [InlineData("days=91", "days must be between 1 and 90")]
    [InlineData("days=week", "days")]
    public async Task Overview_rejects_a_window_it_cannot_read(string query, string expected)
    {
        var problem = await (await _app.CreateClient().GetAsync($"/api/overview?{query}")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.Detail());
    }

    [Fact]
    public async Task Rejected_rows_sample_masks_personal_data_and_keeps_the_reason()
    {
        await _app.Ledger.UpsertAsync(Report("drop1", DateTimeOffset.UtcNow, IngestionStatus.Completed, read: 3, accepted: 1, rejected: 2));
        await _app.Quarantine.BeginAsync("drop1");
        await _app.Quarantine.AppendRejectedAsync("drop1", [
            new RowRejection(2, "email", "invalid_email", "'jane.doe@@example.com' is not a valid email address.", "C1,jane.doe@@example.com,Jane,Doe,+44 7700 900123"),
            new RowRejection(5, "birth_date", "invalid_date", "'31/02/1980' is not a date.", "C2,john@example.com,John,Smith,31/02/1980"),
            new RowRejection(9, null, "malformed", "Text after the closing quote of a field.", "C3"),
        ]);

        var sample = (await _app.CreateClient().GetFromJsonAsync<JsonObject>("/api/ingestions/drop1/rejected?top=2"))!;

        Assert.Equal(2, sample["rowsRejected"]!.GetValue<long>());
        var items = sample["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.Equal([2L, 5L], items.Select(i => i!["line"]!.GetValue<long>()));
        Assert.Equal("invalid_date", items[1]!["reason"]!.GetValue<string>());
        var text = items.ToJsonString();
        foreach (var secret in new[] { "jane.doe", "Jane", "Doe", "john@", "John", "Smith", "900123" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
        Assert.Contains("j***@example.com", items[1]!["raw"]!.GetValue<string>());
        Assert.Contains("31/02/1980", items[1]!["raw"]!.GetValue<string>());
        Assert.EndsWith("***23", items[0]!["raw"]!.GetValue<string>());
    }

    [Fact]
    public async Task Rejected_rows_of_an_unknown_drop_are_404_and_top_is_limited()
    {
        var client = _app.CreateClient();
        await (await client.GetAsync("/api/ingestions/nope/rejected")).ProblemAsync(HttpStatusCode.NotFound);
        await _app.Ledger.UpsertAsync(Report("clean", DateTimeOffset.UtcNow, IngestionStatus.Completed, read: 1, accepted: 1, rejected: 0));
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("/api/ingestions/clean/rejected"))!["items"]!.AsArray());
        var problem = await (await client.GetAsync($"/api/ingestions/clean/rejected?top={Overview.MaxRejectedSample + 1}")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("top must be between 1 and 100", problem.Detail());
    }

    private static IngestionReport Report(string id, DateTimeOffset started, IngestionStatus status, long read, long accepted, long rejected,
        Dictionary<string, long>? reasons = null) => new()
    {
        Id = id,
        BlobPath = $"drops/web/orders/{id}.csv",
        ETag = "e",
        Source = "web",
        Entity = "orders",
        Status = status,
        Attempts = 1,
        RowsRead = read,
        RowsAccepted = accepted,
        RowsRejected = rejected,
        RejectedByReason = reasons ?? [],
        StartedAt = started,
    };
}
