using iCrm.Core.Identity;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Core.Privacy;

public enum ErasureStatus
{
    /// <summary>Erased by this call.</summary>
    Erased,

    /// <summary>Erased before: the tombstone is returned as it is.</summary>
    AlreadyErased,

    /// <summary>No profile and no tombstone for that id.</summary>
    NotFound,
}

public sealed record ErasureOutcome(ErasureStatus Status, ErasureRecord? Record);

/// <summary>
/// Erases a person (the right to erasure): the surviving profile and every profile merged into it, their match keys
/// (turned into tombstones so later drops naming the person are quarantined as <c>erased_subject</c>), their place in
/// blocking-key candidate lists, their stored predictions (held on the profile) and their rows in quarantine files.
/// </summary>
/// <remarks>
/// No transaction spans these stores, so the steps are ordered to be resumable: the tombstone record is written first
/// (incomplete), then keys, quarantine rows, profiles, and finally the record is marked complete. A crash leaves an
/// incomplete record; the next call finds it and finishes (profiles already deleted: the record's keys suffice, the
/// quarantine was cleaned before any profile was deleted).
/// </remarks>
public sealed class SubjectErasure(ICustomerStore customers, ISubjectErasureStore erasures, IQuarantineEraser quarantine,
    MatchKeyHasher hasher, TimeProvider time)
{
    private const int MaxMergeHops = 8;

    /// <summary>Profiles merged into one another beyond this are not followed (a guard against a corrupt cycle).</summary>
    private const int MaxClusterProfiles = 10_000;

    public async Task<ErasureOutcome> EraseAsync(string customerId, CancellationToken cancellationToken = default)
    {
        var existing = await erasures.GetAsync(customerId, cancellationToken);
        if (existing is { Completed: true })
        {
            return new ErasureOutcome(ErasureStatus.AlreadyErased, existing);
        }
        var survivor = await SurvivorAsync(existing?.ErasedId ?? customerId, cancellationToken);
        if (survivor is null)
        {
            if (existing is null)
            {
                return new ErasureOutcome(ErasureStatus.NotFound, null);
            }
            // Crashed after deleting the profiles: the keys are in the record, the quarantine was cleaned before.
            foreach (var key in existing.Keys)
            {
                await erasures.TombstoneKeyAsync(key, existing.ErasedId, cancellationToken);
            }
            await CompleteAsync(existing, cancellationToken);
            return new ErasureOutcome(ErasureStatus.Erased, existing);
        }

        var cluster = await ClusterAsync(survivor, cancellationToken);
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        var blocking = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var profile in cluster)
        {
            foreach (var key in KeysOf(profile))
            {
                (key.StartsWith("bk:", StringComparison.Ordinal) ? blocking : keys).Add(key);
            }
        }
        var record = new ErasureRecord
        {
            Id = ErasureRecord.IdFor(survivor.Id),
            CustomerId = survivor.Id,
            ErasedId = survivor.Id,
            ErasedIds = [.. cluster.Select(p => p.Id).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            Keys = [.. keys],
            ErasedAt = existing?.ErasedAt ?? time.GetUtcNow(),
            QuarantineRowsRemoved = existing?.QuarantineRowsRemoved ?? 0,
        };
        await erasures.SaveAsync(record, cancellationToken);

        foreach (var key in record.Keys)
        {
            await erasures.TombstoneKeyAsync(key, survivor.Id, cancellationToken);
        }
        foreach (var key in blocking)
        {
            foreach (var id in record.ErasedIds)
            {
                await erasures.RemoveCandidateAsync(key, id, cancellationToken);
            }
        }
        record.QuarantineRowsRemoved += await quarantine.RemoveRowsAsync(ErasedSubjectMatch.Of(cluster), cancellationToken);
        await erasures.SaveAsync(record, cancellationToken);
        // Merged-away profiles first: while the survivor exists, a retry still finds the whole cluster through it.
        foreach (var id in record.ErasedIds.Where(id => id != survivor.Id))
        {
            await erasures.DeleteProfileAsync(id, cancellationToken);
        }
        await erasures.DeleteProfileAsync(survivor.Id, cancellationToken);
        await CompleteAsync(record, cancellationToken);
        return new ErasureOutcome(ErasureStatus.Erased, record);
    }

    /// <summary>Every match key the profile owns or could be found by: its filed keys and the keys of every source id, email,
    /// phone and loyalty id it holds (alternatives included), so no identifier of the person escapes the tombstone.</summary>
    private IEnumerable<string> KeysOf(CustomerProfile profile)
    {
        foreach (var key in profile.MatchKeys)
        {
            yield return key;
        }
        foreach (var identity in profile.Identities)
        {
            if (!string.IsNullOrWhiteSpace(identity.Source) && !string.IsNullOrWhiteSpace(identity.SourceId))
            {
                yield return hasher.SourceKey(identity.Source, identity.SourceId).Value;
            }
        }
        var contact = profile.Contact;
        var values = profile.ContactValues.Select(v => (v.Field, (string?)v.Value))
            .Append(("email", contact.Email)).Append(("phone", contact.Phone)).Append(("loyaltyId", contact.LoyaltyId));
        foreach (var (field, value) in values)
        {
            var key = field switch
            {
                "email" => hasher.EmailKey(value),
                "phone" => hasher.PhoneKey(value),
                "loyaltyId" => hasher.LoyaltyKey(value),
                _ => null,
            };
            if (key is { } k)
            {
                yield return k.Value;
            }
        }
    }

    private async Task CompleteAsync(ErasureRecord record, CancellationToken cancellationToken)
    {
        record.Completed = true;
        // One record per erased id (the survivor's last), so any of them answers with the same tombstone.
        foreach (var id in record.ErasedIds.Where(id => id != record.ErasedId).Append(record.ErasedId))
        {
            var copy = Copy(record);
            copy.Id = ErasureRecord.IdFor(id);
            copy.CustomerId = id;
            await erasures.SaveAsync(copy, cancellationToken);
        }
    }

    private static ErasureRecord Copy(ErasureRecord r) => new()
    {
        Id = r.Id,
        CustomerId = r.CustomerId,
        ErasedId = r.ErasedId,
        ErasedIds = [.. r.ErasedIds],
        Keys = [.. r.Keys],
        ErasedAt = r.ErasedAt,
        QuarantineRowsRemoved = r.QuarantineRowsRemoved,
        Completed = r.Completed,
    };

    private async Task<CustomerProfile?> SurvivorAsync(string id, CancellationToken cancellationToken)
    {
        for (var hop = 0; hop < MaxMergeHops; hop++)
        {
            var stored = await customers.GetAsync(id, cancellationToken);
            if (stored is null)
            {
                return null;
            }
            if (stored.Value.MergedInto is not { } next)
            {
                return stored.Value;
            }
            id = next;
        }
        return null;
    }

    /// <summary>The survivor and every profile merged into it (transitively): merged-away documents keep the data they had.</summary>
    private async Task<List<CustomerProfile>> ClusterAsync(CustomerProfile survivor, CancellationToken cancellationToken)
    {
        var cluster = new List<CustomerProfile> { survivor };
        var seen = new HashSet<string>(StringComparer.Ordinal) { survivor.Id };
        for (var i = 0; i < cluster.Count && cluster.Count < MaxClusterProfiles; i++)
        {
            foreach (var id in cluster[i].MergedFrom)
            {
                if (seen.Add(id) && await customers.GetAsync(id, cancellationToken) is { } merged)
                {
                    cluster.Add(merged.Value);
                }
            }
        }
        return cluster;
    }
}
