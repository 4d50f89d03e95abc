using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Core.Ingestion;

/// <summary>
/// The profiles one chunk of a drop touches, loaded once, changed in memory, and written once each at the end
/// (one Cosmos write per customer per chunk). Records are kept so a write that lost a race (412) can be replayed on
/// the fresh profile.
/// </summary>
internal sealed class ChunkWorkingSet(ICustomerStore store, ProfileHistory history, string marker, DateTimeOffset now) : IProfileLookup
{
    internal sealed class Entry(CustomerProfile profile, string? etag)
    {
        public CustomerProfile Profile { get; set; } = profile;
        public string? ETag { get; set; } = etag;
        public bool Existed => ETag is not null;
        public bool AlreadyApplied { get; set; }
        public int Accepted { get; set; }
        public int Duplicates { get; set; }
        public List<DropRecord> Records { get; } = [];

        /// <summary>Records not yet applied to <see cref="Profile"/>: applied together, once, before the write.</summary>
        public List<DropRecord> Pending { get; } = [];
        public List<(string OtherId, MergeExplanation Explanation)> Absorbed { get; } = [];
        public bool Dirty { get; set; }
        public bool Written { get; set; }
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, Entry> Entries => _entries;

    public Dictionary<string, string> ResolvedKeys { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Resolution> ResolvedSources { get; } = new(StringComparer.Ordinal);

    public async Task<CustomerProfile?> FindAsync(string customerId, CancellationToken cancellationToken) =>
        (await LoadAsync(customerId, create: false, cancellationToken))?.Profile;

    public async Task<Entry?> LoadAsync(string customerId, bool create, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(customerId, out var entry))
        {
            return entry;
        }
        var stored = await store.GetAsync(customerId, cancellationToken);
        if (stored is null && !create)
        {
            return null;
        }
        entry = stored is null
            ? new Entry(new CustomerProfile { Id = customerId, CreatedAt = now, UpdatedAt = now }, null)
            : new Entry(stored.Value, stored.ETag);
        var applied = entry.Profile.AppliedChunks.Find(c => c.Marker == marker);
        if (applied is not null)
        {
            entry.AlreadyApplied = true;
            entry.Accepted = applied.Accepted;
            entry.Duplicates = applied.Duplicates;
        }
        _entries[customerId] = entry;
        return entry;
    }

    /// <summary>Adds a record to a customer's profile (applied at once, so later rows of the chunk see it).</summary>
    public async Task AddAsync(Resolution resolution, DropRecord record, CancellationToken cancellationToken)
    {
        var entry = (await LoadAsync(resolution.CustomerId, create: true, cancellationToken))!;
        entry.Records.Add(record);
        foreach (var key in resolution.MatchKeys)
        {
            if (!entry.Profile.MatchKeys.Contains(key))
            {
                entry.Profile.MatchKeys.Add(key);
                entry.Dirty = true;
            }
        }
        if (resolution.Variant is { IsEmpty: false } variant && ProfileVariants.Add(entry.Profile.MatchVariants, variant))
        {
            entry.Dirty = true;
        }
        foreach (var explanation in resolution.Explanations)
        {
            if (!resolution.MergeFrom.Contains(explanation.OtherId) && !entry.Profile.MergeExplanations.Exists(e => e.OtherId == explanation.OtherId))
            {
                // Joined by score rather than by a key: keep why, next to the profile it joined.
                entry.Profile.MergeExplanations.Add(explanation);
                entry.Dirty = true;
            }
        }
        if (entry.AlreadyApplied)
        {
            return;
        }
        entry.Pending.Add(record);
        entry.Dirty = true;
    }

    /// <summary>Applies an entry's pending records in one pass (sorting and folding once per chunk, not per row).</summary>
    public void ApplyPending(Entry entry)
    {
        if (entry.Pending.Count == 0)
        {
            return;
        }
        var outcome = history.Apply(entry.Profile, entry.Pending, now);
        entry.Accepted += outcome.Accepted;
        entry.Duplicates += outcome.Duplicates;
        entry.Pending.Clear();
    }

    /// <summary>Folds <paramref name="otherId"/> into <paramref name="survivorId"/> in memory; <see cref="IngestionPipeline"/> writes
    /// the survivor first, then repoints keys, then marks the other, so a retry completes a half-done merge.</summary>
    public async Task MergeAsync(string survivorId, string otherId, MergeExplanation explanation, CancellationToken cancellationToken)
    {
        var survivor = (await LoadAsync(survivorId, create: true, cancellationToken))!;
        var other = await LoadAsync(otherId, create: false, cancellationToken);
        if (other is null || other.Profile.MergedInto == survivorId)
        {
            return;
        }
        ApplyPending(survivor);
        ApplyPending(other);
        ProfileMerge.Union(survivor.Profile, other.Profile, explanation);
        // The rows the other profile took in this chunk now live in the survivor, and so do their counts.
        survivor.Accepted += other.Accepted;
        survivor.Duplicates += other.Duplicates;
        survivor.Records.AddRange(other.Records);
        other.Accepted = 0;
        other.Duplicates = 0;
        other.Records.Clear();
        survivor.Absorbed.Add((otherId, explanation));
        survivor.Dirty = other.Dirty = true;
    }
}
