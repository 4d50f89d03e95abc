using System.Text.Json;
using iCrm.Core.Ingestion;
using iCrm.Core.Storage;
using iCrm.Testing;

using static iCrm.Core.Tests.Ingestion.IngestionTestData;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>Audit entries for the profiles a drop creates or changes: one per drop and profile, idempotent, no personal data.</summary>
public sealed class IngestionAuditTests
{
    private const string Customers = "customer_id,email,phone,first_name,last_name,consent_email\n"
        + "WX-7781,ann.smith@example.com,+14155550123,Ann,Smith,yes\n"
        + "WX-7782,bob.jones@example.com,+14155550199,Bob,Jones,no\n";

    private static List<AuditEntry> Of(IngestionHarness h, string customerId, string? action = null) =>
        [.. h.Audit.Entries.Values.Where(e => e.CustomerId == customerId && (action is null || e.Action == action)).OrderBy(e => e.At)];

    private static List<AuditEntry> Changes(IngestionHarness h) =>
        [.. h.Audit.Entries.Values.Where(e => e.Action is IngestAuditActions.Create or IngestAuditActions.Change)];

    [Fact]
    public async Task A_drop_creating_profiles_writes_one_create_entry_per_profile()
    {
        var h = new IngestionHarness(now: Now);

        var report = await h.IngestAsync("web/customers/c.csv", Customers);

        Assert.Equal(2, report.CustomersCreated);
        var ann = (await h.FindBySourceAsync("web", "WX-7781"))!;
        var entry = Assert.Single(Of(h, ann.Id));
        Assert.Equal(new AuditEntry($"ingest-{report.Id}", ann.Id, "create", "ingest", Now, "customers", report.Id, "system"), entry);
        Assert.Equal(2, Changes(h).Count);
        Assert.All(Changes(h), e => Assert.Equal(("create", report.Id), (e.Action, e.RelatedId)));
    }

    [Fact]
    public async Task A_drop_changing_a_profile_writes_one_change_entry_for_it_however_many_rows_it_has()
    {
        var h = new IngestionHarness(now: Now);
        await h.IngestAsync("web/customers/c.csv", Customers);
        h.Time.Advance(TimeSpan.FromHours(2));

        var report = await h.IngestAsync("web/orders/o.csv", Orders("O1,1,WX-7781,2025-05-01,P1,1,10", "O1,2,WX-7781,2025-05-01,P2,1,5",
            "O2,1,WX-7781,2025-06-01,P2,2,5"));

        Assert.Equal(3, report.RowsAccepted);
        var ann = (await h.FindBySourceAsync("web", "WX-7781"))!;
        var bob = (await h.FindBySourceAsync("web", "WX-7782"))!;
        var change = Assert.Single(Of(h, ann.Id, "change"));
        Assert.Equal(new AuditEntry($"ingest-{report.Id}", ann.Id, "change", "ingest", Now.AddHours(2), "orders", report.Id, "system"), change);
        Assert.Equal(["create", "change"], Of(h, ann.Id).Select(e => e.Action));
        Assert.Equal(["create"], Of(h, bob.Id).Select(e => e.Action)); // not in the drop: no entry
    }

    [Fact]
    public async Task An_orders_drop_for_an_unknown_customer_writes_a_create_entry()
    {
        var h = new IngestionHarness(now: Now);

        var report = await h.IngestAsync("pos/orders/o.csv", Orders("O1,1,P-99,2025-05-01,P1,1,10"));

        var profile = (await h.FindBySourceAsync("pos", "P-99"))!;
        var entry = Assert.Single(Changes(h));
        Assert.Equal((profile.Id, "create", "orders", report.Id), (entry.CustomerId, entry.Action, entry.Reason, entry.RelatedId));
    }

