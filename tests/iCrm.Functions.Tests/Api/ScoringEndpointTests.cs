using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace iCrm.Functions.Tests.Api;

/// <summary>GET /api/customers/{id}/scores and /recommendations, POST /api/scores:batch and POST /api/score.</summary>
public sealed class ScoringEndpointTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private static string WhatIf(int orders = 3, string? extra = null)
    {
        var lines = string.Join(",", Enumerable.Range(0, orders).Select(i =>
            $"{{\"orderId\":\"W{i}\",\"line\":1,\"date\":\"{DateTimeOffset.UtcNow.AddDays(-200 + i * 30):O}\",\"productId\":\"P1\",\"quantity\":1,\"amount\":25.5,\"channel\":\"web\",\"returned\":false}}"));
        return $"{{\"orders\":[{lines}],\"attributes\":{{\"tier\":\"gold\"}}{extra}}}";
    }

    [Fact]
    public async Task Scores_come_live_from_the_trained_churn_champion_with_top_factors()
    {
        var client = _app.CreateClient();
        var version = await _app.TrainChurnAsync(client);
        var id = _app.Customers.All().First().Id;

        var scores = (await client.GetFromJsonAsync<JsonObject>($"/api/customers/{id}/scores"))!;

        Assert.Equal(id, scores["customerId"]!.GetValue<string>());
        Assert.Equal(version, scores["modelVersions"]!["churn"]!.GetValue<string>());
        var probability = scores["churn"]!["probability"]!.GetValue<double>();
        Assert.InRange(probability, 0, 1);
        Assert.NotEmpty(scores["churn"]!["topFactors"]!.AsArray());
    }

    [Fact]
    public async Task Scores_before_any_model_is_trained_are_503_with_the_reason()
    {
        await _app.StoreAsync(ApiTestKit.Profile("c-1"));
        var problem = await (await _app.CreateClient().GetAsync("/api/customers/c-1/scores")).ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("No churn model has been trained yet", problem.Detail());
    }

    [Fact]
    public async Task Scores_of_an_unknown_or_malformed_id_are_404_and_400()
    {
        var client = _app.CreateClient();
        await (await client.GetAsync("/api/customers/nobody/scores")).ProblemAsync(HttpStatusCode.NotFound);
        await (await client.GetAsync("/api/customers/no%20body/scores")).ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Recommendations_ask_the_scorer_for_top_items_and_answer_with_score_and_reason()
    {
        await _app.StoreAsync(ApiTestKit.Profile("c-1"));
        var scoring = new FullScoring();
        var client = _app.With(ApiTestKit.Scoring(scoring)).CreateClient();

        var list = (await client.GetFromJsonAsync<JsonObject>("/api/customers/c-1/recommendations?top=5"))!;

        Assert.Equal(5, scoring.LastRequest!.Top);
        Assert.True(scoring.LastRequest.Recommendations);
        Assert.Equal("r1", list["modelVersion"]!.GetValue<string>());
        var items = list["items"]!.AsArray();
        Assert.Equal(5, items.Count);
        Assert.Equal("bought with P0", items[0]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Recommendations_default_to_ten_items()
    {
        await _app.StoreAsync(ApiTestKit.Profile("c-1"));
        var client = _app.With(ApiTestKit.Scoring(new FullScoring())).CreateClient();
        var list = (await client.GetFromJsonAsync<JsonObject>("/api/customers/c-1/recommendations"))!;
        Assert.Equal(10, list["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Recommendations_without_a_recommendations_champion_are_503_even_when_churn_is_trained()
    {
        var client = _app.CreateClient();
        await _app.TrainChurnAsync(client);
        var id = _app.Customers.All().First().Id;

        var problem = await (await client.GetAsync($"/api/customers/{id}/recommendations")).ProblemAsync(HttpStatusCode.ServiceUnavailable);

        Assert.Contains("recommendations", problem.Detail());
    }

    [Theory]
    [InlineData("top=0")]
    [InlineData("top=101")]
    public async Task Recommendations_top_outside_1_to_100_is_400(string query)
    {
        await _app.StoreAsync(ApiTestKit.Profile("c-1"));
        var problem = await (await _app.CreateClient().GetAsync($"/api/customers/c-1/recommendations?{query}")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("top must be between 1 and 100", problem.Detail());
    }

    [Fact]
    public async Task Recommendations_for_an_unknown_customer_are_404()
    {
        var client = _app.With(ApiTestKit.Scoring(new FullScoring())).CreateClient();
        await (await client.GetAsync("/api/customers/nobody/recommendations")).ProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_batch_answers_every_id_in_order_with_its_scores_or_its_own_error()
    {
        var client = _app.CreateClient();
        await _app.TrainChurnAsync(client);
        var known = _app.Customers.All().Take(2).Select(p => p.Id).ToList();

        var response = await client.PostAsync("/api/scores:batch", ApiTestKit.Json($"{{\"ids\":[\"{known[0]}\",\"nobody\",\"bad id\",\"{known[1]}\"]}}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var items = body["items"]!.AsArray();
        Assert.Equal([known[0], "nobody", "bad id", known[1]], items.Select(i => i!["id"]!.GetValue<string>()));
        Assert.Equal([200, 404, 400, 200], items.Select(i => i!["status"]!.GetValue<int>()));
        Assert.InRange(items[0]!["scores"]!["churn"]!["probability"]!.GetValue<double>(), 0, 1);
        Assert.Equal(2, body["succeeded"]!.GetValue<int>());
        Assert.Equal(2, body["failed"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_batch_of_more_than_1000_ids_is_400()
    {
        var ids = string.Join(",", Enumerable.Range(0, 1001).Select(i => $"\"c{i}\""));
        var problem = await (await _app.CreateClient().PostAsync("/api/scores:batch", ApiTestKit.Json($"{{\"ids\":[{ids}]}}"))).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("at most 1,000", problem.Detail());
    }

    [Theory]
    [InlineData("{\"ids\":[]}", "at least one")]
    [InlineData("{\"ids\":[\"a\"", "not valid JSON")]
    [InlineData("{\"ids\":\"a\"}", "not valid JSON")]
    [InlineData("", "empty")]
    public async Task A_malformed_batch_is_400_saying_what_is_wrong(string body, string expected)
    {
        var problem = await (await _app.CreateClient().PostAsync("/api/scores:batch", ApiTestKit.Json(body))).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.Detail());
    }

    [Fact]
    public async Task A_batch_before_any_model_is_trained_is_503()
    {
        await _app.StoreAsync(ApiTestKit.Profile("c-1"));
        var problem = await (await _app.CreateClient().PostAsync("/api/scores:batch", ApiTestKit.Json("{\"ids\":[\"c-1\"]}"))).ProblemAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("No churn model", problem.Detail());
    }

    [Fact]
    public async Task What_if_scoring_scores_a_supplied_history_without_storing_anything()
    {
        var client = _app.CreateClient();
        await _app.TrainChurnAsync(client);
        var before = _app.Customers.Writes;

        var recent = await client.PostAsync("/api/score", ApiTestKit.Json(WhatIf(orders: 3)));
        var lapsed = await client.PostAsync("/api/score", ApiTestKit.Json(WhatIf(orders: 3, extra: $",\"asOf\":\"{DateTimeOffset.UtcNow.AddDays(0):O}\"").Replace("-200", "-900")));

        Assert.Equal(HttpStatusCode.OK, recent.StatusCode);
        var scores = (await recent.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("what-if", scores["customerId"]!.GetValue<string>());
        Assert.InRange(scores["churn"]!["probability"]!.GetValue<double>(), 0, 1);
        Assert.Equal(HttpStatusCode.OK, lapsed.StatusCode);
        Assert.Equal(before, _app.Customers.Writes);
    }

    [Fact]
    public async Task What_if_scoring_reports_every_invalid_field_with_the_rule()
    {
        var body = $$"""
            {"orders":[{"orderId":"","line":1,"date":"{{DateTimeOffset.UtcNow.AddDays(30):O}}","quantity":-1,"amount":99999999,"channel":"web","returned":false}],
             "feedback":[{"timestamp":"{{DateTimeOffset.UtcNow.AddDays(-3):O}}","channel":"email","text":"ok","rating":9}],
             "orderMonths":[{"month":"2024-13","orders":1,"spend":1,"returns":0}]}
            """;
        var problem = await (await _app.CreateClient().PostAsync("/api/score", ApiTestKit.Json(body))).ProblemAsync(HttpStatusCode.BadRequest);

        var errors = problem["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Contains("orders[0].orderId is required.", errors);
        Assert.Contains(errors, e => e.StartsWith("orders[0].date must be between", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("orders[0].amount", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("orders[0].quantity", StringComparison.Ordinal));
        Assert.Contains("feedback[0].rating must be between 1 and 5.", errors);
        Assert.Contains(errors, e => e.StartsWith("orderMonths[0].month", StringComparison.Ordinal));
    }

    [Fact]
    public async Task What_if_scoring_limits_the_size_of_the_history()
    {
        var problem = await (await _app.CreateClient().PostAsync("/api/score", ApiTestKit.Json(WhatIf(orders: 1001)))).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("orders may hold at most 1000 items", problem.Detail());
    }

    [Theory]
    [InlineData("{\"orders\": [", "not valid JSON")]
    [InlineData("{\"orders\": [{\"amount\": \"lots\"}]}", "not valid JSON")]
    [InlineData("{\"feedback\": [{\"rating\": 3}]}", "not valid JSON")]
    [InlineData("[]", "not valid JSON")]
    [InlineData("null", "JSON null")]
    public async Task Malformed_what_if_documents_are_400_not_500(string body, string expected)
    {
        var problem = await (await _app.CreateClient().PostAsync("/api/score", ApiTestKit.Json(body))).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.Detail());
    }

    [Fact]
    public async Task A_body_over_one_megabyte_is_413_whether_or_not_its_length_is_declared()
    {
        var big = "{\"attributes\":{\"note\":\"" + new string('x', 1024 * 1024) + "\"}}";
        var client = _app.CreateClient();

        var declared = await client.PostAsync("/api/score", ApiTestKit.Json(big));
        var chunked = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new("application/json");
        var streamed = await client.PostAsync("/api/score", chunked);

        Assert.Contains("1,048,576 bytes", (await declared.ProblemAsync(HttpStatusCode.RequestEntityTooLarge)).Detail());
        await streamed.ProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415()
    {
        await (await _app.CreateClient().PostAsync("/api/score", new StringContent("orders=1", Encoding.UTF8, "text/plain"))).ProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task What_if_scoring_before_any_model_is_trained_is_503()
    {
        await (await _app.CreateClient().PostAsync("/api/score", ApiTestKit.Json(WhatIf()))).ProblemAsync(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task What_if_scoring_can_add_recommendations()
    {
        var scoring = new FullScoring();
        var client = _app.With(ApiTestKit.Scoring(scoring)).CreateClient();

        var scores = (await (await client.PostAsync("/api/score?recommendations=true&top=3", ApiTestKit.Json(WhatIf()))).Content.ReadFromJsonAsync<JsonObject>())!;

        Assert.Equal(3, scores["recommendations"]!.AsArray().Count);
        Assert.Equal(120, scores["lifetimeValue"]!["value12Months"]!.GetValue<double>());
    }

    /// <summary>A body of unknown length: the client sends it chunked, without Content-Length.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
