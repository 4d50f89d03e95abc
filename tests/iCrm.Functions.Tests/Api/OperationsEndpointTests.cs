using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using iCrm.Ml.Registry;

namespace iCrm.Functions.Tests.Api;

/// <summary>POST /api/sentiment, GET /api/segments, /api/models, /api/ingestions, /api/train and /api/health.</summary>
public sealed class OperationsEndpointTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Sentiment_scores_each_text_in_order_with_the_configured_provider()
    {
        var client = _app.With(ApiTestKit.Sentiment(new FixedSentiment(enabled: true))).CreateClient();

        var response = await client.PostAsync("/api/sentiment", ApiTestKit.Json("{\"texts\":[\"I love it\",\"broken again\"]}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        Assert.Equal(["positive", "negative"], items.Select(i => i!["label"]!.GetValue<string>()));
        Assert.Equal(0.9, items[0]!["score"]!.GetValue<double>());
    }

    [Fact]
    public async Task Sentiment_without_a_provider_is_503_naming_the_setting()
    {
        var client = _app.With(ApiTestKit.Sentiment(null)).CreateClient();
        var problem = await (await client.PostAsync("/api/sentiment", ApiTestKit.Json("{\"texts\":[\"fine\"]}"))).ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("Sentiment__Provider", problem.Detail());
    }

    [Fact]
    public async Task Sentiment_with_a_provider_that_is_not_ready_is_503_with_the_reason()
    {
        var client = _app.With(ApiTestKit.Sentiment(new FixedSentiment(enabled: false))).CreateClient();
        var problem = await (await client.PostAsync("/api/sentiment", ApiTestKit.Json("{\"texts\":[\"fine\"]}"))).ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("not ready", problem.Detail());
    }

    public static TheoryData<string, string> BadSentimentRequests() => new()
    {
        { "{\"texts\":[]}", "at least one" },
        { "{}", "at least one" },
        { "{\"texts\":[\"ok\", \"\"]}", "texts[1] must be 1-5,000 characters" },
        { "{\"texts\":[\"" + new string('a', 5001) + "\"]}", "texts[0] must be 1-5,000 characters" },
        { "{\"texts\":[" + string.Join(",", Enumerable.Repeat("\"a\"", 101)) + "]}", "at most 100 texts" },
        { "{\"texts\":[1,2]}", "not valid JSON" },
        { "{\"texts\":", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadSentimentRequests))]
    public async Task Sentiment_limits_texts_and_their_length(string body, string expected)
    {
        var client = _app.With(ApiTestKit.Sentiment(new FixedSentiment(enabled: true))).CreateClient();
        var problem = await (await client.PostAsync("/api/sentiment", ApiTestKit.Json(body))).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.Detail());
    }

    [Fact]
    public async Task Segments_are_served_from_the_summaries_stored_with_the_segments_champion()
    {
        var details = JsonNode.Parse("""
            {"rfmSummaries":[{"segment":"Champions","customers":12,"totalValue":2400,"averageValue":200,"churnRate":0.05}],
             "clusterSummaries":[{"segment":"0: frequent app users","customers":30,"totalValue":900,"averageValue":30,"churnRate":0.2}]}
            """)!.AsObject();
        await PromoteAsync(ModelKinds.Segments, "s-1", details);

        var segments = (await _app.CreateClient().GetFromJsonAsync<JsonObject>("/api/segments"))!;

        Assert.Equal("s-1", segments["version"]!.GetValue<string>());
        Assert.Equal("Champions", segments["rfmSummaries"]![0]!["segment"]!.GetValue<string>());
        Assert.Equal(0.2, segments["clusterSummaries"]![0]!["churnRate"]!.GetValue<double>());
    }

    [Fact]
    public async Task Segments_before_a_segments_model_is_trained_are_503()
    {
        var problem = await (await _app.CreateClient().GetAsync("/api/segments")).ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("No segments model", problem.Detail());
    }

    [Fact]
    public async Task Segments_of_a_champion_without_summaries_are_503()
    {
        await PromoteAsync(ModelKinds.Segments, "s-1", null);
        var problem = await (await _app.CreateClient().GetAsync("/api/segments")).ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("stores no segment summaries", problem.Detail());
    }

    [Fact]
    public async Task Models_list_every_kind_and_a_kind_shows_its_champion_card_and_versions()
    {
        var client = _app.CreateClient();
        var empty = (await client.GetFromJsonAsync<JsonObject>("/api/models"))!["items"]!.AsArray();
        Assert.Equal(ModelKinds.All, empty.Select(i => i!["kind"]!.GetValue<string>()));
        Assert.All(empty, i => Assert.Null(i!["champion"]));

        var version = await _app.TrainChurnAsync(client);
        var churn = (await client.GetFromJsonAsync<JsonObject>("/api/models/churn"))!;

        Assert.Equal(version, churn["champion"]!["version"]!.GetValue<string>());
        Assert.Equal("auc", churn["card"]!["promotionMetric"]!.GetValue<string>());
        Assert.Contains(version, churn["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
        var listed = (await client.GetFromJsonAsync<JsonObject>("/api/models"))!["items"]!.AsArray();
        Assert.Equal(version, listed.Single(i => i!["kind"]!.GetValue<string>() == "churn")!["champion"]!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_model_kind_is_404_listing_the_kinds()
    {
        var problem = await (await _app.CreateClient().GetAsync("/api/models/astrology")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("churn, clv, segments, recommendations, sentiment", problem.Detail());
    }

    [Fact]
    public async Task Ingestion_reports_are_listed_and_served_by_drop_id()
    {
        await _app.IngestAsync("web/orders/o.csv", "order_id,customer_id,order_date,amount\nA-1,42,2025-01-05,19.90\nA-2,42,2025-01-06,5\n");
        var client = _app.CreateClient();

        var list = (await client.GetFromJsonAsync<JsonObject>("/api/ingestions?pageSize=10"))!;
        var id = list["items"]![0]!["id"]!.GetValue<string>();
        var report = (await client.GetFromJsonAsync<JsonObject>($"/api/ingestions/{id}"))!;

        Assert.Equal("drops/web/orders/o.csv", report["blobPath"]!.GetValue<string>());
        Assert.Equal(2, report["rowsAccepted"]!.GetValue<long>());
        Assert.Equal("completed", report["status"]!.GetValue<string>());
        await (await client.GetAsync("/api/ingestions/0123456789abcdef")).ProblemAsync(HttpStatusCode.NotFound);
        await (await client.GetAsync("/api/ingestions/not%20an%20id")).ProblemAsync(HttpStatusCode.BadRequest);
        await (await client.GetAsync("/api/ingestions?pageSize=0")).ProblemAsync(HttpStatusCode.BadRequest);
        await (await client.GetAsync("/api/ingestions?continuationToken=made-up")).ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Training_answers_202_with_a_status_url_that_reports_the_outcome()
    {
        await _app.IngestAsync("web/orders/history.csv", ApiTestKit.OrderHistoryCsv());
        var run = await _app.CreateClient().TrainAsync("[\"churn\"]");

        Assert.Equal("succeeded", run["status"]!.GetValue<string>());
        Assert.True(run["models"]!["churn"]!["promoted"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Training_while_another_run_holds_the_lease_is_409()
    {
        await using var held = await _app.Registry.TryAcquireAsync();
        Assert.NotNull(held);
        var problem = await (await _app.CreateClient().PostAsync("/api/train", ApiTestKit.Json("{}"))).ProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("already in progress", problem.Detail());
    }

    [Theory]
    [InlineData("{\"kinds\":[\"astrology\"]}", "Unknown model kinds")]
    [InlineData("{\"asOf\":\"2999-01-01T00:00:00Z\"}", "future")]
    [InlineData("{\"asOf\":\"yesterday\"}", "not valid JSON")]
    public async Task Bad_training_requests_are_400(string body, string expected)
    {
        var problem = await (await _app.CreateClient().PostAsync("/api/train", ApiTestKit.Json(body))).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.Detail());
    }

    [Fact]
    public async Task Training_accepts_an_empty_body()
    {
        var response = await _app.CreateClient().PostAsync("/api/train", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task An_unknown_training_run_is_404_and_a_malformed_run_id_400()
    {
        var client = _app.CreateClient();
        await (await client.GetAsync("/api/train/0123456789")).ProblemAsync(HttpStatusCode.NotFound);
        await (await client.GetAsync("/api/train/x%20y")).ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Health_reports_each_dependency()
    {
        // The contract tests' Cosmos endpoint is unreachable on purpose: health says so instead of failing.
        var response = await _app.CreateClient().GetAsync("/api/health");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var health = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("unhealthy", health["status"]!.GetValue<string>());
        Assert.Equal("ok", health["checks"]!["registry"]!.GetValue<string>());
        Assert.StartsWith("unavailable", health["checks"]!["store"]!.GetValue<string>());
    }

    private async Task PromoteAsync(string kind, string version, JsonObject? details)
    {
        var card = new ModelCard { Kind = kind, Version = version, CreatedAt = DateTimeOffset.UtcNow, Details = details };
        await _app.Registry.PublishAsync(card, new MemoryStream(Encoding.UTF8.GetBytes("{}")));
        Assert.True(await _app.Registry.TryPromoteAsync(new ChampionPointer(kind, version, DateTimeOffset.UtcNow, "", 0, null), null));
    }
}
