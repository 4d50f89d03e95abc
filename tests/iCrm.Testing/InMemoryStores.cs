using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;

namespace iCrm.Testing;

/// <summary>Documents are stored as JSON so callers never share mutable objects with the store (as with a real one).</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static T Copy<T>(T value) => JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(value, Options), Options)!;
}

public sealed class InMemoryCustomerStore : ICustomerStore
{
    private readonly ConcurrentDictionary<string, (string Json, string ETag)> _items = new();
    private long _version;

    public int Writes;

    /// <summary>Called before each write; throw from it to inject a fault.</summary>
    public Action<CustomerProfile>? BeforeWrite { get; set; }

    public IReadOnlyCollection<string> Ids => [.. _items.Keys];

    public Task<Versioned<CustomerProfile>?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_items.TryGetValue(id, out var item)
            ? new Versioned<CustomerProfile>(JsonSerializer.Deserialize<CustomerProfile>(item.Json, Json.Options)!, item.ETag)
            : null);

    public Task<string?> TryCreateAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        BeforeWrite?.Invoke(profile);
        var etag = NextETag();
        Interlocked.Increment(ref Writes);
        return Task.FromResult(_items.TryAdd(profile.Id, (JsonSerializer.Serialize(profile, Json.Options), etag)) ? etag : null);
    }

    public Task<string?> TryReplaceAsync(CustomerProfile profile, string etag, CancellationToken cancellationToken = default)
    {
        BeforeWrite?.Invoke(profile);
        if (!_items.TryGetValue(profile.Id, out var current) || current.ETag != etag)
        {
            return Task.FromResult<string?>(null);
        }
        var next = NextETag();
        Interlocked.Increment(ref Writes);
        return Task.FromResult(_items.TryUpdate(profile.Id, (JsonSerializer.Serialize(profile, Json.Options), next), current) ? next : null);
    }

    public Task<Page<CustomerProfile>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default)
    {
        var all = Live().OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
        var start = continuationToken is null ? 0 : int.Parse(continuationToken, System.Globalization.CultureInfo.InvariantCulture);
        var items = all.Skip(start).Take(pageSize).ToList();
        var next = start + items.Count < all.Count ? (start + items.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return Task.FromResult(new Page<CustomerProfile>(items, next));
    }

    public async IAsyncEnumerable<CustomerProfile> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var profile in Live())
        {
            yield return profile;
        }
        await Task.CompletedTask;
    }

    /// <summary>Deletes a profile (erasure); false when there was none.</summary>
    public bool Remove(string id) => _items.TryRemove(id, out _);
    /// <summary>The reference meaning of a list (<see cref="CustomerListQuery.Matches"/>), highest score first, ties by id;
    /// tokens are offsets.</summary>
    public Task<Page<CustomerProfile>> QueryAsync(CustomerListQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default)
    {
        var matches = Live().Where(query.Matches);
        var ordered = query.Sort == CustomerSort.None
            ? matches.OrderBy(p => p.Id, StringComparer.Ordinal)
            : matches.OrderByDescending(query.SortValue).ThenBy(p => p.Id, StringComparer.Ordinal);
        var all = ordered.ToList();
        var start = continuationToken is null ? 0 : int.Parse(continuationToken, System.Globalization.CultureInfo.InvariantCulture);
        var items = all.Skip(start).Take(pageSize).ToList();
        var next = start + items.Count < all.Count ? (start + items.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return Task.FromResult(new Page<CustomerProfile>(items, next));
    }

    public Task<long> CountAsync(CustomerListQuery query, CancellationToken cancellationToken = default) =>
        Task.FromResult((long)Live().Count(query.Matches));

    /// <summary>Only the slice's documents are deserialized (the ids are the dictionary's keys).</summary>
    public async IAsyncEnumerable<Versioned<CustomerProfile>> ReadSliceAsync(CustomerSlice slice, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var (id, item) in _items)
        {
            if (slice.Contains(id) && JsonSerializer.Deserialize<CustomerProfile>(item.Json, Json.Options) is { MergedInto: null } profile)
            {
                yield return new Versioned<CustomerProfile>(profile, item.ETag);
            }
        }
        await Task.CompletedTask;
    }

    public IEnumerable<CustomerProfile> All() =>
        _items.Values.Select(v => JsonSerializer.Deserialize<CustomerProfile>(v.Json, Json.Options)!);

    private IEnumerable<CustomerProfile> Live() => All().Where(p => p.MergedInto is null);

    private string NextETag() => $"\"{Interlocked.Increment(ref _version)}\"";
}

