using iCrm.Core.Identity;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using Microsoft.Extensions.Time.Testing;

namespace iCrm.Testing;

/// <summary>The real ingestion pipeline over in-memory stores, with a controllable clock.</summary>
public sealed class IngestionHarness
{
    public const string Secret = "harness-pii-key-0123456789abcdef";

    public IngestionHarness(IngestionOptions? options = null, DateTimeOffset? now = null, ProfileHistoryOptions? history = null,
        MatchOptions? matching = null)
    {
        Time = new FakeTimeProvider(now ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Options = options ?? new IngestionOptions();
        Hasher = new MatchKeyHasher(Secret);
        Resolver = new CustomerResolver(Identities, Hasher, new IdentityResolver(new ProbabilisticMatcher(matching ?? new MatchOptions())), Time, Reviews);
        Pipeline = new IngestionPipeline(Drops, Resolver, Customers, Identities, Ledger, Quarantine, Audit,
            new ProfileHistory(history ?? new ProfileHistoryOptions()), Options, Time);
    }

    public FakeTimeProvider Time { get; }
    public IngestionOptions Options { get; }
    public MatchKeyHasher Hasher { get; }
    public CustomerResolver Resolver { get; }
    public IngestionPipeline Pipeline { get; }
    public InMemoryCustomerStore Customers { get; } = new();
    public InMemoryIdentityStore Identities { get; } = new();
    public InMemoryIngestionLedger Ledger { get; } = new();
    public InMemoryQuarantine Quarantine { get; } = new();
    public InMemoryAuditLog Audit { get; } = new();
    public InMemoryMergeReviewStore Reviews { get; } = new();
    public InMemoryDropSource Drops { get; } = new();

    public Task<IngestionReport> IngestAsync(string path, string content)
    {
        Drops.Put(path, content);
        return Pipeline.IngestAsync(path);
    }

    public Task<IngestionReport> IngestAsync(string path, byte[] content)
    {
        Drops.Put(path, content);
        return Pipeline.IngestAsync(path);
    }

    /// <summary>The live profile a source's customer id resolved to (following merges).</summary>
    public async Task<CustomerProfile?> FindBySourceAsync(string source, string sourceId)
    {
        var claim = await Identities.GetAsync(Hasher.SourceKey(source, sourceId).Value);
        var id = claim?.CustomerId;
        for (var hop = 0; id is not null && hop < 8; hop++)
        {
            var profile = (await Customers.GetAsync(id))?.Value;
            if (profile?.MergedInto is null)
            {
                return profile;
            }
            id = profile.MergedInto;
        }
        return null;
    }
}
