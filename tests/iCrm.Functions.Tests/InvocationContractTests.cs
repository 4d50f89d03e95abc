using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;

namespace iCrm.Functions.Tests;

/// <summary>The custom-handler contract: what the Functions host posts for queue and timer triggers, and what it expects back.</summary>
public sealed class InvocationContractTests : IDisposable
{
    private const string OrdersCsv = "order_id,customer_id,order_date,amount\nA-1,42,2025-01-05,19.90\nA-2,42,2025-02-07,5.00\n";
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    public enum Encoding
    {
        JsonObject,
        JsonString,
        Base64,
    }

    public static TheoryData<string, Encoding> Deliveries()
    {
        var data = new TheoryData<string, Encoding>();
        foreach (var schema in new[] { "eventgrid", "cloudevents" })
        {
            foreach (var encoding in Enum.GetValues<Encoding>())
            {
                data.Add(schema, encoding);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Deliveries))]
    public async Task Ingest_takes_a_BlobCreated_event_in_either_schema_and_encoding_and_ingests_the_drop(string schema, Encoding encoding)
    {
        _app.Drops.Put("web/orders/2025-02.csv", OrdersCsv);
        var blobEvent = BlobCreated(schema, "http://127.0.0.1:10000/devstoreaccount1/drops/web/orders/2025-02.csv");

        var response = await PostInvocation("Ingest", Message(blobEvent, encoding));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.NotNull(body);
        Assert.True(body.ContainsKey("Outputs"));
        Assert.Contains("accepted 2", body["Logs"]!.AsArray().Select(l => l!.GetValue<string>()).Single());
        var report = body["ReturnValue"]!.AsArray().Single()!;
        Assert.Equal("Completed", report["status"]!.GetValue<string>());
        Assert.Equal(2, report["RowsAccepted"]!.GetValue<long>());
        var profile = Assert.Single(_app.Customers.All());
        Assert.Equal(2, profile.Orders.Count);
        Assert.Contains(new SourceIdentity("web", "42"), profile.Identities);
    }

