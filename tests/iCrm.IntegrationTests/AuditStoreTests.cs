using iCrm.Azure.Store;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace iCrm.IntegrationTests;

/// <summary>The Cosmos audit log against the local Cosmos server: per-item ttl, the container's time to live, and the
/// queries of the privacy role (one partition and across partitions, filtered and paged).</summary>
public sealed class AuditStoreTests
{
    private static CosmosAuditLog Log(int retentionDays = 30) =>
        new(LocalStack.CosmosContainers(), Options.Create(new AuditOptions { RetentionDays = retentionDays }));

    [Fact]
    public async Task Entries_carry_the_retention_period_as_ttl_and_the_container_has_time_to_live_on()
    {
        var customer = "c" + LocalStack.Unique();
        await Log(30).WriteAsync(new AuditEntry("a-" + LocalStack.Unique(), customer, "read", "reader", DateTimeOffset.UtcNow));
        await Log(0).WriteAsync(new AuditEntry("b-" + LocalStack.Unique(), customer, "read", "reader", DateTimeOffset.UtcNow));

        var container = await LocalStack.CosmosContainers().GetAsync(iCrm.Azure.ResourceNames.AuditContainer);
        using var iterator = container.GetItemQueryIterator<Dictionary<string, object?>>(
            new QueryDefinition("SELECT * FROM c WHERE c.customerId = @id").WithParameter("@id", customer),
            requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(customer) });
        var stored = (await iterator.ReadNextAsync()).ToList();
        var properties = await container.ReadContainerAsync();

        Assert.Equal(2, stored.Count);
        Assert.Equal("2592000", Assert.Single(stored, d => ((string)d["id"]!.ToString()!).StartsWith('a'))["ttl"]!.ToString());
        Assert.False(Assert.Single(stored, d => d["id"]!.ToString()!.StartsWith('b')).ContainsKey("ttl"));
        Assert.Equal(-1, properties.Resource.DefaultTimeToLive);
    }

    [Fact]
    public async Task Creating_an_entry_again_keeps_the_first_and_answers_false_while_another_customer_may_use_the_id()
    {
        var log = Log(30);
        var (ann, bob) = ("c" + LocalStack.Unique(), "c" + LocalStack.Unique());
        var id = "ingest-" + LocalStack.Unique();
        var first = new DateTimeOffset(2030, 2, 1, 10, 0, 0, TimeSpan.Zero);

        var created = await log.TryCreateAsync(new AuditEntry(id, ann, "create", "ingest", first, "customers", "drop-1", "system"));
        var again = await log.TryCreateAsync(new AuditEntry(id, ann, "change", "ingest", first.AddHours(1), "orders", "drop-1", "system"));
        var other = await log.TryCreateAsync(new AuditEntry(id, bob, "change", "ingest", first.AddHours(1), "orders", "drop-1", "system"));

        Assert.Equal((true, false, true), (created, again, other));
        var stored = Assert.Single(await log.ListAsync(ann));
        Assert.Equal(new AuditEntry(id, ann, "create", "ingest", first, "customers", "drop-1", "system"), stored);
        Assert.Equal("change", Assert.Single(await log.ListAsync(bob)).Action);
        var container = await LocalStack.CosmosContainers().GetAsync(iCrm.Azure.ResourceNames.AuditContainer);
        var document = (await container.ReadItemAsync<Dictionary<string, object?>>(id, new PartitionKey(ann))).Resource;
        Assert.Equal("2592000", document["ttl"]!.ToString());
    }

    [Fact]
    public async Task Queries_filter_by_customer_time_and_action_newest_first_in_pages()
    {
        var log = Log();
        var action = "t" + LocalStack.Unique(); // an action no other test writes, so the global query sees only these
        var customers = new[] { "c" + LocalStack.Unique(), "c" + LocalStack.Unique() };
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 7; i++)
        {
            await log.WriteAsync(new AuditEntry($"e{i}-{action}", customers[i % 2], action, "reader", start.AddHours(i), Role: "reader"));
        }

        var pages = new List<IReadOnlyList<AuditEntry>>();
        string? token = null;
        do
        {
            var page = await log.QueryAsync(new AuditQuery(Action: action, From: start.AddHours(1), To: start.AddHours(6)), 2, token);
            pages.Add(page.Items);
            token = page.ContinuationToken;
        }
        while (token is not null && pages.Count < 10);
        var one = await log.QueryAsync(new AuditQuery(CustomerId: customers[0], Action: action), 50, null);

        Assert.Equal(["e5", "e4", "e3", "e2", "e1"], pages.SelectMany(p => p).Select(e => e.Id.Split('-')[0]));
        Assert.All(pages, p => Assert.True(p.Count <= 2));
        Assert.Equal(["e6", "e4", "e2", "e0"], one.Items.Select(e => e.Id.Split('-')[0]));
        Assert.Null(one.ContinuationToken);
        Assert.Equal("reader", one.Items[0].Role);
    }
}
