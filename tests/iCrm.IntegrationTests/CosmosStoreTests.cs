using iCrm.Azure.Store;
using iCrm.Core.Profiles;

namespace iCrm.IntegrationTests;

public sealed class CosmosStoreTests
{
    private readonly CosmosCustomerStore _customers = new(LocalStack.CosmosContainers());
    private readonly CosmosIdentityStore _identities = new(LocalStack.CosmosContainers());

    private static CustomerProfile Profile(string id) => new()
    {
        Id = id,
        CreatedAt = DateTimeOffset.UtcNow,
        Contact = new ContactDetails { FirstName = "Ada" },
        Orders = [new OrderLine("o-1", 1, DateTimeOffset.UtcNow.AddDays(-3), "p-1", 1, 9.5m, "web", false)],
    };

    [Fact]
    public async Task A_profile_round_trips_with_System_Text_Json_and_a_second_create_is_refused()
    {
        var id = "c" + LocalStack.Unique();
        Assert.NotNull(await _customers.TryCreateAsync(Profile(id)));
        Assert.Null(await _customers.TryCreateAsync(Profile(id)));

        var stored = await _customers.GetAsync(id);

        Assert.NotNull(stored);
        Assert.Equal("Ada", stored.Value.Contact.FirstName);
        Assert.Equal(9.5m, Assert.Single(stored.Value.Orders).Amount);
        Assert.False(string.IsNullOrEmpty(stored.ETag));
    }

    [Fact]
    public async Task Reading_a_missing_profile_gives_null()
    {
        Assert.Null(await _customers.GetAsync("c-missing-" + LocalStack.Unique()));
    }

    [Fact]
    public async Task Replace_with_a_stale_ETag_is_refused_so_no_update_is_lost()
    {
        var id = "c" + LocalStack.Unique();
        var etag = await _customers.TryCreateAsync(Profile(id));
        var first = (await _customers.GetAsync(id))!.Value;
        first.Attributes["tier"] = "gold";
        var newETag = await _customers.TryReplaceAsync(first, etag!);
        Assert.NotNull(newETag);

        first.Attributes["tier"] = "silver";
        Assert.Null(await _customers.TryReplaceAsync(first, etag!));
        Assert.Equal("gold", (await _customers.GetAsync(id))!.Value.Attributes["tier"]);
    }

