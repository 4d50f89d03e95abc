using System.Text;
using System.Text.Json;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.DataGen;
using iCrm.Testing;

using static iCrm.Core.Tests.Ingestion.IngestionTestData;

namespace iCrm.Core.Tests.Ingestion;

public sealed class IngestionPipelineTests
{

    [Fact]
    public async Task Every_generated_drop_balances_and_quarantines_exactly_the_injected_bad_rows()
    {
        var dir = Directory.CreateTempSubdirectory("icrm-gen-").FullName;
        try
        {
            var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = 300, Seed = 11 }).Generate(dir);
            var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 250 }, Now,
                history: null);
            harness.Options.Sources["pos"] = new ValidationSettings { Culture = "en-GB" };
            foreach (var file in summary.Files.OrderBy(f => f.Entity == "customers" ? 0 : 1).ThenBy(f => f.Path, StringComparer.Ordinal))
            {
                var path = file.Path["drops/".Length..];
                var report = await harness.IngestAsync(path, await File.ReadAllBytesAsync(Path.Combine(dir, file.Path)));

                Assert.Equal(IngestionStatus.Completed, report.Status);
                Assert.True(report.IsBalanced, $"{path}: read {report.RowsRead} != {report.RowsAccepted} + {report.RowsRejected} + {report.DuplicatesSkipped}");
                Assert.Equal(file.Rows, report.RowsRead);
                Assert.True(file.BadRows.Values.Sum() == report.RowsRejected,
                    $"{path}: injected {JsonSerializer.Serialize(file.BadRows)}, rejected {JsonSerializer.Serialize(report.RejectedByReason)}");
                Assert.True(file.DuplicateRows == report.DuplicatesSkipped, $"{path}: {file.DuplicateRows} duplicates injected, {report.DuplicatesSkipped} skipped");
                var rejected = harness.Quarantine.Rejected[report.Id];
                Assert.Equal(report.RowsRejected, rejected.Count);
                Assert.All(rejected, r =>
                {
                    Assert.True(r.Line > 1);
                    Assert.False(string.IsNullOrEmpty(r.Reason));
                    Assert.False(string.IsNullOrEmpty(r.RawText));
                });
            }
            Assert.NotEmpty(harness.Audit.Entries);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Delivering_a_completed_drop_again_changes_nothing()
    {
        var harness = new IngestionHarness(now: Now);
        var first = await harness.IngestAsync("web/orders/a.csv", Orders("O1,1,42,2025-05-01,P1,1,10", "O2,1,42,2025-06-01,P2,2,5"));
        var writes = harness.Customers.Writes;

        var again = await harness.Pipeline.IngestAsync("web/orders/a.csv");

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(writes, harness.Customers.Writes);
        Assert.Equal(2, (await harness.FindBySourceAsync("web", "42"))!.Orders.Count);
    }

    [Fact]
    public async Task An_overlapping_export_sent_again_in_a_later_drop_is_not_counted_twice()
    {
        var harness = new IngestionHarness(now: Now);
        await harness.IngestAsync("web/orders/jan.csv", Orders("O1,1,42,2025-05-01,P1,1,10", "O2,1,42,2025-06-01,P2,2,5"));

        var report = await harness.IngestAsync("web/orders/feb.csv", Orders("O2,1,42,2025-06-01,P2,2,5", "O3,1,42,2025-07-01,P3,1,7"));

        Assert.Equal((2L, 1L, 1L), (report.RowsRead, report.RowsAccepted, report.DuplicatesSkipped));
        var profile = (await harness.FindBySourceAsync("web", "42"))!;
        Assert.Equal(["O1", "O2", "O3"], profile.Orders.Select(o => o.OrderId));
    }

    [Theory]
    [InlineData(1_000_000, 17)] // grouped by customer in memory, chunks of about 2 whole customers: fail inside the ninth chunk
    [InlineData(1_000, 17)] // spilled to buckets of about 1,000 bytes, each grouped by customer: fail inside a later bucket
    public async Task A_drop_that_crashes_half_way_and_is_run_again_ends_like_a_clean_run(long spillBucketBytes, int failingWrite)
    {
        var rows = Enumerable.Range(0, 400).Select(i => $"O{i},1,{i % 37},2025-0{1 + i % 9}-1{i % 10},P{i % 11},1,{10 + i % 5}").ToArray();
        var csv = Orders(rows);
        var options = new IngestionOptions { ChunkSize = 20, SpillBucketBytes = spillBucketBytes }; // the first 200 rows tell it is not sorted
        var clean = new IngestionHarness(options, Now);
        var cleanReport = await clean.IngestAsync("web/orders/big.csv", csv);
        Assert.Equal(spillBucketBytes > csv.Length ? "memory" : "spill", cleanReport.Grouping);
        Assert.Equal(37, cleanReport.StoreWrites); // each customer written once

        var crashing = new IngestionHarness(options, Now);
        CrashAtWrite(crashing, failingWrite);
        await Assert.ThrowsAsync<IOException>(() => crashing.IngestAsync("web/orders/big.csv", csv));
        Assert.Equal(IngestionStatus.Failed, (await crashing.Ledger.GetAsync(cleanReport.Id))!.Value.Status);
        crashing.Customers.BeforeWrite = null;

        var rerun = await crashing.Pipeline.IngestAsync("web/orders/big.csv");

        Assert.Equal(IngestionStatus.Completed, rerun.Status);
        Assert.Equal(2, rerun.Attempts);
        Assert.Equal((cleanReport.RowsRead, cleanReport.RowsAccepted, cleanReport.RowsRejected, cleanReport.DuplicatesSkipped, cleanReport.CustomersCreated),
            (rerun.RowsRead, rerun.RowsAccepted, rerun.RowsRejected, rerun.DuplicatesSkipped, rerun.CustomersCreated));
        Assert.Equal(Snapshot(clean.Customers.All()), Snapshot(crashing.Customers.All()));
    }

    [Fact]
    public async Task Two_drops_touching_the_same_customers_at_once_lose_no_update()
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 20 }, Now);
        var a = Orders([.. Enumerable.Range(0, 200).Select(i => $"A{i},1,{i % 10},2025-03-01,P1,1,1")]);
        var b = Orders([.. Enumerable.Range(0, 200).Select(i => $"B{i},1,{i % 10},2025-04-01,P2,1,1")]);
        harness.Drops.Put("web/orders/a.csv", a);
        harness.Drops.Put("web/orders/b.csv", b);

        var reports = await Task.WhenAll(
            Task.Run(() => harness.Pipeline.IngestAsync("web/orders/a.csv")),
            Task.Run(() => harness.Pipeline.IngestAsync("web/orders/b.csv")));

        Assert.All(reports, r => Assert.Equal(200, r.RowsAccepted));
        var profiles = harness.Customers.All().Where(p => p.MergedInto is null).ToList();
        Assert.Equal(10, profiles.Count);
        Assert.All(profiles, p => Assert.Equal(40, p.Orders.Count));
    }

    [Fact]
    public async Task A_customer_row_whose_keys_belong_to_two_profiles_merges_them_with_an_audit_entry()
    {
        var harness = new IngestionHarness(now: Now);
        await harness.IngestAsync("web/customers/c.csv", "customer_id,email,first_name\nW1,ann@example.com,Ann\n");
        await harness.IngestAsync("callcenter/customers/c.csv", "customer_id,phone,first_name\nC9,+14155550123,Ann\n");
        await harness.IngestAsync("callcenter/orders/o.csv", Orders("X1,1,C9,2025-02-02,P1,1,3"));
        var web = (await harness.FindBySourceAsync("web", "W1"))!;
        var call = (await harness.FindBySourceAsync("callcenter", "C9"))!;
        Assert.NotEqual(web.Id, call.Id);

        var report = await harness.IngestAsync("app/customers/c.csv", "customer_id,email,phone\nA5,ANN@example.com,(415) 555-0123\n");

        Assert.Equal(2, report.CustomersMerged); // the new record A5 joined the profiles, and the two profiles became one
        var survivor = (await harness.FindBySourceAsync("app", "A5"))!;
        Assert.Equal(survivor.Id, (await harness.FindBySourceAsync("web", "W1"))!.Id);
        Assert.Equal(survivor.Id, (await harness.FindBySourceAsync("callcenter", "C9"))!.Id);
        Assert.Equal(3, survivor.Identities.Count);
        Assert.Single(survivor.Orders);
        var other = survivor.Id == web.Id ? call.Id : web.Id;
        Assert.Equal(survivor.Id, (await harness.Customers.GetAsync(other))!.Value.MergedInto);
        Assert.Contains(other, survivor.MergedFrom);
        var explanation = Assert.Single(survivor.MergeExplanations, e => e.OtherId == other);
        Assert.NotEmpty(explanation.Evidence);
        var audit = Assert.Single(harness.Audit.Entries.Values, e => e.Action == "merge" && e.CustomerId == survivor.Id);
        Assert.Equal(other, audit.RelatedId);
        // The merged-away id's own trail says where the person went.
        var mergedAway = Assert.Single(harness.Audit.Entries.Values, e => e.Action == "merge" && e.CustomerId == other);
        Assert.Equal(survivor.Id, mergedAway.RelatedId);
        // No key still points at the merged-away profile.
        Assert.DoesNotContain(harness.Identities.Claims.Values, c => !c.Id.StartsWith("bk:", StringComparison.Ordinal) && c.CustomerId == other);
    }

    [Fact]
    public async Task A_fuzzy_match_candidate_that_does_not_match_is_not_counted_as_updated()
    {
        var harness = new IngestionHarness(now: Now);
        await harness.IngestAsync("web/customers/c.csv", "customer_id,first_name,last_name,birth_date,street,postcode\nW1,Ann,Lee,1980-01-01,1 Main St,94107\n");

        // Same postcode and surname (so the same blocking key nominates W1), but someone else.
        var report = await harness.IngestAsync("callcenter/customers/c.csv",
            "customer_id,first_name,last_name,birth_date,street,postcode\nC2,Bob,Lee,1955-06-06,9 Oak Ave,94107\n");

        Assert.NotEqual((await harness.FindBySourceAsync("web", "W1"))!.Id, (await harness.FindBySourceAsync("callcenter", "C2"))!.Id);
        Assert.Equal((1, 0, 0), (report.CustomersCreated, report.CustomersUpdated, report.CustomersMerged));
    }

    [Fact]
    public async Task A_customer_whose_rows_are_spread_over_many_chunks_is_counted_once()
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 10 }, Now);
        await harness.IngestAsync("web/orders/a.csv", Orders([.. Enumerable.Range(0, 100).Select(i => $"O{i},1,{i % 3},2025-03-01,P1,1,1")]));

        var report = await harness.IngestAsync("web/orders/b.csv", Orders([.. Enumerable.Range(100, 100).Select(i => $"O{i},1,{i % 4},2025-03-02,P1,1,1")]));

        Assert.Equal((1, 3), (report.CustomersCreated, report.CustomersUpdated));
        Assert.Equal(100, report.RowsAccepted);
    }

    [Fact]
    public async Task A_write_that_loses_a_race_keeps_the_other_writer_s_change_and_still_files_the_new_keys()
    {
        var harness = new IngestionHarness(now: Now);
        await harness.IngestAsync("web/customers/c.csv", "customer_id,email,first_name\nW1,ann@example.com,Ann\n");
        var id = (await harness.FindBySourceAsync("web", "W1"))!.Id;
        var raced = false;
        harness.Customers.BeforeWrite = profile =>
        {
            if (raced || profile.Id != id)
            {
                return;
            }
            // Another writer changes the profile between this chunk's read and its write.
            raced = true;
            var stored = harness.Customers.GetAsync(id).GetAwaiter().GetResult()!;
            stored.Value.Attributes["tier"] = "gold";
            Assert.NotNull(harness.Customers.TryReplaceAsync(stored.Value, stored.ETag).GetAwaiter().GetResult());
        };

        var report = await harness.IngestAsync("callcenter/customers/c.csv", "customer_id,email,phone\nC9,ann@example.com,+14155550123\n");

        Assert.True(raced);
        Assert.Equal(IngestionStatus.Completed, report.Status);
        var profile = (await harness.FindBySourceAsync("callcenter", "C9"))!;
        Assert.Equal(id, profile.Id);
        Assert.Equal("gold", profile.Attributes["tier"]);
        Assert.Equal("+14155550123", profile.Contact.Phone);
        // Every key the drop claimed for this profile is on it, so a later merge can repoint them all.
        var claimed = harness.Identities.Claims.Values.Where(c => c.CustomerId == id && !c.Id.StartsWith("bk:", StringComparison.Ordinal)).Select(c => c.Id);
        Assert.All(claimed, key => Assert.Contains(key, profile.MatchKeys));
        Assert.Equal(4, profile.MatchKeys.Count(k => !k.StartsWith("bk:", StringComparison.Ordinal))); // two source ids, email, phone
    }

    [Theory]
    [InlineData(false)] // after the survivor's write, before the keys are repointed
    [InlineData(true)] // after the keys are repointed, before the merged-away profile is marked
    public async Task A_merge_that_crashes_half_way_and_is_run_again_ends_like_a_clean_run(bool afterRepointing)
    {
        async Task<IngestionHarness> PrepareAsync()
        {
            var harness = new IngestionHarness(now: Now);
            await harness.IngestAsync("web/customers/c.csv", "customer_id,email,first_name\nW1,ann@example.com,Ann\n");
            await harness.IngestAsync("callcenter/customers/c.csv", "customer_id,phone,first_name\nC9,+14155550123,Ann\n");
            await harness.IngestAsync("callcenter/orders/o.csv", Orders("X1,1,C9,2025-02-02,P1,1,3"));
            return harness;
        }
        // Rows of both profiles before the row that proves them one person, and after it.
        const string drop = "customer_id,email,phone,first_name\nW1,ann@example.com,,Ann\nC9,,+14155550123,Ann\nA5,ANN@example.com,(415) 555-0123,\nW1,ann@example.com,,Anne\n";
        var clean = await PrepareAsync();
        var cleanReport = await clean.IngestAsync("app/customers/c.csv", drop);

        var crashing = await PrepareAsync();
        if (afterRepointing)
        {
            crashing.Customers.BeforeWrite = p =>
            {
                if (p.MergedInto is not null)
                {
                    throw new IOException("store went away");
                }
            };
        }
        else
        {
            crashing.Identities.BeforeRepoint = _ => throw new IOException("store went away");
        }
        await Assert.ThrowsAsync<IOException>(() => crashing.IngestAsync("app/customers/c.csv", drop));
        crashing.Customers.BeforeWrite = null;
        crashing.Identities.BeforeRepoint = null;

        var rerun = await crashing.Pipeline.IngestAsync("app/customers/c.csv");

        Assert.Equal(IngestionStatus.Completed, rerun.Status);
        // app:W1, app:C9 and app:A5 joined existing profiles (three records merged), and A5 merged the two profiles.
        Assert.Equal(4, cleanReport.CustomersMerged);
        Assert.Equal(
            (cleanReport.RowsRead, cleanReport.RowsAccepted, cleanReport.DuplicatesSkipped, cleanReport.CustomersCreated, cleanReport.CustomersUpdated, cleanReport.CustomersMerged),
            (rerun.RowsRead, rerun.RowsAccepted, rerun.DuplicatesSkipped, rerun.CustomersCreated, rerun.CustomersUpdated, rerun.CustomersMerged));
        Assert.Equal(Snapshot(clean.Customers.All()), Snapshot(crashing.Customers.All()));
        Assert.Equal(clean.Identities.Claims.Values.Select(c => (c.Id, c.CustomerId)).Order(), crashing.Identities.Claims.Values.Select(c => (c.Id, c.CustomerId)).Order());
    }

    [Fact]
    public async Task A_re_run_days_later_judges_future_dates_by_the_first_attempt_s_clock()
    {
        // Dated two days after the first attempt: in the future then (beyond a day's tolerance), in the past at the re-run.
        var tomorrowPlus = Now.AddDays(2).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var csv = Orders("O1,1,C1,2025-03-01,P1,1,3", $"O2,1,C2,{tomorrowPlus},P1,1,3", "O3,1,C3,2025-03-01,P1,1,3");
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 1 }, Now);
        CrashAtWrite(harness, 2);
        await Assert.ThrowsAsync<IOException>(() => harness.IngestAsync("web/orders/o.csv", csv));
        harness.Customers.BeforeWrite = null;
        harness.Time.Advance(TimeSpan.FromDays(5));

        var rerun = await harness.Pipeline.IngestAsync("web/orders/o.csv");

        Assert.Equal(IngestionStatus.Completed, rerun.Status);
        Assert.Equal((3, 2, 1), (rerun.RowsRead, rerun.RowsAccepted, rerun.RowsRejected));
        Assert.Equal(Now, rerun.FirstStartedAt);
        Assert.Equal(Now.AddDays(5), rerun.StartedAt);
    }

    [Fact]
    public async Task Keys_are_stored_only_as_keyed_hashes()
    {
        var harness = new IngestionHarness(now: Now);
        await harness.IngestAsync("web/customers/c.csv", "customer_id,email,phone,first_name,last_name,postcode\nW1,ann@example.com,+14155550123,Ann,Lee,94107\n");

        var stored = JsonSerializer.Serialize(harness.Identities.Claims.Values);
        foreach (var secretValue in new[] { "ann@example.com", "4155550123", "W1", "Lee", "94107" })
        {
            Assert.DoesNotContain(secretValue, stored, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task A_drop_with_an_unknown_entity_is_rejected_without_retries()
    {
        var harness = new IngestionHarness(now: Now);
        var report = await harness.IngestAsync("web/invoices/x.csv", "a,b\n1,2\n");

        Assert.Equal(IngestionStatus.Rejected, report.Status);
        Assert.Contains("invoices", report.Error);
    }

    [Theory]
    [InlineData(1_000_000, "memory")]
    [InlineData(1_000, "spill")]
    public async Task A_customer_whose_rows_are_spread_over_the_drop_is_written_once(long spillBucketBytes, string grouping)
    {
        var spillDirectory = Directory.CreateTempSubdirectory("icrm-spill-test-").FullName;
        var harness = new IngestionHarness(new IngestionOptions
        {
            ChunkSize = 10, SpillBucketBytes = spillBucketBytes, SpillDirectory = spillDirectory,
        }, Now);
        // 200 rows in date order, each of 5 customers every fifth row: 20 chunks of 10 rows in file order would touch every customer.
        var rows = Enumerable.Range(0, 200).Select(i => $"O{i},1,{i % 5},2025-03-{1 + i / 10:00},P1,1,1").ToArray();

        var report = await harness.IngestAsync("web/orders/a.csv", Orders(rows));

        Assert.Equal(grouping, report.Grouping);
        Assert.Equal(5, harness.Customers.Writes);
        Assert.Equal((200, 5, 0), (report.RowsAccepted, report.CustomersCreated, report.CustomersUpdated));
        var profile = (await harness.FindBySourceAsync("web", "3"))!;
        Assert.Equal([.. rows.Where((_, i) => i % 5 == 3).Select(r => r.Split(',')[0])], profile.Orders.Select(o => o.OrderId));
        Assert.Empty(Directory.GetFiles(spillDirectory)); // the spill file is gone
        Directory.Delete(spillDirectory);
    }

    [Fact]
    public async Task A_spilled_drop_ends_with_the_same_profiles_and_counts_as_one_grouped_in_memory()
    {
        // Orders, returns, duplicates, bad rows and several lines per order, for 60 customers spread over the file.
        var rows = Enumerable.Range(0, 900).Select(i => i % 97 == 5
            ? $"X{i},1,{i % 60},not-a-date,P1,1,1"
            : $"O{i / 2},{1 + i % 2},{(i / 2) % 60},2025-0{1 + i % 9}-1{i % 10},P{i % 13},{(i % 31 == 0 ? -1 : 1 + i % 3)},{10 + i % 7}.5{i % 10}").ToList();
        rows.InsertRange(0, rows.Take(40).ToList()); // re-sent lines (duplicates), which also make the start of the file unsorted
        var csv = Orders([.. rows]);
        var inMemory = new IngestionHarness(new IngestionOptions { ChunkSize = 25 }, Now);
        var spilled = new IngestionHarness(new IngestionOptions { ChunkSize = 25, SpillBucketBytes = 1_000 }, Now);

        var a = await inMemory.IngestAsync("web/orders/o.csv", csv);
        var b = await spilled.IngestAsync("web/orders/o.csv", csv);

        Assert.Equal(("memory", "spill"), (a.Grouping, b.Grouping));
        Assert.True(b.SpillBuckets > 5, $"{b.SpillBuckets} buckets");
        Assert.Equal((a.RowsRead, a.RowsAccepted, a.RowsRejected, a.DuplicatesSkipped, a.CustomersCreated, a.StoreWrites),
            (b.RowsRead, b.RowsAccepted, b.RowsRejected, b.DuplicatesSkipped, b.CustomersCreated, b.StoreWrites));
        Assert.Equal((37L, 43L), (a.DuplicatesSkipped, a.RowsRejected)); // 10 bad dates and 30 negative quantities; 3 of them re-sent
        Assert.Equal(60, b.StoreWrites);
        Assert.Equal(Snapshot(inMemory.Customers.All(), withChunkMarkers: false), Snapshot(spilled.Customers.All(), withChunkMarkers: false));
    }

    [Fact]
    public async Task An_export_sorted_by_customer_is_applied_as_read()
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 10, GroupInMemoryRows = 50 }, Now);
        var rows = Enumerable.Range(0, 300).Select(i => $"O{i},1,C{i / 15},2025-03-{1 + i % 28:00},P1,1,1").ToArray();

        var report = await harness.IngestAsync("web/orders/sorted.csv", Orders(rows));

        Assert.Equal("sorted", report.Grouping);
        Assert.Null(report.SpillBuckets);
        Assert.Equal((300, 20), (report.RowsAccepted, report.CustomersCreated));
        Assert.InRange(harness.Customers.Writes, 20, 40); // a customer straddling two chunks is written twice, at most
    }

    [Fact]
    public async Task Customer_rows_keep_file_order_and_chunk_boundaries()
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 3, GroupInMemoryRows = 100 }, Now);
        var csv = "customer_id,email\n" + string.Join('\n', Enumerable.Range(0, 10).Select(i => $"W{i},user{i}@example.com")) + "\n";

        var report = await harness.IngestAsync("web/customers/c.csv", csv);

        Assert.Equal(4, report.Chunks); // 3 + 3 + 3 + 1 rows, as read
        Assert.Equal("file-order", report.Grouping);
        Assert.Equal(10, report.CustomersCreated);
    }

    [Fact]
    public async Task One_store_write_per_customer_per_chunk()
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 100 }, Now);
        var rows = Enumerable.Range(0, 100).Select(i => $"O{i},1,{i % 5},2025-03-01,P1,1,1").ToArray();

        await harness.IngestAsync("web/orders/a.csv", Orders(rows));

        Assert.Equal(5, harness.Customers.Writes);
    }
}
