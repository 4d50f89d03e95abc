using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Functions.Api;
using iCrm.Ml.Registry;
using iCrm.Ml.Scoring;
using iCrm.Ml.Segments;

namespace iCrm.Functions.Tests.Api;

/// <summary>The dashboard's assets (GET /api/dashboard/…) and the endpoints it adds: GET /api/overview,
/// GET /api/ingestions/{id}/rejected, the RFM grid of GET /api/segments with its cell filter on GET /api/customers, and the
/// customer timeline of GET /api/customers/{id}.</summary>
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

    private static Dictionary<string, Prediction> Scored(int r, int f, double churn, double clv) => new()
    {
        [ModelKinds.Segments] = new Prediction("s-1", ApiTestKit.Now, -1, RfmModel.SegmentFor(r, f), []) { Recency = r, Frequency = f },
        [ModelKinds.Churn] = new Prediction("c-1", ApiTestKit.Now, churn, null, []),
        [ModelKinds.Clv] = new Prediction("v-1", ApiTestKit.Now, clv, null, []),
    };

    private async Task PromoteSegmentsAsync()
    {
        var details = JsonNode.Parse("""{"rfmSummaries":[{"segment":"Champions","customers":3,"totalValue":600,"averageValue":200,"churnRate":0.1}],"clusterSummaries":[]}""")!.AsObject();
        await _app.Registry.PublishAsync(new ModelCard { Kind = ModelKinds.Segments, Version = "s-1", CreatedAt = DateTimeOffset.UtcNow, Details = details },
            new MemoryStream("{}"u8.ToArray()));
        Assert.True(await _app.Registry.TryPromoteAsync(new ChampionPointer(ModelKinds.Segments, "s-1", DateTimeOffset.UtcNow, "", 0, null), null));
    }

    [Fact]
    public async Task Segments_serve_the_rfm_grid_of_the_latest_write_back_and_a_description_of_every_segment()
    {
        await PromoteSegmentsAsync();
        var client = _app.CreateClient();

        var before = (await client.GetFromJsonAsync<JsonObject>("/api/segments"))!;
        Assert.Null(before["rfmGrid"]);
        var descriptions = before["descriptions"]!.AsObject();
        Assert.All(RfmModel.SegmentNames, name => Assert.False(string.IsNullOrWhiteSpace(descriptions[name]?.GetValue<string>()), name));
        Assert.True(descriptions.ContainsKey(SegmentsKind.ProspectSegment));

        // Two slices of one write-back, reduced as the last slice does.
        var slice0 = new ScoringTally();
        slice0.Add(Scored(5, 1, churn: 0.2, clv: 100));
        slice0.Add(Scored(5, 1, churn: 0.4, clv: 300));
        slice0.Add(Scored(1, 5, churn: 0.9, clv: 50));
        var slice1 = new ScoringTally();
        slice1.Add(Scored(5, 1, churn: 0.6, clv: 200));
        slice1.Add(new Dictionary<string, Prediction> { [ModelKinds.Segments] = new Prediction("s-1", ApiTestKit.Now, -1, SegmentsKind.ProspectSegment, []) });
        var totals = new ScoringTally();
        totals.Add(slice0);
        totals.Add(slice1);
        await _app.Scoring.PublishLatestAsync(new ScoringSummary("run1", 2, DateTimeOffset.UtcNow, totals, ApiTestKit.Now));

        var grid = (await client.GetFromJsonAsync<JsonObject>("/api/segments"))!["rfmGrid"]!;

        Assert.Equal("run1", grid["runId"]!.GetValue<string>());
        Assert.Equal(4, grid["customers"]!.GetValue<long>()); // the prospect is in no cell
        var cells = grid["cells"]!.AsArray();
        Assert.Equal([(5, 1), (1, 5)], cells.Select(c => (c!["recency"]!.GetValue<int>(), c["frequency"]!.GetValue<int>())));
        var newest = cells[0]!;
        Assert.Equal(3, newest["customers"]!.GetValue<long>());
        Assert.Equal(200, newest["averageValue"]!.GetValue<double>());
        Assert.Equal(0.4, newest["churnRate"]!.GetValue<double>(), 6);
        // R 5 with F 1: FM is 1 or 2 depending on the monetary score, so New or Potential loyalist.
        Assert.Equal(["New", "Potential loyalist"], newest["segments"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(0.9, cells[1]!["churnRate"]!.GetValue<double>(), 6);
    }

    [Fact]
    public async Task A_grid_cell_lists_exactly_its_customers_and_scores_outside_1_to_5_are_400()
    {
        var profiles = new List<CustomerProfile>();
        for (var i = 0; i < 12; i++)
        {
            var p = ApiTestKit.Profile($"c-{i:00}");
            p.Predictions = Scored(5 - i % 3, 1 + i % 4, churn: i / 12.0, clv: i * 10);
            profiles.Add(p);
        }
        var prospect = ApiTestKit.Profile("c-prospect");
        prospect.Predictions[ModelKinds.Segments] = new Prediction("s-1", ApiTestKit.Now, -1, SegmentsKind.ProspectSegment, []);
        profiles.Add(prospect);
        await _app.StoreAsync([.. profiles]);
        var client = _app.CreateClient();
        async Task<List<string>> Ids(string query) =>
            [.. (await client.GetFromJsonAsync<JsonObject>($"/api/customers?{query}"))!["items"]!.AsArray().Select(c => c!["id"]!.GetValue<string>())];

        // i % 3 == 0 and i % 4 == 1: i = 9 only; the whole R 5 row: i = 0, 3, 6, 9.
        Assert.Equal(["c-09"], await Ids("recency=5&frequency=2"));
        Assert.Equal(["c-00", "c-03", "c-06", "c-09"], (await Ids("recency=5")).Order());
        Assert.Equal(["c-09", "c-06", "c-03", "c-00"], await Ids("recency=5&sort=churn"));
        Assert.Equal(["c-01", "c-05", "c-09"], (await Ids("frequency=2")).Order());
        Assert.Empty(await Ids("recency=1"));

        foreach (var (query, expected) in new[]
        {
            ("recency=0", "recency is an RFM score between 1 and 5"),
            ("recency=6", "recency is an RFM score between 1 and 5"),
            ("frequency=9", "frequency is an RFM score between 1 and 5"),
            ("frequency=two", "'frequency' must be an integer"),
            ("recency=4.5", "'recency' must be an integer"),
        })
        {
            var problem = await (await client.GetAsync($"/api/customers?{query}")).ProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains(expected, problem.Detail());
        }
    }

    [Fact]
    public async Task A_customer_has_one_timeline_of_orders_events_and_feedback_with_sentiment_newest_first_and_bounded()
    {
        var p = ApiTestKit.Profile("c-time", orders: 0);
        var day = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
        p.Orders.Add(new OrderLine("O-1", 1, day, "P1", 1, 20m, "web", false));
        p.Orders.Add(new OrderLine("O-1", 2, day, "P2", 1, 5m, "web", true));
        p.RecentEvents.Add(new CustomerEvent(day.AddDays(1), "page_view", "P1", null, "app"));
        p.Feedback.Add(new FeedbackItem { Timestamp = day.AddDays(2), Rating = 1, Channel = "email", Text = "arrived broken", Sentiment = 0.12 });
        p.Feedback.Add(new FeedbackItem { Timestamp = day.AddDays(3), Rating = 5, Channel = "web", Text = "great", Sentiment = null });
        for (var i = 0; i < 60; i++)
        {
            p.RecentEvents.Add(new CustomerEvent(day.AddDays(-10 - i), "email_open", null, null, "email"));
        }
        await _app.StoreAsync(p);
        var client = _app.CreateClient();

        var timeline = (await client.GetFromJsonAsync<JsonObject>("/api/customers/c-time"))!["timeline"]!.AsArray();

        Assert.Equal(TimelineItem.MaxItems, timeline.Count);
        var dates = timeline.Select(t => t!["at"]!.GetValue<DateTimeOffset>()).ToList();
        Assert.Equal(dates.OrderDescending(), dates);
        Assert.Equal(["feedback", "feedback", "event", "order"], timeline.Take(4).Select(t => t!["kind"]!.GetValue<string>()));
        Assert.Null(timeline[0]!["sentimentLabel"]); // not scored yet
        var negative = timeline[1]!;
        Assert.Equal("Negative", negative["sentimentLabel"]!.GetValue<string>());
        Assert.Equal(0.12, negative["sentiment"]!.GetValue<double>(), 6);
        Assert.Equal(1, negative["rating"]!.GetValue<int>());
        var order = timeline[3]!;
        Assert.Equal("O-1", order["title"]!.GetValue<string>());
        Assert.Equal(20m, order["amount"]!.GetValue<decimal>()); // the returned line left out
        Assert.Equal("2 lines, 1 returned", order["detail"]!.GetValue<string>());

        // Lists stay small: no timeline per row.
        var list = (await client.GetFromJsonAsync<JsonObject>("/api/customers"))!["items"]!.AsArray();
        Assert.All(list, c => Assert.Null(c!["timeline"]));
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