    [Fact]
    public async Task Listing_pages_through_every_profile_with_continuation_tokens()
    {
        for (var i = 0; i < 5; i++)
        {
            await _customers.TryCreateAsync(Profile("c" + LocalStack.Unique()));
        }
        var seen = new HashSet<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await _customers.ListAsync(2, token);
            Assert.True(page.Items.Count <= 2);
            foreach (var item in page.Items)
            {
                Assert.True(seen.Add(item.Id), $"{item.Id} was listed twice");
            }
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null && pages < 10_000);
        Assert.True(pages >= 3);
        var all = new HashSet<string>();
        await foreach (var profile in _customers.ReadAllAsync())
        {
            all.Add(profile.Id);
        }
        Assert.Equal(all, seen);
    }

    [Fact]
    public async Task Merged_away_profiles_are_not_listed()
    {
        var id = "c" + LocalStack.Unique();
        var profile = Profile(id);
        profile.MergedInto = "c-survivor";
        await _customers.TryCreateAsync(profile);

        await foreach (var live in _customers.ReadAllAsync())
        {
            Assert.NotEqual(id, live.Id);
        }
    }

    [Fact]
    public async Task A_batched_read_returns_the_claims_that_exist_and_leaves_out_the_others()
    {
        // More keys than one ReadMany call takes (500), duplicates included: every batch's answers are merged.
        var keys = Enumerable.Range(0, 1100).Select(i => $"em:{LocalStack.Unique()}-{i}").ToList();
        foreach (var (key, i) in keys.Select((k, i) => (k, i)).Where(p => p.i % 3 == 0))
        {
            await _identities.ClaimAsync(key, "em", $"c-{i}");
        }

        var block = "blk:" + LocalStack.Unique();
        await _identities.AddCandidateAsync(block, "c-a", maxCandidates: 3);
        await _identities.AddCandidateAsync(block, "c-b", maxCandidates: 3);

        var found = await _identities.GetManyAsync([.. keys, keys[3], block, "em:missing-" + LocalStack.Unique()]);

        Assert.Equal(["c-a", "c-b"], found[block].Candidates);
        Assert.Equal("block", found[block].Kind);
        found = found.Where(f => f.Key != block).ToDictionary();
        Assert.Equal(keys.Where((_, i) => i % 3 == 0).Order(StringComparer.Ordinal), found.Keys.Order(StringComparer.Ordinal));
        Assert.All(found, f => Assert.Equal($"c-{keys.IndexOf(f.Key)}", f.Value.CustomerId));
        Assert.All(found, f => Assert.Equal("em", f.Value.Kind));
        Assert.Empty(await _identities.GetManyAsync([]));
    }

    [Fact]
    public async Task Concurrent_claims_of_one_match_key_agree_on_a_single_owner()
    {
        var key = "em:" + LocalStack.Unique();
        var owners = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => _identities.ClaimAsync(key, "em", $"c-{i}")));

        Assert.Single(owners.Distinct());
        Assert.Equal(owners[0], (await _identities.GetAsync(key))!.CustomerId);
    }

    [Fact]
    public async Task Audit_entries_are_read_back_from_their_customers_partition_only()
    {
        var audit = new CosmosAuditLog(LocalStack.CosmosContainers(), Microsoft.Extensions.Options.Options.Create(new AuditOptions()));
        var customer = "c" + LocalStack.Unique();
        var other = "c" + LocalStack.Unique();
        await audit.WriteAsync(new iCrm.Core.Storage.AuditEntry($"a-{LocalStack.Unique()}", customer, "merge", "ingest", DateTimeOffset.UtcNow.AddMinutes(-1), "Email", other));
        await audit.WriteAsync(new iCrm.Core.Storage.AuditEntry($"a-{LocalStack.Unique()}", customer, "read", "api", DateTimeOffset.UtcNow));
        await audit.WriteAsync(new iCrm.Core.Storage.AuditEntry($"a-{LocalStack.Unique()}", other, "read", "api", DateTimeOffset.UtcNow));

        var entries = await audit.ListAsync(customer);

        Assert.Equal(["merge", "read"], entries.Select(e => e.Action));
        Assert.All(entries, e => Assert.Equal(customer, e.CustomerId));
    }

    [Fact]
    public async Task Review_candidates_are_upserted_by_pair_and_listed_by_status_newest_first_in_pages()
    {
        var reviews = new CosmosMergeReviewStore(LocalStack.CosmosContainers());
        var candidate = "c" + LocalStack.Unique();
        var start = DateTimeOffset.UtcNow.AddYears(50); // newer than anything other tests wrote
        for (var i = 0; i < 3; i++)
        {
            await reviews.UpsertAsync(new iCrm.Core.Storage.MergeReview
            {
                Id = iCrm.Core.Storage.MergeReview.IdFor($"src:{i}", candidate),
                RecordKey = $"src:{i}",
                CustomerId = $"c-{i}",
                CandidateId = candidate,
                Reason = "ConflictingIdentifiers",
                Score = 20 + i,
                Evidence = [new iCrm.Core.Storage.MergeReviewEvidence("Email", "Disagree", -3.64)],
                At = start.AddMinutes(i),
            });
        }
        // The same pair again replaces its review.
        await reviews.UpsertAsync(new iCrm.Core.Storage.MergeReview
        {
            Id = iCrm.Core.Storage.MergeReview.IdFor("src:0", candidate),
            RecordKey = "src:0",
            CustomerId = "c-0",
            CandidateId = candidate,
            Reason = "NamesOnly",
            At = start.AddMinutes(-1),
        });

        var first = await reviews.ListAsync("review", 2, null);
        var second = await reviews.ListAsync("review", 2, first.ContinuationToken);

        Assert.Equal(["c-2", "c-1"], first.Items.Select(r => r.CustomerId));
        Assert.Equal("Disagree", first.Items[0].Evidence.Single().Level);
        Assert.NotNull(first.ContinuationToken);
        var again = second.Items.Where(r => r.CandidateId == candidate).ToList();
        Assert.Equal("NamesOnly", Assert.Single(again).Reason);
    }

    [Fact]
    public async Task Blocking_keys_keep_a_bounded_list_of_candidates()
    {
        var key = "bk:" + LocalStack.Unique();
        for (var i = 0; i < 5; i++)
        {
            await _identities.AddCandidateAsync(key, $"c-{i}", maxCandidates: 3);
        }
        await _identities.AddCandidateAsync(key, "c-4", maxCandidates: 3);

        Assert.Equal(["c-2", "c-3", "c-4"], (await _identities.GetAsync(key))!.Candidates);
    }
}