public sealed class InMemoryIdentityStore : IIdentityStore
{
    private readonly ConcurrentDictionary<string, IdentityClaim> _claims = new();

    public IReadOnlyDictionary<string, IdentityClaim> Claims => _claims;

    public Task<IdentityClaim?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _pointReads);
        return Task.FromResult(_claims.TryGetValue(key, out var claim) ? claim : null);
    }

    /// <summary>Single-key reads made (<see cref="GetAsync"/>).</summary>
    public int PointReads => _pointReads;

    /// <summary>Batched reads made (each <see cref="GetManyAsync"/> call counts once), for tests of the batched path.</summary>
    public int BatchReads => _batchReads;

    /// <summary>Makes batched reads answer "no such key" for every key: as if other drops claimed them all right after
    /// the batch was read (the race a batched lookup must survive).</summary>
    public bool StaleBatchReads { get; set; }

    private int _pointReads;
    private int _batchReads;

    public Task<IReadOnlyDictionary<string, IdentityClaim>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _batchReads);
        var found = new Dictionary<string, IdentityClaim>(StringComparer.Ordinal);
        foreach (var key in StaleBatchReads ? [] : keys)
        {
            if (_claims.TryGetValue(key, out var claim))
            {
                found[key] = claim;
            }
        }
        return Task.FromResult<IReadOnlyDictionary<string, IdentityClaim>>(found);
    }

    /// <summary>Writes a claim as it is (erasure tombstones, candidate lists).</summary>
    public void Put(IdentityClaim claim) => _claims[claim.Id] = claim;

    public bool Remove(string key) => _claims.TryRemove(key, out _);

    public Task<string> ClaimAsync(string key, string kind, string customerId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_claims.GetOrAdd(key, new IdentityClaim(key, customerId, kind)).CustomerId);

    /// <summary>Called before each repoint; throw from it to inject a fault.</summary>
    public Action<string>? BeforeRepoint { get; set; }

    public Task RepointAsync(string key, string kind, string customerId, CancellationToken cancellationToken = default)
    {
        BeforeRepoint?.Invoke(key);
        _claims.AddOrUpdate(key, new IdentityClaim(key, customerId, kind), (_, old) => old with { CustomerId = customerId });
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(string key, string customerId, CancellationToken cancellationToken = default)
    {
        if (_claims.TryGetValue(key, out var claim) && claim.CustomerId == customerId && claim.Candidates is null)
        {
            _claims.TryRemove(KeyValuePair.Create(key, claim)); // only this claim: not one that changed meanwhile
        }
        return Task.CompletedTask;
    }

    public Task AddCandidateAsync(string key, string customerId, int maxCandidates, CancellationToken cancellationToken = default)
    {
        _claims.AddOrUpdate(key, new IdentityClaim(key, customerId, "block", [customerId]), (_, old) =>
        {
            var candidates = new List<string>(old.Candidates ?? []);
            if (!candidates.Contains(customerId))
            {
                candidates.Add(customerId);
            }
            if (candidates.Count > maxCandidates)
            {
                candidates.RemoveRange(0, candidates.Count - maxCandidates);
            }
            return old with { Candidates = candidates };
        });
        return Task.CompletedTask;
    }
}

public sealed class InMemoryIngestionLedger : IIngestionLedger
{
    private readonly ConcurrentDictionary<string, string> _reports = new();

    public Task<Versioned<IngestionReport>?> GetAsync(string dropId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_reports.TryGetValue(dropId, out var json)
            ? new Versioned<IngestionReport>(JsonSerializer.Deserialize<IngestionReport>(json, Json.Options)!, "\"1\"")
            : null);

    public Task UpsertAsync(IngestionReport report, CancellationToken cancellationToken = default)
    {
        _reports[report.Id] = JsonSerializer.Serialize(report, Json.Options);
        return Task.CompletedTask;
    }

    public Task<Page<IngestionReport>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        Task.FromResult(new Page<IngestionReport>(
            [.. _reports.Values.Select(j => JsonSerializer.Deserialize<IngestionReport>(j, Json.Options)!).OrderByDescending(r => r.StartedAt).Take(pageSize)], null));
}