    [Fact]
    public async Task Delivering_a_completed_drop_again_writes_no_new_entry()
    {
        var h = new IngestionHarness(now: Now);
        await h.IngestAsync("web/customers/c.csv", Customers);
        await h.IngestAsync("web/orders/o.csv", Orders("O1,1,WX-7781,2025-05-01,P1,1,10"));
        var before = h.Audit.Entries.ToDictionary();
        h.Time.Advance(TimeSpan.FromHours(1));

        await h.Pipeline.IngestAsync("web/customers/c.csv");
        await h.Pipeline.IngestAsync("web/orders/o.csv");

        Assert.Equal(before, h.Audit.Entries.ToDictionary());
    }

    [Fact]
    public async Task A_drop_of_duplicates_only_writes_no_entry()
    {
        var h = new IngestionHarness(now: Now);
        await h.IngestAsync("web/customers/c.csv", Customers);
        var orders = Orders("O1,1,WX-7781,2025-05-01,P1,1,10", "O2,1,WX-7782,2025-06-01,P2,2,5");
        await h.IngestAsync("web/orders/jan.csv", orders);
        var count = h.Audit.Entries.Count;

        var report = await h.IngestAsync("web/orders/jan-again.csv", orders); // a new drop (new name) holding the same rows

        Assert.Equal((2L, 0L, 2L), (report.RowsRead, report.RowsAccepted, report.DuplicatesSkipped));
        Assert.Equal(count, h.Audit.Entries.Count);
        Assert.DoesNotContain(h.Audit.Entries.Values, e => e.RelatedId == report.Id);
    }

    [Fact]
    public async Task A_drop_with_duplicates_for_one_profile_and_new_rows_for_another_writes_an_entry_for_the_other_only()
    {
        var h = new IngestionHarness(now: Now);
        await h.IngestAsync("web/customers/c.csv", Customers);
        await h.IngestAsync("web/orders/jan.csv", Orders("O1,1,WX-7781,2025-05-01,P1,1,10"));

        var report = await h.IngestAsync("web/orders/feb.csv", Orders("O1,1,WX-7781,2025-05-01,P1,1,10", "O2,1,WX-7782,2025-06-01,P2,2,5"));

        var bob = (await h.FindBySourceAsync("web", "WX-7782"))!;
        var entry = Assert.Single(h.Audit.Entries.Values, e => e.RelatedId == report.Id);
        Assert.Equal((bob.Id, "change"), (entry.CustomerId, entry.Action));
    }

    [Fact]
    public async Task A_profile_changed_in_several_chunks_of_one_drop_gets_one_entry()
    {
        var h = new IngestionHarness(new IngestionOptions { ChunkSize = 1 }, Now);

        // Customers drops go in file order: WX-7781 is created in chunk 0 and changed again in chunk 2.
        var report = await h.IngestAsync("web/customers/c.csv", "customer_id,email,first_name\nWX-7781,ann.smith@example.com,Ann\n"
            + "WX-7782,bob.jones@example.com,Bob\nWX-7781,ann.smith@work.example.com,Ann\n");

        Assert.Equal(3, report.Chunks);
        var ann = (await h.FindBySourceAsync("web", "WX-7781"))!;
        Assert.Equal("ann.smith@work.example.com", ann.Contact.Email);
        Assert.Equal(["create"], Of(h, ann.Id).Select(e => e.Action));
        Assert.Equal(2, Changes(h).Count);
        Assert.Equal(0, h.Audit.CreatesRefused); // the later chunk did not even try
    }

    [Fact]
    public async Task A_merge_writes_the_survivor_a_change_entry_besides_the_merge_and_the_merged_away_profile_only_the_merge()
    {
        var h = new IngestionHarness(now: Now);
        await h.IngestAsync("web/customers/c.csv", "customer_id,email,first_name\nW1,ann@example.com,Ann\n");
        await h.IngestAsync("callcenter/customers/c.csv", "customer_id,phone,first_name\nC9,+14155550123,Ann\n");

        var report = await h.IngestAsync("app/customers/c.csv", "customer_id,email,phone\nA5,ANN@example.com,(415) 555-0123\n");

        var survivor = (await h.FindBySourceAsync("app", "A5"))!;
        var other = Assert.Single(survivor.MergedFrom);
        var ofDrop = h.Audit.Entries.Values.Where(e => e.RelatedId == report.Id || e.Action == "merge").ToList();
        Assert.Equal(["change", "merge"], ofDrop.Where(e => e.CustomerId == survivor.Id).Select(e => e.Action).Order());
        var mergedAway = Assert.Single(ofDrop, e => e.CustomerId == other);
        Assert.Equal(("merge", survivor.Id), (mergedAway.Action, mergedAway.RelatedId));
        Assert.All(ofDrop, e => Assert.Equal(("ingest", "system"), (e.Actor, e.Role)));
    }