    [Fact]
    public async Task Ingest_accepts_a_url_of_a_blob_account_in_Azure_form()
    {
        _app.Drops.Put("web/orders/o.csv", OrdersCsv);
        var response = await PostInvocation("Ingest", Message(BlobCreated("eventgrid", "https://acct.blob.core.windows.net/drops/web/orders/o.csv"), Encoding.JsonObject));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_app.Customers.All());
    }

    [Fact]
    public async Task Delivering_the_same_event_twice_changes_nothing_the_second_time()
    {
        _app.Drops.Put("web/orders/o.csv", OrdersCsv);
        var message = Message(BlobCreated("eventgrid", "http://127.0.0.1:10000/devstoreaccount1/drops/web/orders/o.csv"), Encoding.JsonString);

        await PostInvocation("Ingest", message);
        var writes = _app.Customers.Writes;
        var second = await PostInvocation("Ingest", message);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(writes, _app.Customers.Writes);
        Assert.Equal(2, _app.Customers.All().Single().Orders.Count);
    }

    [Theory]
    [InlineData("not json and not base64!")]
    [InlineData("bm90IGpzb24=")]
    public async Task An_unreadable_message_fails_the_invocation_so_the_host_retries_and_poisons_it(string message)
    {
        var response = await PostInvocation("Ingest", JsonValue.Create(message)!);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Contains("unreadable event", body!["Logs"]!.AsArray().Single()!.GetValue<string>());
    }

    [Fact]
    public async Task Events_other_than_BlobCreated_are_acknowledged_and_ignored()
    {
        var other = BlobCreated("eventgrid", "http://127.0.0.1:10000/devstoreaccount1/drops/web/orders/o.csv");
        other["eventType"] = "Microsoft.Storage.BlobDeleted";

        var response = await PostInvocation("Ingest", Message(other, Encoding.JsonObject));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(_app.Customers.All());
    }

    [Fact]
    public async Task A_drop_that_no_longer_exists_is_acknowledged_with_a_log_line()
    {
        var response = await PostInvocation("Ingest", Message(BlobCreated("eventgrid", "https://acct.blob.core.windows.net/drops/web/orders/gone.csv"), Encoding.JsonObject));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Contains("was not found", body!["Logs"]!.AsArray().Single()!.GetValue<string>());
    }

    [Fact]
    public async Task Timer_invocation_trains_and_promotes_a_churn_model()
    {
        var csv = new StringBuilder("order_id,customer_id,order_date,amount\n");
        var start = DateTimeOffset.UtcNow.AddDays(-400);
        for (var c = 0; c < 40; c++)
        {
            // Half the customers keep buying until recently, half stop early.
            var lastDay = c % 2 == 0 ? 395 : 200;
            for (var day = 0; day <= lastDay; day += 30 + c % 7)
            {
                csv.Append($"O{c}-{day},{c},{start.AddDays(day):yyyy-MM-dd},{10 + c}\n");
            }
        }
        _app.Drops.Put("web/orders/history.csv", csv.ToString());
        await PostInvocation("Ingest", Message(BlobCreated("eventgrid", "https://acct.blob.core.windows.net/drops/web/orders/history.csv"), Encoding.JsonObject));

        var timer = new JsonObject { ["Schedule"] = new JsonObject { ["AdjustForDST"] = true }, ["IsPastDue"] = false };
        var response = await PostInvocation("Train", timer, bindingName: "timer");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("Succeeded", body!["ReturnValue"]!["status"]!.GetValue<string>());
        Assert.NotNull(await _app.Registry.GetChampionAsync("churn"));
        Assert.All(_app.Customers.All(), p => Assert.True(p.Predictions.ContainsKey("churn")));
    }

    [Fact]
    public async Task The_readiness_probe_answers_GET_slash()
    {
        var response = await _app.CreateClient().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<HttpResponseMessage> PostInvocation(string function, JsonNode message, string bindingName = "message")
    {
        var payload = new JsonObject
        {
            ["Data"] = new JsonObject { [bindingName] = message.DeepClone() },
            ["Metadata"] = new JsonObject { ["DequeueCount"] = 1, ["Id"] = Guid.NewGuid().ToString(), ["sys"] = new JsonObject { ["MethodName"] = function } },
        };
        return await _app.CreateClient().PostAsync($"/{function}", new StringContent(payload.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
    }

    private static JsonNode Message(JsonObject blobEvent, Encoding encoding) => encoding switch
    {
        Encoding.JsonObject => blobEvent,
        Encoding.JsonString => JsonValue.Create(blobEvent.ToJsonString())!,
        Encoding.Base64 => JsonValue.Create(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(blobEvent.ToJsonString())))!,
        _ => throw new ArgumentOutOfRangeException(nameof(encoding)),
    };

    /// <summary>A Microsoft.Storage.BlobCreated event as Event Grid delivers it, in its own schema or as a CloudEvent.</summary>
    private static JsonObject BlobCreated(string schema, string url)
    {
        var path = new Uri(url).AbsolutePath;
        var blobName = path[(path.IndexOf("/drops/", StringComparison.Ordinal) + "/drops/".Length)..];
        var data = new JsonObject
        {
            ["api"] = "PutBlob",
            ["contentType"] = "text/csv",
            ["contentLength"] = 120,
            ["blobType"] = "BlockBlob",
            ["url"] = url,
        };
        var subject = $"/blobServices/default/containers/drops/blobs/{blobName}";
        return schema == "eventgrid"
            ? new JsonObject
            {
                ["topic"] = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
                ["subject"] = subject,
                ["eventType"] = "Microsoft.Storage.BlobCreated",
                ["id"] = Guid.NewGuid().ToString(),
                ["data"] = data,
                ["dataVersion"] = "",
                ["metadataVersion"] = "1",
                ["eventTime"] = DateTimeOffset.UtcNow.ToString("O"),
            }
            : new JsonObject
            {
                ["specversion"] = "1.0",
                ["type"] = "Microsoft.Storage.BlobCreated",
                ["source"] = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
                ["subject"] = subject,
                ["id"] = Guid.NewGuid().ToString(),
                ["time"] = DateTimeOffset.UtcNow.ToString("O"),
                ["data"] = data,
            };
    }
}