public sealed class InMemoryQuarantine : IQuarantine, IRejectedRows
{
    public ConcurrentDictionary<string, List<RowRejection>> Rejected { get; } = new();

    public ConcurrentDictionary<string, IngestionReport> Reports { get; } = new();

    public Task<string> BeginAsync(string dropId, CancellationToken cancellationToken = default)
    {
        Rejected[dropId] = [];
        return Task.FromResult($"quarantine/{dropId}/rejected.jsonl");
    }

    public Task AppendRejectedAsync(string dropId, IReadOnlyList<RowRejection> rejections, CancellationToken cancellationToken = default)
    {
        lock (Rejected)
        {
            Rejected.GetOrAdd(dropId, _ => []).AddRange(rejections);
        }
        return Task.CompletedTask;
    }

    public Task<string> WriteReportAsync(IngestionReport report, CancellationToken cancellationToken = default)
    {
        Reports[report.Id] = Json.Copy(report);
        return Task.FromResult($"quarantine/{report.Id}/report.json");
    }

    public Task<IReadOnlyList<RowRejection>?> ReadAsync(string dropId, int max, CancellationToken cancellationToken = default)
    {
        lock (Rejected)
        {
            return Task.FromResult<IReadOnlyList<RowRejection>?>(Rejected.TryGetValue(dropId, out var rows) ? [.. rows.Take(max)] : null);
        }
    }
}

/// <summary>Audit entries in memory, keyed as in Cosmos: an id is unique within one customer's entries.</summary>
public sealed class InMemoryAuditLog : IAuditLog
{
    /// <summary>The entries by <c>{customerId}/{id}</c>.</summary>
    public ConcurrentDictionary<string, AuditEntry> Entries { get; } = new();

    /// <summary>Calls of <see cref="TryCreateAsync"/> that found the entry there already.</summary>
    public int CreatesRefused => _createsRefused;

    private int _createsRefused;

    private static string Key(AuditEntry entry) => $"{entry.CustomerId}/{entry.Id}";

