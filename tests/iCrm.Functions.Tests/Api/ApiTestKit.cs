using System.Net;
using Azure.Storage.Blobs;
using iCrm.Core.Ingestion;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Ml.Scoring;
using iCrm.Ml.Sentiment;
using Microsoft.AspNetCore.TestHost;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace iCrm.Functions.Tests.Api;

/// <summary>What the API tests share: profiles to store, a churn model trained the way production trains it (a drop through
/// Ingest, then POST /api/train), ProblemDetails reading, and stand-ins for scoring kinds not trained in these tests.</summary>
internal static class ApiTestKit
{
    public static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public static CustomerProfile Profile(string id, double? churn = null, double? clv = null, string? segment = null, int orders = 2)
    {
        var profile = new CustomerProfile
        {
            Id = id,
            Identities = [new SourceIdentity("web", id)],
            Contact = new ContactDetails { Email = $"{id}@example.test", FirstName = "Ada" },
            CreatedAt = Now.AddDays(-400),
            UpdatedAt = Now,
        };
        for (var i = 0; i < orders; i++)
        {
            profile.Orders.Add(new OrderLine($"{id}-O{i}", 1, Now.AddDays(-300 + i * 40), "P1", 1, 20 + i, "web", false));
        }
        if (churn is { } c)
        {
            profile.Predictions["churn"] = new Prediction("v1", Now, c, c >= 0.5 ? "high" : "low", []);
        }
        if (clv is { } v)
        {
            profile.Predictions["clv"] = new Prediction("v1", Now, v, null, []);
        }
        if (segment is not null)
        {
            profile.Predictions["segments"] = new Prediction("v1", Now, 0, segment, []);
        }
        return profile;
    }

    public static async Task StoreAsync(this IcrmAppFactory app, params CustomerProfile[] profiles)
    {
        foreach (var profile in profiles)
        {
            Assert.NotNull(await app.Customers.TryCreateAsync(profile));
        }
    }

    /// <summary>Forty customers' order history: half keep buying until recently, half stopped long ago.</summary>
    public static string OrderHistoryCsv(int customers = 40, int amountOffset = 10)
    {
        var csv = new StringBuilder("order_id,customer_id,order_date,amount\n");
        var start = DateTimeOffset.UtcNow.AddDays(-400);
        for (var c = 0; c < customers; c++)
        {
            var lastDay = c % 2 == 0 ? 395 : 200;
            for (var day = 0; day <= lastDay; day += 30 + c % 7)
            {
                csv.Append($"O{c}-{day},{c},{start.AddDays(day):yyyy-MM-dd},{amountOffset + c}\n");
            }
        }
        return csv.ToString();
    }

    /// <summary>Ingests a drop through the Ingest function, as the blob trigger delivers a created blob.</summary>
    public static async Task IngestAsync(this IcrmAppFactory app, string path, string csv)
    {
        app.Drops.Put(path, csv);
        var report = await app.InvokeIngestAsync(new BlobClient(new Uri($"https://acct.blob.core.windows.net/drops/{path}")));
        Assert.Equal(IngestionStatus.Completed, report?.Status);
    }

    /// <summary>Calls the Ingest function class as the host does: created per invocation from the app's services.</summary>
    public static async Task<IngestionReport?> InvokeIngestAsync(this IcrmAppFactory app, BlobClient blob)
    {
        _ = app.Server;
        await using var scope = app.Services.CreateAsyncScope();
        var parts = blob.Name.Split('/', 3);
        return await ActivatorUtilities.CreateInstance<Ingest>(scope.ServiceProvider).Run(blob, parts[0], parts[1], parts[2], CancellationToken.None);
    }

