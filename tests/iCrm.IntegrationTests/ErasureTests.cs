using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using iCrm.Azure;
using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.Core.Ingestion;
using iCrm.Core.Privacy;
using iCrm.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.IntegrationTests;

/// <summary>Erasure on the local stack: Cosmos (profile deleted, keys tombstoned in identities) and Azurite (quarantine
/// files rewritten without the person's rows), then a re-drop of the same file quarantined as <c>erased_subject</c>.</summary>
public sealed class ErasureTests : IDisposable
{
    private readonly LocalAppFactory _app = new();

    public ErasureTests() => _app.Settings["LocalTriggers:Enabled"] = "false"; // this test ingests itself

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task An_erased_customer_is_gone_from_Cosmos_and_the_quarantine_and_a_re_drop_does_not_bring_them_back()
    {
        var run = LocalStack.Unique();
        var client = _app.CreateClient();
        // Phones differ per run too (Ofcom's drama range +44 20 7946 0000-0999), so a second run against the same stack
        // does not meet the first run's tombstones.
        var n = Random.Shared.Next(0, 500) * 2;
        string Phone(int i) => $"+44 20 7946 {n + i:D4}";
        var customers = new StringBuilder("customer_id,email,phone,first_name\n")
            .Append($"{run}-1,ada.{run}@example.test,{Phone(0)},Ada\n")
            .Append($"{run}-2,grace.{run}@example.test,{Phone(1)},Grace\n")
            .Append($"{run}-1,ada-at-example,,Ada\n")
            .Append($"{run}-2,grace-at-example,,Grace\n").ToString();
        var orders = $"order_id,customer_id,order_date,amount\nO1-{run},{run}-1,2026-01-05,10\nO2-{run},{run}-1,soon,10\nO3-{run},{run}-2,later,10\n";
        var customersReport = await DropAsync($"web/customers/{run}.csv", customers);
        var ordersReport = await DropAsync($"web/orders/{run}.csv", orders);
        var quarantine = LocalStack.Blobs().GetBlobContainerClient(ResourceNames.QuarantineContainer);
        Assert.Equal(2, (await RejectedAsync(quarantine, customersReport.Id)).Count);

        var profile = (await client.GetFromJsonAsync<JsonObject>($"/api/customers/by-source/web/{run}-1"))!;
        var id = profile["id"]!.GetValue<string>();
        var response = await client.PostAsync($"/api/customers/{id}:erase",
            new StringContent("{\"reason\":\"DSR-local-1\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tombstone = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(2, tombstone["quarantineRowsRemoved"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/customers/{id}")).StatusCode);
        var hasher = _app.Services.GetRequiredService<MatchKeyHasher>();
        var identities = _app.Services.GetRequiredService<IIdentityStore>();
        foreach (var key in new[] { hasher.SourceKey("web", $"{run}-1"), hasher.EmailKey($"ada.{run}@example.test")!.Value, hasher.PhoneKey($"+44207946{n:D4}")!.Value })
        {
            var claim = await identities.GetAsync(key.Value);
            Assert.Equal((ErasedKeys.Kind, id), (claim?.Kind, claim?.CustomerId));
        }
        Assert.Equal(id, (await _app.Services.GetRequiredService<ISubjectErasureStore>().GetAsync(id))?.ErasedId);
        // The quarantine files keep the other person's rows, and nothing of the erased one.
        var keptCustomers = await RejectedAsync(quarantine, customersReport.Id);
        var keptOrders = await RejectedAsync(quarantine, ordersReport.Id);
        Assert.Equal([$"{run}-2,grace-at-example,,Grace"], keptCustomers.Select(r => r["raw"]!.GetValue<string>()));
        Assert.Equal([$"O3-{run},{run}-2,later,10"], keptOrders.Select(r => r["raw"]!.GetValue<string>()));

        // The same file uploaded again: the erased person's rows are quarantined as erased_subject, nothing is recreated.
        var again = await DropAsync($"web/customers/{run}.csv", customers);
        Assert.Equal(again.RowsRead, again.RowsAccepted + again.RowsRejected + again.DuplicatesSkipped);
        Assert.Equal(1, again.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Equal(0, again.CustomersCreated);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/customers/by-source/web/{run}-1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/customers/by-source/web/{run}-2")).StatusCode);
        var erasedRows = (await RejectedAsync(quarantine, again.Id)).Where(r => r["reason"]!.GetValue<string>() == RejectionReasons.ErasedSubject).ToList();
        Assert.Equal([""], erasedRows.Select(r => r["raw"]!.GetValue<string>()));
    }

    private async Task<IngestionReport> DropAsync(string path, string content)
    {
        var drops = LocalStack.Blobs().GetBlobContainerClient(ResourceNames.DropsContainer);
        await drops.CreateIfNotExistsAsync();
        await drops.GetBlobClient(path).UploadAsync(BinaryData.FromString(content), overwrite: true);
        _ = _app.Server;
        var report = await _app.Services.GetRequiredService<IngestionPipeline>().IngestAsync(path);
        Assert.Equal(IngestionStatus.Completed, report.Status);
        return report;
    }

    private static async Task<List<JsonNode>> RejectedAsync(global::Azure.Storage.Blobs.BlobContainerClient container, string dropId)
    {
        var text = (await container.GetBlobClient($"{dropId}/rejected.jsonl").DownloadContentAsync()).Value.Content.ToString();
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)];
    }
}