    public Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        Entries[Key(entry)] = entry;
        return Task.CompletedTask;
    }

    public Task<bool> TryCreateAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        var created = Entries.TryAdd(Key(entry), entry);
        if (!created)
        {
            Interlocked.Increment(ref _createsRefused);
        }
        return Task.FromResult(created);
    }

    public Task<IReadOnlyList<AuditEntry>> ListAsync(string customerId, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<AuditEntry>>([.. Entries.Values.Where(e => e.CustomerId == customerId).OrderBy(e => e.At)]);

    public Task<Page<AuditEntry>> QueryAsync(AuditQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default)
    {
        var offset = continuationToken is null ? 0 : int.Parse(continuationToken, System.Globalization.CultureInfo.InvariantCulture);
        var matching = Entries.Values.Where(query.Matches).OrderByDescending(e => e.At).ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
        var items = matching.Skip(offset).Take(pageSize).ToList();
        var next = offset + items.Count < matching.Count ? (offset + items.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return Task.FromResult(new Page<AuditEntry>(items, next));
    }
}

/// <summary>Drops held in memory; each upload gets a new ETag, as a blob would.</summary>
public sealed class InMemoryDropSource : IDropSource
{
    private readonly ConcurrentDictionary<string, (byte[] Content, string ETag)> _blobs = new();
    private long _version;

    /// <summary>Wraps the stream a drop is read from, e.g. to fail half-way.</summary>
    public Func<Stream, Stream>? WrapStream { get; set; }

    public string Put(string path, byte[] content)
    {
        var etag = $"0x{Interlocked.Increment(ref _version):X}";
        _blobs[path] = (content, etag);
        return etag;
    }

    public string Put(string path, string content) => Put(path, System.Text.Encoding.UTF8.GetBytes(content));

    public Task<DropBlob?> GetAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult(_blobs.TryGetValue(path, out var blob) ? new DropBlob("drops", path, blob.ETag, blob.Content.Length) : null);

    public Task<Stream> OpenReadAsync(DropBlob blob, CancellationToken cancellationToken = default)
    {
        Stream stream = new MemoryStream(_blobs[blob.Path].Content, writable: false);
        return Task.FromResult(WrapStream?.Invoke(stream) ?? stream);
    }
}

public sealed class InMemoryModelRegistry : IModelRegistry, ITrainingLease, ITrainingRunLog
{
    private readonly ConcurrentDictionary<string, (ChampionPointer Pointer, string ETag)> _champions = new();
    private readonly ConcurrentDictionary<string, (ModelCard Card, byte[] Bundle)> _versions = new();
    private readonly ConcurrentDictionary<string, string> _runs = new();
    private readonly SemaphoreSlim _lease = new(1, 1);
    private long _etag;

    public Task<Versioned<ChampionPointer>?> GetChampionAsync(string kind, CancellationToken cancellationToken = default) =>
        Task.FromResult(_champions.TryGetValue(kind, out var c) ? new Versioned<ChampionPointer>(c.Pointer, c.ETag) : null);

    public async Task PublishAsync(ModelCard card, Stream bundle, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await bundle.CopyToAsync(buffer, cancellationToken);
        _versions[$"{card.Kind}/{card.Version}"] = (card, buffer.ToArray());
    }

    /// <summary>Overwrites a published bundle, e.g. with garbage to test that a broken model never serves.</summary>
    public void Corrupt(string kind, string version, byte[] bundle) =>
        _versions[$"{kind}/{version}"] = (_versions[$"{kind}/{version}"].Card, bundle);

    public Task<Stream?> OpenBundleAsync(string kind, string version, CancellationToken cancellationToken = default) =>
        Task.FromResult<Stream?>(_versions.TryGetValue($"{kind}/{version}", out var v) ? new MemoryStream(v.Bundle) : null);

    public Task<ModelCard?> GetCardAsync(string kind, string version, CancellationToken cancellationToken = default) =>
        Task.FromResult(_versions.TryGetValue($"{kind}/{version}", out var v) ? v.Card : null);

    public Task<IReadOnlyList<string>> ListVersionsAsync(string kind, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<string>>([.. _versions.Keys.Where(k => k.StartsWith(kind + "/", StringComparison.Ordinal)).Select(k => k[(kind.Length + 1)..]).Order()]);

    public Task<bool> TryPromoteAsync(ChampionPointer champion, string? expectedETag, CancellationToken cancellationToken = default)
    {
        lock (_champions)
        {
            var exists = _champions.TryGetValue(champion.Kind, out var current);
            if ((expectedETag is null && exists) || (expectedETag is not null && (!exists || current.ETag != expectedETag)))
            {
                return Task.FromResult(false);
            }
            _champions[champion.Kind] = (champion, $"\"{Interlocked.Increment(ref _etag)}\"");
            return Task.FromResult(true);
        }
    }

    public async Task<IAsyncDisposable?> TryAcquireAsync(CancellationToken cancellationToken = default) =>
        await _lease.WaitAsync(0, cancellationToken) ? new Release(_lease) : null;

    public Task SaveAsync(TrainingRunRecord run, CancellationToken cancellationToken = default)
    {
        _runs[run.RunId] = JsonSerializer.Serialize(run, Json.Options);
        return Task.CompletedTask;
    }

    public Task<TrainingRunRecord?> GetAsync(string runId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_runs.TryGetValue(runId, out var json) ? JsonSerializer.Deserialize<TrainingRunRecord>(json, Json.Options) : null);

    private sealed class Release(SemaphoreSlim lease) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            lease.Release();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>Review candidates in memory, serialised like a store would (callers get copies); pages by a numeric offset token.</summary>
public sealed class InMemoryMergeReviewStore : IMergeReviewStore
{
    private readonly ConcurrentDictionary<string, string> _reviews = new();

    public int Count => _reviews.Count;

    public IReadOnlyList<MergeReview> All() => [.. _reviews.Values.Select(j => JsonSerializer.Deserialize<MergeReview>(j, Json.Options)!)];

    public Task UpsertAsync(MergeReview review, CancellationToken cancellationToken = default)
    {
        _reviews[review.Id] = JsonSerializer.Serialize(review, Json.Options);
        return Task.CompletedTask;
    }

    public Task<Page<MergeReview>> ListAsync(string status, int pageSize, string? continuationToken, CancellationToken cancellationToken = default)
    {
        var offset = continuationToken is null ? 0 : int.Parse(continuationToken, System.Globalization.CultureInfo.InvariantCulture);
        var matching = All().Where(r => r.Status == status).OrderByDescending(r => r.At).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
        var items = matching.Skip(offset).Take(pageSize).ToList();
        var next = offset + items.Count < matching.Count ? (offset + items.Count).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return Task.FromResult(new Page<MergeReview>(items, next));
    }
}
