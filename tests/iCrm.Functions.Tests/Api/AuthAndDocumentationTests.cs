using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Functions.Api;

namespace iCrm.Functions.Tests.Api;

/// <summary>Local API and admin keys, and the OpenAPI document with its reference page.</summary>
public sealed class AuthAndDocumentationTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    /// <summary>Every API endpoint with a request that reaches it (the answer itself does not matter here).</summary>
    public static TheoryData<string, string> SecuredEndpoints() => new()
    {
        { "GET", "/api/customers" },
        { "GET", "/api/customers/c-1" },
        { "GET", "/api/customers/by-source/web/1" },
        { "GET", "/api/customers/c-1/scores" },
        { "GET", "/api/customers/c-1/recommendations" },
        { "POST", "/api/scores:batch" },
        { "POST", "/api/score" },
        { "POST", "/api/sentiment" },
        { "GET", "/api/segments" },
        { "GET", "/api/models" },
        { "GET", "/api/models/churn" },
        { "GET", "/api/ingestions" },
        { "GET", "/api/merges?status=review" },
        { "GET", "/api/ingestions/abc" },
        { "GET", "/api/ingestions/abc/rejected" },
        { "GET", "/api/overview" },
        { "GET", "/api/train/abc" },
        { "POST", "/api/train" },
        { "POST", "/api/customers/c-1:erase" },
        { "GET", "/api/customers/c-1/export" },
        { "POST", "/api/customers/c-1/consent" },
        { "GET", "/api/audit" },
        { "GET", "/api/customers/c-1/audit" },
    };

    [Theory]
    [MemberData(nameof(SecuredEndpoints))]
    public async Task With_an_API_key_set_every_endpoint_but_health_needs_it(string method, string url)
    {
        _app.Settings["Security:ApiKey"] = "local-api-key";
        var client = _app.CreateClient();

        var missing = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = method == "POST" ? ApiTestKit.Json("{}") : null });
        var wrong = new HttpRequestMessage(new HttpMethod(method), url) { Content = method == "POST" ? ApiTestKit.Json("{}") : null };
        wrong.Headers.Add(ApiKeys.ApiKeyHeader, "local-api-kez");
        var right = new HttpRequestMessage(new HttpMethod(method), url) { Content = method == "POST" ? ApiTestKit.Json("{}") : null };
        right.Headers.Add(ApiKeys.ApiKeyHeader, "local-api-key");

        Assert.Contains(ApiKeys.ApiKeyHeader, (await missing.ProblemAsync(HttpStatusCode.Unauthorized)).Detail());
        await (await client.SendAsync(wrong)).ProblemAsync(HttpStatusCode.Unauthorized);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await client.SendAsync(right)).StatusCode);
    }

    [Fact]
    public async Task Without_an_API_key_set_the_API_is_open_as_in_a_default_local_run()
    {
        var response = await _app.CreateClient().GetAsync("/api/models");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Health_and_the_documentation_are_anonymous()
    {
        _app.Settings["Security:ApiKey"] = "local-api-key";
        var client = _app.CreateClient();

        Assert.NotEqual(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/openapi.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/reference")).StatusCode);
    }

    [Fact]
    public async Task Training_needs_the_admin_key_when_one_is_set()
    {
        _app.Settings["Security:ApiKey"] = "local-api-key";
        _app.Settings["Security:AdminKey"] = "local-admin-key";
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Add(ApiKeys.ApiKeyHeader, "local-api-key");

        var withoutAdmin = await client.PostAsync("/api/train", ApiTestKit.Json("{}"));
        var wrongAdmin = new HttpRequestMessage(HttpMethod.Post, "/api/train") { Content = ApiTestKit.Json("{}") };
        wrongAdmin.Headers.Add(ApiKeys.AdminKeyHeader, "local-api-key");
        var withAdmin = new HttpRequestMessage(HttpMethod.Post, "/api/train") { Content = ApiTestKit.Json("{}") };
        withAdmin.Headers.Add(ApiKeys.AdminKeyHeader, "local-admin-key");

        Assert.Contains("'admin'", (await withoutAdmin.ProblemAsync(HttpStatusCode.Forbidden)).Detail());
        await (await client.SendAsync(wrongAdmin)).ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(withAdmin)).StatusCode);
        // Reading is not an admin operation.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/models")).StatusCode);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_every_endpoint_with_summaries_and_problem_responses()
    {
        var document = (await _app.CreateClient().GetFromJsonAsync<JsonObject>("/api/openapi.json"))!;
        var paths = document["paths"]!.AsObject();

        string[] expected =
        [
            "/api/customers", "/api/customers/{id}", "/api/customers/by-source/{source}/{sourceId}", "/api/customers/{id}/scores",
            "/api/customers/{id}/recommendations", "/api/scores:batch", "/api/score", "/api/sentiment", "/api/segments", "/api/models",
            "/api/models/{kind}", "/api/ingestions", "/api/ingestions/{id}", "/api/train", "/api/train/{runId}", "/api/health", "/api/merges",
            "/api/customers/{id}:erase", "/api/customers/{id}/export", "/api/customers/{id}/consent",
            "/api/audit", "/api/customers/{id}/audit",
            "/api/overview", "/api/ingestions/{id}/rejected",
        ];
        Assert.Equal(expected.Order(), paths.Select(p => p.Key).Order());
        foreach (var (path, item) in paths)
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                Assert.False(string.IsNullOrWhiteSpace(operation!["summary"]?.GetValue<string>()), $"{method} {path} has no summary");
                Assert.NotNull(operation["operationId"]);
                var responses = operation["responses"]!.AsObject();
                Assert.Contains(responses, r => r.Key.StartsWith('2'));
                foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5' && path != "/api/health"))
                {
                    Assert.True(response!["content"]?["application/problem+json"] is not null, $"{method} {path} {status} is not ProblemDetails");
                }
            }
        }
        var score = paths["/api/score"]!["post"]!;
        Assert.NotNull(score["requestBody"]!["content"]!["application/json"]!["schema"]);
        Assert.Contains(score["responses"]!.AsObject(), r => r.Key == "413");
        Assert.Contains(paths["/api/customers/{id}/scores"]!["get"]!["responses"]!.AsObject(), r => r.Key == "503");
        var schemas = document["components"]!["schemas"]!.AsObject();
        Assert.Contains("WhatIfProfile", schemas.Select(s => s.Key));
        Assert.NotNull(schemas["WhatIfProfile"]!["properties"]!["orders"]);
        Assert.Contains("CustomerScores", schemas.Select(s => s.Key));
        // A role key in either header or ?code=, or (in Azure) an Entra ID sign-in: any one of them; health needs none.
        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal(("header", "x-api-key"), (schemes["apiKey"]!["in"]!.GetValue<string>(), schemes["apiKey"]!["name"]!.GetValue<string>()));
        Assert.Equal(("header", "x-functions-key"), (schemes["functionsKeyHeader"]!["in"]!.GetValue<string>(), schemes["functionsKeyHeader"]!["name"]!.GetValue<string>()));
        Assert.Equal(("query", "code"), (schemes["codeQuery"]!["in"]!.GetValue<string>(), schemes["codeQuery"]!["name"]!.GetValue<string>()));
        Assert.Equal("bearer", schemes["entraId"]!["scheme"]!.GetValue<string>());
        Assert.Contains("App Service authentication", schemes["entraId"]!["description"]!.GetValue<string>());
        Assert.Equal(["apiKey", "functionsKeyHeader", "codeQuery", "entraId"],
            paths["/api/customers"]!["get"]!["security"]!.AsArray().Select(r => Assert.Single(r!.AsObject()).Key));
        Assert.Empty(Assert.Single(paths["/api/health"]!["get"]!["security"]!.AsArray())!.AsObject());
        // Each secured operation states the roles it needs, in an extension and in its description.
        var audit = paths["/api/audit"]!["get"]!;
        Assert.Equal(["privacy"], audit["x-icrm-roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Contains("Roles: privacy.", audit["description"]!.GetValue<string>());
        Assert.Equal(["reader", "marketer", "privacy"], paths["/api/customers/{id}"]!["get"]!["x-icrm-roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Null(paths["/api/health"]!["get"]!["x-icrm-roles"]);
    }

    [Fact]
    public async Task The_reference_page_loads_its_script_from_the_app_not_a_CDN()
    {
        var client = _app.CreateClient();

        var page = await client.GetStringAsync("/api/reference");
        var script = await client.GetAsync("/api/reference/scalar.js");

        Assert.Contains("\"url\":\"api/openapi.json\"", page);
        Assert.Contains("<script src=\"scalar.js\">", page);
        Assert.DoesNotContain("cdn.jsdelivr.net", page);
        Assert.DoesNotContain("fonts.scalar.com", page);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.True((await script.Content.ReadAsByteArrayAsync()).Length > 100_000);
    }
}
