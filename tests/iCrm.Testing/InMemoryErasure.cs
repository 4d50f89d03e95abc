using System.Collections.Concurrent;
using System.Text.Json;
using iCrm.Core.Drops;
using iCrm.Core.Privacy;
using iCrm.Core.Storage;

namespace iCrm.Testing;

/// <summary>Erasure writes over the in-memory customers and identities, as the Cosmos store does them over the containers.</summary>
public sealed class InMemorySubjectErasureStore(InMemoryCustomerStore customers, InMemoryIdentityStore identities) : ISubjectErasureStore
{
    private readonly ConcurrentDictionary<string, string> _records = new();

    public IReadOnlyCollection<string> RecordIds => [.. _records.Keys];

    /// <summary>Called before each profile deletion; throw from it to inject a crash half-way.</summary>
    public Action<string>? BeforeDelete { get; set; }

    public Task<ErasureRecord?> GetAsync(string customerId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_records.TryGetValue(ErasureRecord.IdFor(customerId), out var json)
            ? JsonSerializer.Deserialize<ErasureRecord>(json, Json.Options)
            : null);

    public Task SaveAsync(ErasureRecord record, CancellationToken cancellationToken = default)
    {
        _records[record.Id] = JsonSerializer.Serialize(record, Json.Options);
        return Task.CompletedTask;
    }

    public Task TombstoneKeyAsync(string key, string customerId, CancellationToken cancellationToken = default)
    {
        identities.Put(new IdentityClaim(key, customerId, ErasedKeys.Kind));
        return Task.CompletedTask;
    }

    public Task RemoveCandidateAsync(string blockingKey, string customerId, CancellationToken cancellationToken = default)
    {
        if (identities.Claims.TryGetValue(blockingKey, out var claim) && claim.Candidates is { } candidates && candidates.Contains(customerId))
        {
            var rest = candidates.Where(c => c != customerId).ToList();
            if (rest.Count == 0)
            {
                identities.Remove(blockingKey);
            }
            else
            {
                identities.Put(claim with { Candidates = rest });
            }
        }
        return Task.CompletedTask;
    }

    public Task DeleteProfileAsync(string customerId, CancellationToken cancellationToken = default)
    {
        BeforeDelete?.Invoke(customerId);
        customers.Remove(customerId);
        return Task.CompletedTask;
    }
}

/// <summary>Removes an erased person's rows from the in-memory quarantine, matched as the blob quarantine matches them.</summary>
public sealed class InMemoryQuarantineEraser(InMemoryQuarantine quarantine) : IQuarantineEraser
{
    public Task<int> RemoveRowsAsync(ErasedSubjectMatch subject, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        lock (quarantine.Rejected)
        {
            foreach (var (dropId, rows) in quarantine.Rejected)
            {
                var source = quarantine.Reports.TryGetValue(dropId, out var report) && report.Source is { Length: > 0 } s ? s : null;
                removed += rows.RemoveAll(r => subject.Names(source, r.RawText));
            }
        }
        return Task.FromResult(removed);
    }
}
