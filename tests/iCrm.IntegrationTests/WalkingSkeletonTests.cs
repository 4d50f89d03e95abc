using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using iCrm.Azure;

namespace iCrm.IntegrationTests;

/// <summary>Drop to score, end to end on the local stack: the path every later feature hangs on.</summary>
public sealed class WalkingSkeletonTests : IDisposable
{
    private readonly LocalAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task An_orders_drop_becomes_profiles_a_trained_model_and_a_score()
    {
        var client = _app.CreateClient();
        var run = LocalStack.Unique();
        var csv = new StringBuilder("order_id,customer_id,order_date,amount\n");
        var start = DateTimeOffset.UtcNow.AddDays(-400);
        for (var c = 0; c < 30; c++)
        {
            var lastDay = c % 2 == 0 ? 395 : 150;
            for (var day = c % 5; day <= lastDay; day += 25 + c % 9)
            {
                csv.Append($"{run}-{c}-{day},{run}-{c},{start.AddDays(day):yyyy-MM-dd},{10 + c}.50\n");
            }
        }
        var drops = LocalStack.Blobs().GetBlobContainerClient(ResourceNames.DropsContainer);
        await drops.CreateIfNotExistsAsync();
        await drops.GetBlobClient($"web/orders/{run}.csv").UploadAsync(BinaryData.FromString(csv.ToString()));

        // The drop watcher announces the blob, the queue runner invokes Ingest, the ledger records the report.
        var report = await Eventually(async () =>
        {
            var page = await client.GetFromJsonAsync<JsonObject>("/api/ingestions?pageSize=500");
            return page!["items"]!.AsArray().FirstOrDefault(i => i!["blobPath"]!.GetValue<string>() == $"drops/web/orders/{run}.csv"
                && i["status"]!.GetValue<string>() == "completed");
        });
        var rows = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1;
        Assert.Equal(rows, report["rowsRead"]!.GetValue<long>());
        Assert.Equal(rows, report["rowsAccepted"]!.GetValue<long>());
        Assert.Equal(30, report["customersCreated"]!.GetValue<long>());

        var profile = await client.GetFromJsonAsync<JsonObject>($"/api/customers/by-source/web/{run}-3");
        var customerId = profile!["id"]!.GetValue<string>();
        Assert.Contains($"{run}-3", profile["identities"]!["web"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.True(profile["history"]!["orders"]!.GetValue<int>() > 0);

        var noScoreYet = await client.GetAsync($"/api/customers/{customerId}/scores");
        Assert.True(noScoreYet.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.OK);

        var started = await client.PostAsJsonAsync("/api/train", new { kinds = new[] { "churn" } });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!.GetValue<string>();
        var finished = await Eventually(async () =>
        {
            var status = await client.GetFromJsonAsync<JsonObject>($"/api/train/{runId}");
            return status!["status"]!.GetValue<string>() is "succeeded" or "failed" or "skipped" ? status : null;
        });
        Assert.Equal("succeeded", finished["status"]!.GetValue<string>());
        Assert.True(finished["models"]!["churn"]!["promoted"]!.GetValue<bool>() || finished["models"]!["churn"]!["reason"]!.GetValue<string>().StartsWith("kept champion", StringComparison.Ordinal));

        var scores = await client.GetFromJsonAsync<JsonObject>($"/api/customers/{customerId}/scores");
        var probability = scores!["churn"]!["probability"]!.GetValue<double>();
        Assert.InRange(probability, 0, 1);
        Assert.NotEmpty(scores["churn"]!["topFactors"]!.AsArray());

        var model = await client.GetFromJsonAsync<JsonObject>("/api/models/churn");
        Assert.NotNull(model!["champion"]);
        Assert.Equal("auc", model["card"]!["promotionMetric"]!.GetValue<string>());
    }

    private static async Task<JsonNode> Eventually(Func<Task<JsonNode?>> probe, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (await probe() is { } result)
            {
                return result;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Nothing happened within {seconds} s.");
            }
            await Task.Delay(250);
        }
    }
}
