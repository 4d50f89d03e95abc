using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace iCrm.Functions.Tests.Api;

/// <summary>GET /api/customers, /api/customers/{id} and /api/customers/by-source/{source}/{sourceId}.</summary>
public sealed class CustomerEndpointTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_profile_is_served_with_its_history_summary_and_predictions()
    {
        await _app.StoreAsync(ApiTestKit.Profile("c-1", churn: 0.8, orders: 3));

        var profile = (await _app.CreateClient().GetFromJsonAsync<JsonObject>("/api/customers/c-1"))!;

        Assert.Equal("c-1", profile["id"]!.GetValue<string>());
        Assert.Equal(3, profile["history"]!["orders"]!.GetValue<int>());
        Assert.Equal(0.8, profile["predictions"]!["churn"]!["value"]!.GetValue<double>());
        Assert.Equal("c-1", profile["identities"]!["web"]![0]!.GetValue<string>());
        Assert.Null(profile["matchKeys"]);
    }

    [Fact]
    public async Task A_merged_away_id_answers_with_the_survivor_and_names_it_in_Content_Location()
    {
        var gone = ApiTestKit.Profile("old-id");
        gone.MergedInto = "new-id";
        await _app.StoreAsync(gone, ApiTestKit.Profile("new-id"));

        var response = await _app.CreateClient().GetAsync("/api/customers/old-id");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/api/customers/new-id", response.Content.Headers.ContentLocation?.OriginalString);
        Assert.Equal("new-id", (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_customer_is_404_problem_details()
    {
        var problem = await (await _app.CreateClient().GetAsync("/api/customers/nobody")).ProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("nobody", problem.Detail());
    }

    [Theory]
    [InlineData("/api/customers/bad%20id")]
    [InlineData("/api/customers/x.y")]
    [InlineData("/api/customers/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task A_malformed_id_is_400_saying_what_an_id_looks_like(string url)
    {
        var problem = await (await _app.CreateClient().GetAsync(url)).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("1-64 letters", problem.Detail());
    }

    [Fact]
    public async Task A_profile_is_found_by_a_source_systems_own_id()
    {
        await _app.IngestAsync("web/orders/o.csv", "order_id,customer_id,order_date,amount\nA-1,42,2025-01-05,19.90\n");
        var client = _app.CreateClient();

        var profile = (await client.GetFromJsonAsync<JsonObject>("/api/customers/by-source/web/42"))!;

        Assert.Equal(_app.Customers.All().Single().Id, profile["id"]!.GetValue<string>());
        await (await client.GetAsync("/api/customers/by-source/web/43")).ProblemAsync(HttpStatusCode.NotFound);
        await (await client.GetAsync("/api/customers/by-source/we%20b/42")).ProblemAsync(HttpStatusCode.BadRequest);
        await (await client.GetAsync($"/api/customers/by-source/web/{new string('9', 129)}")).ProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Listing_pages_through_every_profile_with_continuation_tokens()
    {
        await _app.StoreAsync([.. Enumerable.Range(0, 7).Select(i => ApiTestKit.Profile($"c-{i}"))]);
        var client = _app.CreateClient();

        var seen = await ListAllAsync(client, "/api/customers?pageSize=3");

        Assert.Equal(7, seen.Count);
        Assert.Equal(7, seen.Distinct().Count());
    }

    [Fact]
    public async Task Filters_on_written_back_predictions_return_only_matching_customers_across_pages()
    {
        var profiles = Enumerable.Range(0, 450).Select(i => ApiTestKit.Profile($"c-{i:000}",
            churn: i % 10 / 10.0, clv: i % 3 * 100, segment: i % 2 == 0 ? "Champions" : "At risk")).ToList();
        profiles.Add(ApiTestKit.Profile("never-scored"));
        await _app.StoreAsync([.. profiles]);
        var client = _app.CreateClient();

        var seen = await ListAllAsync(client, "/api/customers?segment=at%20risk&minChurn=0.7&minClv=100&pageSize=7");

        var expected = profiles.Where(p => p.Predictions.Count > 0 && p.Predictions["segments"].Label == "At risk"
            && p.Predictions["churn"].Value >= 0.7 && p.Predictions["clv"].Value >= 100).Select(p => p.Id).Order().ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, seen.Order().ToList());
    }

    [Fact]
    public async Task Sorting_by_churn_puts_the_highest_risk_first_and_pages_with_a_token()
    {
        await _app.StoreAsync([.. Enumerable.Range(0, 25).Select(i => ApiTestKit.Profile($"c-{i:00}", churn: (i * 7 % 25) / 25.0))]);
        var client = _app.CreateClient();

        var first = (await client.GetFromJsonAsync<JsonObject>("/api/customers?sort=churn&pageSize=10"))!;
        var second = (await client.GetFromJsonAsync<JsonObject>($"/api/customers?sort=churn&pageSize=10&continuationToken={Uri.EscapeDataString(first["continuationToken"]!.GetValue<string>())}"))!;

        var churn = first["items"]!.AsArray().Concat(second["items"]!.AsArray()).Select(p => p!["predictions"]!["churn"]!["value"]!.GetValue<double>()).ToList();
        Assert.Equal(20, churn.Count);
        Assert.Equal(churn.OrderDescending().ToList(), churn);
        Assert.Equal(24 / 25.0, churn[0], 6);
    }

    [Theory]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=501", "pageSize")]
    [InlineData("minChurn=1.5", "minChurn")]
    [InlineData("minClv=-1", "minClv")]
    [InlineData("sort=name", "sort")]
    [InlineData("segment=x&continuationToken=not-a-token", "continuationToken")]
    [InlineData("continuationToken=made-up", "continuationToken")]
    [InlineData("sort=churn&continuationToken=s123", "continuationToken")]
    public async Task Bad_list_parameters_are_400_naming_the_parameter(string query, string parameter)
    {
        var problem = await (await _app.CreateClient().GetAsync($"/api/customers?{query}")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(parameter, problem.Detail());
    }

    [Fact]
    public async Task A_query_value_of_the_wrong_type_is_400_problem_details_not_500()
    {
        var response = await _app.CreateClient().GetAsync("/api/customers?pageSize=many");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<List<string>> ListAllAsync(HttpClient client, string url)
    {
        var ids = new List<string>();
        string? token = null;
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = (await client.GetFromJsonAsync<JsonObject>(token is null ? url : $"{url}&continuationToken={Uri.EscapeDataString(token)}"))!;
            ids.AddRange(page["items"]!.AsArray().Select(p => p!["id"]!.GetValue<string>()));
            token = page["continuationToken"]?.GetValue<string>();
            if (token is null)
            {
                return ids;
            }
        }
        throw new InvalidOperationException("The listing never ended.");
    }
}