    [Theory]
    [InlineData(1_000_000, 17)] // grouped by customer in memory
    [InlineData(1_000, 17)] // spilled to buckets on disk
    public async Task A_drop_run_again_after_a_crash_ends_with_the_entries_of_a_clean_run_and_keeps_their_first_time(long spillBucketBytes, int failingWrite)
    {
        var rows = Enumerable.Range(0, 400).Select(i => $"O{i},1,{i % 37},2025-0{1 + i % 9}-1{i % 10},P{i % 11},1,{10 + i % 5}").ToArray();
        var csv = Orders(rows);
        var options = new IngestionOptions { ChunkSize = 20, SpillBucketBytes = spillBucketBytes };
        var clean = new IngestionHarness(options, Now);
        await clean.IngestAsync("web/orders/big.csv", csv);
        var crashing = new IngestionHarness(options, Now);
        CrashAtWrite(crashing, failingWrite);
        await Assert.ThrowsAsync<IOException>(() => crashing.IngestAsync("web/orders/big.csv", csv));
        var beforeRerun = crashing.Audit.Entries.ToDictionary();
        Assert.InRange(beforeRerun.Count, 1, 36); // some chunks were done, not all
        crashing.Customers.BeforeWrite = null;
        crashing.Time.Advance(TimeSpan.FromHours(1));

        var rerun = await crashing.Pipeline.IngestAsync("web/orders/big.csv");

        Assert.Equal(IngestionStatus.Completed, rerun.Status);
        static List<string> Shape(IngestionHarness h) => [.. h.Audit.Entries.Values.Select(e => $"{e.Action} {e.Reason} {e.RelatedId} {e.Actor}").Order()];
        Assert.Equal(37, Changes(clean).Count);
        Assert.Equal(Shape(clean), Shape(crashing));
        Assert.Equal(clean.Audit.Entries.Keys.Order(), crashing.Audit.Entries.Keys.Order()); // same ids, same customers
        foreach (var (key, entry) in beforeRerun)
        {
            Assert.Equal(entry, crashing.Audit.Entries[key]); // written before the crash: kept as it was, time included
        }
        Assert.All(crashing.Audit.Entries.Values.Where(e => !beforeRerun.ContainsKey($"{e.CustomerId}/{e.Id}")),
            e => Assert.Equal(Now.AddHours(1), e.At));
    }

    [Fact]
    public async Task No_entry_holds_personal_data_of_the_rows()
    {
        var h = new IngestionHarness(now: Now);
        await h.IngestAsync("web/customers/c.csv", Customers);
        await h.IngestAsync("web/orders/o.csv", Orders("O1,1,WX-7781,2025-05-01,P1,1,10"));
        await h.IngestAsync("web/customers/update.csv", "customer_id,email,phone,first_name,last_name,city\n"
            + "WX-7782,robert.jones@example.com,+14155550177,Robert,Jones,Springfield\n");

        Assert.Equal(4, Changes(h).Count);
        var written = JsonSerializer.Serialize(h.Audit.Entries.Values);
        foreach (var personal in new[] { "ann.smith", "bob.jones", "robert.jones", "example.com", "Ann", "Smith", "Bob", "Robert", "Jones",
                     "4155550", "Springfield", "WX-778" })
        {
            Assert.DoesNotContain(personal, written, StringComparison.OrdinalIgnoreCase);
        }
    }
}