    /// <summary>POST /api/train and poll GET /api/train/{runId} until the run ends; returns the final run document.</summary>
    public static async Task<JsonObject> TrainAsync(this HttpClient client, string kinds = "[]")
    {
        var started = await client.PostAsync("/api/train", Json($"{{\"kinds\": {kinds}}}"));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var statusUrl = (await started.Content.ReadFromJsonAsync<JsonObject>())!["statusUrl"]!.GetValue<string>();
        Assert.Equal(statusUrl, started.Headers.Location!.OriginalString);
        // Generous: a loaded CI machine can take minutes; this bounds a hang, it does not time training.
        for (var i = 0; i < 3600; i++)
        {
            var run = (await client.GetFromJsonAsync<JsonObject>(statusUrl))!;
            var status = run["status"]!.GetValue<string>();
            if (status is not ("queued" or "running"))
            {
                return run;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("Training did not finish within 3 minutes.");
    }

    /// <summary>Ingests the order history and trains churn on it; returns the promoted version.</summary>
    public static async Task<string> TrainChurnAsync(this IcrmAppFactory app, HttpClient client)
    {
        await app.IngestAsync("web/orders/history.csv", OrderHistoryCsv());
        var run = await client.TrainAsync();
        Assert.Equal("succeeded", run["status"]!.GetValue<string>());
        var champion = await app.Registry.GetChampionAsync("churn");
        Assert.NotNull(champion);
        return champion.Value.Version;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<JsonObject> ProblemAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal((int)expected, problem["status"]!.GetValue<int>());
        return problem;
    }

    public static string Detail(this JsonObject problem) => problem["detail"]?.GetValue<string>() ?? "";

    /// <summary>The same app with some services replaced (the stores stay the factory's).</summary>
    public static WebApplicationFactory<Program> With(this IcrmAppFactory app, Action<IServiceCollection> replace) =>
        app.WithWebHostBuilder(b => b.ConfigureTestServices(replace));

    public static Action<IServiceCollection> Scoring(ICustomerScoring scoring) =>
        s => s.RemoveAll<ICustomerScoring>().AddSingleton(scoring);

    public static Action<IServiceCollection> Sentiment(ISentimentProvider? provider) => s =>
    {
        s.RemoveAll<ISentimentProvider>();
        if (provider is not null)
        {
            s.AddSingleton(provider);
        }
    };

    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}

/// <summary>Scoring as a full set of champions would answer (the real kinds beyond churn are trained in iCrm.Ml.Tests).</summary>
internal sealed class FullScoring : ICustomerScoring
{
    public ScoreRequest? LastRequest { get; private set; }

    public Task<CustomerScores> ScoreAsync(CustomerProfile profile, DateTimeOffset asOf, ScoreRequest request, CancellationToken cancellationToken = default)
    {
        LastRequest = request;
        IReadOnlyList<Recommendation>? recommendations = request.Recommendations
            ? [.. Enumerable.Range(1, request.Top).Select(i => new Recommendation($"P{i}", 1.0 / i, "bought with P0"))]
            : null;
        return Task.FromResult(new CustomerScores(profile.Id, asOf,
            new ChurnScore(0.7, "high", [new Factor("days_since_last_order", "days since last order", 0.4)]),
            new LifetimeValueScore(2.5, 0.8, 120, "EUR"),
            new SegmentScore("Champions", 5, 5, 5, null, null),
            null,
            recommendations,
            new Dictionary<string, string> { ["churn"] = "c1", ["clv"] = "l1", ["segments"] = "s1", ["recommendations"] = "r1" },
            new Dictionary<string, string> { ["sentiment"] = "No sentiment model has been trained yet." }));
    }
}

internal sealed class FixedSentiment(bool enabled) : ISentimentProvider
{
    public bool IsEnabled => enabled;

    public Task<IReadOnlyList<SentimentResult>> ScoreAsync(IReadOnlyList<string> texts, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<SentimentResult>>([.. texts.Select(t => SentimentResult.FromScore(t.Contains("love", StringComparison.OrdinalIgnoreCase) ? 0.9 : 0.1))]);
}
