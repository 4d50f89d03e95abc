using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Benchmarks;

/// <summary>Profiles kept by reference, with ETag checks but no copies: the store costs nothing, so a benchmark measures
/// the pipeline's or the trainer's own work, not serialisation.</summary>
public sealed class ReferenceCustomerStore : ICustomerStore
{
    private readonly ConcurrentDictionary<string, (CustomerProfile Profile, string ETag)> _items = new();
    private long _version;

    public ReferenceCustomerStore(IEnumerable<CustomerProfile>? profiles = null)
    {
        foreach (var profile in profiles ?? [])
        {
            _items[profile.Id] = (profile, NextETag());
        }
    }

    public Task<Versioned<CustomerProfile>?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_items.TryGetValue(id, out var item) ? new Versioned<CustomerProfile>(item.Profile, item.ETag) : null);

    public Task<string?> TryCreateAsync(CustomerProfile profile, CancellationToken cancellationToken = default)
    {
        var etag = NextETag();
        return Task.FromResult(_items.TryAdd(profile.Id, (profile, etag)) ? etag : null);
    }

    public Task<string?> TryReplaceAsync(CustomerProfile profile, string etag, CancellationToken cancellationToken = default)
    {
        var next = NextETag();
        return Task.FromResult(_items.TryGetValue(profile.Id, out var current) && current.ETag == etag
            && _items.TryUpdate(profile.Id, (profile, next), current) ? next : null);
    }

    public Task<Page<CustomerProfile>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        Task.FromResult(new Page<CustomerProfile>([.. _items.Values.Select(v => v.Profile).Take(pageSize)], null));

    public async IAsyncEnumerable<CustomerProfile> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var item in _items.Values)
        {
            if (item.Profile.MergedInto is null)
            {
                yield return item.Profile;
            }
        }
        await Task.CompletedTask;
    }

    public Task<Page<CustomerProfile>> QueryAsync(CustomerListQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        Task.FromResult(new Page<CustomerProfile>([.. _items.Values.Select(v => v.Profile).Where(query.Matches).Take(pageSize)], null));

    public Task<long> CountAsync(CustomerListQuery query, CancellationToken cancellationToken = default) =>
        Task.FromResult((long)_items.Values.Count(v => query.Matches(v.Profile)));

    private string NextETag() => Interlocked.Increment(ref _version).ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A store that keeps nothing in this process, as Cosmos DB keeps nothing in the function's memory: writes succeed and
/// are counted, reads find nothing. With an export sorted by customer, where each customer's rows fall in one chunk, the
/// pipeline never reads a profile back, so its work is exactly that of a real run; what this store leaves out is the
/// garbage-collection cost of holding every profile of the drop in the benchmark's own heap, which a real run never has.
/// Every 1,000 writes it samples the managed heap (<see cref="PeakHeap"/>).
/// </summary>
public sealed class WriteOnlyCustomerStore : ICustomerStore
{
    private long _writes;

    public long Writes => Interlocked.Read(ref _writes);

    public long PeakHeap { get; private set; }

    public Task<Versioned<CustomerProfile>?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult<Versioned<CustomerProfile>?>(null);

    public Task<string?> TryCreateAsync(CustomerProfile profile, CancellationToken cancellationToken = default) => WriteAsync();

    public Task<string?> TryReplaceAsync(CustomerProfile profile, string etag, CancellationToken cancellationToken = default) => WriteAsync();

    private Task<string?> WriteAsync()
    {
        var writes = Interlocked.Increment(ref _writes);
        if (writes % 1000 == 0)
        {
            PeakHeap = Math.Max(PeakHeap, GC.GetTotalMemory(false));
        }
        return Task.FromResult<string?>(writes.ToString(CultureInfo.InvariantCulture));
    }

    public Task<Page<CustomerProfile>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        Task.FromResult(new Page<CustomerProfile>([], null));

    public async IAsyncEnumerable<CustomerProfile> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        yield break;
    }

    public Task<Page<CustomerProfile>> QueryAsync(CustomerListQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        Task.FromResult(new Page<CustomerProfile>([], null));

    public Task<long> CountAsync(CustomerListQuery query, CancellationToken cancellationToken = default) => Task.FromResult(0L);
}
