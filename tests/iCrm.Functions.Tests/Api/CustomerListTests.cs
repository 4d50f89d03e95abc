using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;

namespace iCrm.Functions.Tests.Api;

/// <summary>GET /api/customers: the filters, sorts and consent rules of the indexed lists, through HTTP.</summary>
public sealed class CustomerListTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private static CustomerProfile Customer(string id, double? churn = null, double? clv = null, string? segment = null, int? cluster = null,
        bool? email = null, bool? sms = null, bool? profiling = null, string source = "web")
    {
        var profile = ApiTestKit.Profile(id, churn, clv, segment);
        profile.Identities = [new SourceIdentity(source, id)];
        profile.Consent = new Consent { Email = email, Sms = sms, Profiling = profiling };
        if (cluster is { } k)
        {
            profile.Predictions["segments"] = new Prediction("v1", ApiTestKit.Now, k, segment ?? "Loyal", []);
        }
        return profile;
    }

    [Fact]
    public async Task Consent_filter_keeps_only_customers_who_said_yes_on_that_channel()
    {
        await _app.StoreAsync(Customer("yes", email: true), Customer("no", email: false), Customer("unknown"), Customer("sms-only", sms: true));

        var ids = await ListAllAsync("/api/customers?consent=email&pageSize=1");

        Assert.Equal(["yes"], ids);
    }

    [Fact]
    public async Task Source_filter_keeps_customers_with_an_identity_from_that_source()
    {
        var both = Customer("both", source: "pos");
        both.Identities.Add(new SourceIdentity("web", "w-1"));
        await _app.StoreAsync(Customer("web-only"), Customer("pos-only", source: "pos"), both);

        var ids = await ListAllAsync("/api/customers?source=POS&pageSize=1");

        Assert.Equal(["both", "pos-only"], ids.Order());
    }

    [Fact]
    public async Task Churn_range_and_clv_floor_combine()
    {
        await _app.StoreAsync([.. Enumerable.Range(0, 20).Select(i => Customer($"c-{i:00}", churn: i / 20.0, clv: i * 10))]);

        var ids = await ListAllAsync("/api/customers?minChurn=0.2&maxChurn=0.6&minClv=50&pageSize=2");

        Assert.Equal(Enumerable.Range(5, 8).Select(i => $"c-{i:00}"), ids.Order());
    }

    [Theory]
    [InlineData("2")]
    [InlineData("2: frequent app buyers")]
    public async Task A_segment_given_as_a_cluster_number_lists_that_behavioural_cluster(string segment)
    {
        await _app.StoreAsync(Customer("k1", cluster: 1), Customer("k2a", cluster: 2), Customer("k2b", cluster: 2, segment: "Champions"));

        var ids = await ListAllAsync($"/api/customers?segment={Uri.EscapeDataString(segment)}");

        Assert.Equal(["k2a", "k2b"], ids.Order());
    }

    [Fact]
    public async Task Sorting_by_clv_lists_only_scored_customers_highest_first_across_pages()
    {
        await _app.StoreAsync([.. Enumerable.Range(0, 9).Select(i => Customer($"c-{i}", clv: i * 7 % 9 * 100)), Customer("unscored")]);

        var pages = await PagesAsync("/api/customers?sort=clv&pageSize=4");

        var clv = pages.SelectMany(p => p["items"]!.AsArray()).Select(p => p!["predictions"]!["clv"]!["value"]!.GetValue<double>()).ToList();
        Assert.Equal(9, clv.Count);
        Assert.Equal(clv.OrderDescending(), clv);
        Assert.Equal(3, pages.Count);
    }

    [Fact]
    public async Task A_marketing_list_leaves_out_customers_without_consent_for_its_channel_and_says_how_many()
    {
        await _app.StoreAsync([
            .. Enumerable.Range(0, 5).Select(i => Customer($"ok-{i}", sms: true)),
            Customer("refused", sms: false), Customer("silent"), Customer("email-only", email: true)]);

        var pages = await PagesAsync("/api/customers?purpose=marketing&channel=sms&pageSize=2");

        var ids = pages.SelectMany(p => p["items"]!.AsArray()).Select(p => p!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"ok-{i}"), ids.Order());
        Assert.Equal(3, pages[0]["excludedWithoutConsent"]!.GetValue<long>());
        // Later pages do not count again (their cost stays that of the page).
        Assert.Null(pages[1]["excludedWithoutConsent"]);
    }

    [Fact]
    public async Task Customers_who_withdrew_profiling_consent_never_appear_in_score_lists_but_are_counted()
    {
        await _app.StoreAsync(Customer("high", churn: 0.9), Customer("withdrawn", churn: 0.99, profiling: false),
            Customer("agreed", churn: 0.5, profiling: true));

        var page = (await _app.CreateClient().GetFromJsonAsync<JsonObject>("/api/customers?sort=churn"))!;
        var plain = await ListAllAsync("/api/customers");

        Assert.Equal(["high", "agreed"], page["items"]!.AsArray().Select(p => p!["id"]!.GetValue<string>()));
        Assert.Equal(1, page["excludedWithoutProfilingConsent"]!.GetValue<long>());
        // A plain list (no model output involved) still shows them.
        Assert.Contains("withdrawn", plain);
    }

    [Fact]
    public async Task A_token_only_continues_the_list_it_came_from()
    {
        await _app.StoreAsync([.. Enumerable.Range(0, 6).Select(i => Customer($"c-{i}", churn: i / 10.0, email: true))]);
        var client = _app.CreateClient();
        var first = (await client.GetFromJsonAsync<JsonObject>("/api/customers?sort=churn&pageSize=2"))!;
        var token = Uri.EscapeDataString(first["continuationToken"]!.GetValue<string>());

        var problem = await (await client.GetAsync($"/api/customers?sort=clv&pageSize=2&continuationToken={token}")).ProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("continuationToken", problem.Detail());
    }

    [Theory]
    [InlineData("maxChurn=1.2", "maxChurn")]
    [InlineData("minChurn=0.8&maxChurn=0.2", "maxChurn")]
    [InlineData("consent=fax", "consent")]
    [InlineData("source=no%20spaces", "source")]
    [InlineData("channel=email", "channel")]
    [InlineData("purpose=marketing", "channel")]
    [InlineData("purpose=sales&channel=email", "purpose")]
    [InlineData("purpose=marketing&channel=pigeon", "channel")]
    [InlineData("purpose=marketing&channel=email&consent=sms", "consent")]
    [InlineData("maxChurn=high", "maxChurn")]
    public async Task Bad_filter_parameters_are_400_naming_the_parameter(string query, string parameter)
    {
        var problem = await (await _app.CreateClient().GetAsync($"/api/customers?{query}")).ProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains(parameter, problem.Detail());
    }

    private async Task<List<string>> ListAllAsync(string url) =>
        [.. (await PagesAsync(url)).SelectMany(p => p["items"]!.AsArray()).Select(p => p!["id"]!.GetValue<string>())];

    private async Task<List<JsonObject>> PagesAsync(string url)
    {
        var client = _app.CreateClient();
        var pages = new List<JsonObject>();
        string? token = null;
        while (pages.Count < 100)
        {
            var page = (await client.GetFromJsonAsync<JsonObject>(token is null ? url : $"{url}&continuationToken={Uri.EscapeDataString(token)}"))!;
            pages.Add(page);
            token = page["continuationToken"]?.GetValue<string>();
            if (token is null)
            {
                return pages;
            }
        }
        throw new InvalidOperationException("The listing never ended.");
    }
}
