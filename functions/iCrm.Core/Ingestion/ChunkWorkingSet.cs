using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Core.Ingestion;

/// <summary>
/// The profiles one chunk of a drop touches, loaded once, changed in memory, and written once each at the end
/// (one Cosmos write per customer per chunk). Each profile's own records are kept so a write that lost a race (412) can
/// be replayed on the fresh profile.
/// </summary>
internal sealed class ChunkWorkingSet(ICustomerStore store, ProfileHistory history, DropResolutionCache cache, string marker, DateTimeOffset now)
    : IProfileLookup
{
    internal sealed class Entry(CustomerProfile profile, string? etag)
    {
        public CustomerProfile Profile { get; set; } = profile;
        public string? ETag { get; set; } = etag;
        public bool Existed => ETag is not null;
        public bool AlreadyApplied { get; set; }

        /// <summary>Whether this chunk created the profile (as its marker on the profile records).</summary>
        public bool CreatedByChunk { get; set; }

        /// <summary>Rows this chunk accepted and skipped as duplicates for this profile, including those of profiles merged into it.</summary>
        public int Accepted { get; set; }

        public int Duplicates { get; set; }

        /// <summary>New source records this chunk merged into the profile (and into profiles merged into it).</summary>
        public int Linked { get; set; }

        /// <summary>The part of <see cref="Accepted"/> and <see cref="Duplicates"/> that came with profiles merged into this one.</summary>
        public int AbsorbedAccepted { get; set; }

        public int AbsorbedDuplicates { get; set; }

        /// <summary>Profiles an earlier attempt of this chunk merged into this one (from its marker); their rows are in its counts.</summary>
        public IReadOnlyList<string> AbsorbedBefore { get; set; } = [];

        /// <summary>This profile's own records in the chunk (not those of profiles merged into it: a replay unions those).</summary>
        public List<DropRecord> Records { get; } = new(4);

        /// <summary>How many of <see cref="Records"/> are in <see cref="Profile"/>; the rest are applied together, once,
        /// before the write.</summary>
        public int AppliedRecords { get; set; }

        /// <summary>The distinct resolutions filed on the profile in this chunk (a customer's rows usually share one), so a
        /// write that lost a race can file them again on the fresh copy.</summary>
        public List<Resolution> Filed { get; } = new(1);

        private List<(string OtherId, MergeExplanation Explanation)>? _absorbed;

        /// <summary>Profiles merged into this one in this chunk.</summary>
        public IReadOnlyList<(string OtherId, MergeExplanation Explanation)> Absorbed => _absorbed ?? [];

        public void Absorb(string otherId, MergeExplanation explanation) => (_absorbed ??= []).Add((otherId, explanation));

        /// <summary>Rows an earlier attempt of this chunk rejected for this profile as <c>profile_too_large</c> (from its
        /// markers): on a re-run they are this entry's records, reported again.</summary>
        public int RejectedBefore { get; set; }

        public bool Dirty { get; set; }
        public bool Written { get; set; }

        /// <summary>This chunk's rows for the profile when they would have grown it past its size budget: rejected
        /// (<c>profile_too_large</c>), and the profile written as it was stored.</summary>
        public List<DropRecord>? TooLarge { get; set; }
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, Entry> Entries => _entries;

    public DropResolutionCache Cache => cache;

    public string Marker => marker;

    public Dictionary<(string Source, string SourceId), Resolution> ResolvedSources { get; } = [];

    public ValueTask<CustomerProfile?> FindAsync(string customerId, CancellationToken cancellationToken) =>
        _entries.TryGetValue(customerId, out var entry)
            ? ValueTask.FromResult<CustomerProfile?>(entry.Profile)
            : FindStoredAsync(customerId, cancellationToken);

    private async ValueTask<CustomerProfile?> FindStoredAsync(string customerId, CancellationToken cancellationToken) =>
        (await LoadStoredAsync(customerId, create: false, cancellationToken))?.Profile;

    public ValueTask<Entry?> LoadAsync(string customerId, bool create, CancellationToken cancellationToken) =>
        _entries.TryGetValue(customerId, out var entry)
            ? ValueTask.FromResult<Entry?>(entry)
            : LoadStoredAsync(customerId, create, cancellationToken);

    /// <summary>Profiles read ahead for the chunk (<see cref="PrefetchAsync"/>): id → the stored version, or null when there
    /// was none. Used once each, when the chunk first asks for the profile; a profile created or changed by another writer
    /// since is caught by the conditional write, which then replays the chunk's rows on the fresh copy.</summary>
    private readonly Dictionary<string, Versioned<CustomerProfile>?> _prefetched = new(StringComparer.Ordinal);

    /// <summary>Profile reads of one prefetch in flight at once.</summary>
    private const int PrefetchConcurrency = 32;

    public async ValueTask PrefetchAsync(IReadOnlyCollection<string> customerIds, CancellationToken cancellationToken)
    {
        var wanted = customerIds.Where(id => !_entries.ContainsKey(id) && !_prefetched.ContainsKey(id)).ToList();
        if (wanted.Count == 0)
        {
            return;
        }
        var read = new Versioned<CustomerProfile>?[wanted.Count];
        await BoundedConcurrency.ForEachAsync(Enumerable.Range(0, wanted.Count), PrefetchConcurrency, cancellationToken,
            async (i, ct) => read[i] = await store.GetAsync(wanted[i], ct));
        for (var i = 0; i < wanted.Count; i++)
        {
            _prefetched[wanted[i]] = read[i];
        }
    }

    private async ValueTask<Entry?> LoadStoredAsync(string customerId, bool create, CancellationToken cancellationToken)
    {
        var stored = _prefetched.Remove(customerId, out var ahead) ? ahead : await store.GetAsync(customerId, cancellationToken);
        if (stored is null && !create)
        {
            _prefetched[customerId] = null; // asked again (e.g. to be created): still known to be absent
            return null;
        }
        var entry = stored is null
            ? new Entry(new CustomerProfile { Id = customerId, CreatedAt = now, UpdatedAt = now }, null)
            : new Entry(stored.Value, stored.ETag);
        TakeAppliedChunk(entry, marker);
        _entries[customerId] = entry;
        return entry;
    }

    /// <summary>Whether the chunk was applied to the profile before (a re-run after a crash), directly or to a profile
    /// merged into it since.</summary>
    public static bool HasChunk(CustomerProfile profile, string marker)
    {
        foreach (var chunk in profile.AppliedChunks)
        {
            if (IsMarker(chunk, marker))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// If the chunk was applied to the profile before, takes what it did from the markers: its own, and those of profiles
    /// merged into it since (their rows of this chunk live here now), so a re-run counts exactly what a clean run did.
    /// </summary>
    public static void TakeAppliedChunk(Entry entry, string marker)
    {
        var found = false;
        int accepted = 0, duplicates = 0, rejected = 0;
        AppliedChunk? own = null;
        foreach (var chunk in entry.Profile.AppliedChunks)
        {
            if (IsMarker(chunk, marker))
            {
                found = true;
                accepted += chunk.Accepted;
                duplicates += chunk.Duplicates;
                rejected += chunk.Rejected;
                own = chunk.From is null ? chunk : own;
            }
        }
        if (found)
        {
            entry.AlreadyApplied = true;
            entry.Accepted = accepted;
            entry.Duplicates = duplicates;
            entry.RejectedBefore = rejected;
            entry.CreatedByChunk = own?.Created ?? false;
            entry.AbsorbedBefore = own?.Absorbed ?? [];
        }
    }

    // Markers of one drop differ in their last characters: compare those first.
    private static bool IsMarker(AppliedChunk chunk, string marker) =>
        chunk.Marker.Length == marker.Length && chunk.Marker[^1] == marker[^1] && chunk.Marker == marker;

    /// <summary>Adds a record to a customer's profile (applied with the customer's other rows before the write).</summary>
    public ValueTask<Entry> AddAsync(Resolution resolution, DropRecord record, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(resolution.CustomerId, out var entry))
        {
            Add(entry, resolution, record);
            return ValueTask.FromResult(entry);
        }
        return AddLoadedAsync(resolution, record, cancellationToken);
    }

    private async ValueTask<Entry> AddLoadedAsync(Resolution resolution, DropRecord record, CancellationToken cancellationToken)
    {
        var entry = (await LoadStoredAsync(resolution.CustomerId, create: true, cancellationToken))!;
        Add(entry, resolution, record);
        return entry;
    }

    /// <summary>Adds a record to the entry its resolution loaded (the caller's shortcut for a customer's next row).</summary>
    public static void Add(Entry entry, Resolution resolution, DropRecord record)
    {
        if (record is CustomerRecord && !entry.AlreadyApplied && JoinsOthers(entry, record))
        {
            entry.Linked++;
        }
        entry.Records.Add(record);
        // A re-run of a chunk whose rows were rejected for size here files nothing either: the earlier attempt wrote the
        // profile as it was stored, without the rows' keys, spellings and explanations.
        if ((entry.Filed.Count == 0 || !ReferenceEquals(entry.Filed[^1], resolution)) && !(entry.AlreadyApplied && entry.RejectedBefore > 0))
        {
            File(entry, resolution);
        }
        if (entry.AlreadyApplied)
        {
            entry.AppliedRecords = entry.Records.Count;
            return;
        }
        entry.Dirty = true;
    }

    /// <summary>
    /// Whether a customer row brings a source identity the profile does not have yet into a profile that has (or, earlier in
    /// this chunk, was given) another one: a record merged into someone's profile. Judged from the profile and the chunk's
    /// rows, not from key claims, so a re-run after a crash (keys claimed, profile not written) counts the same.
    /// </summary>
    private static bool JoinsOthers(Entry entry, DropRecord record)
    {
        var others = false;
        foreach (var identity in entry.Profile.Identities)
        {
            if (identity.Source == record.Source && identity.SourceId == record.SourceCustomerId)
            {
                return false;
            }
            others = true;
        }
        for (var i = 0; i < entry.Records.Count; i++)
        {
            if (entry.Records[i] is CustomerRecord earlier)
            {
                if (earlier.Source == record.Source && earlier.SourceCustomerId == record.SourceCustomerId)
                {
                    return false;
                }
                others = true;
            }
        }
        return others;
    }

    /// <summary>Files a resolution's keys, spelling variant and explanations on the profile.</summary>
    public static void File(Entry entry, Resolution resolution)
    {
        // Loops, not Exists(lambda): a lambda capturing a parameter allocates its closure on every call, once per customer.
        if (!IsFiled(entry.Filed, resolution))
        {
            entry.Filed.Add(resolution);
        }
        var profile = entry.Profile;
        for (var i = 0; i < resolution.MatchKeys.Count; i++)
        {
            var key = resolution.MatchKeys[i];
            if (!profile.MatchKeys.Contains(key))
            {
                profile.MatchKeys.Add(key);
                entry.Dirty = true;
            }
        }
        if (resolution.Variant is { IsEmpty: false } variant && ProfileVariants.Add(profile.MatchVariants, variant))
        {
            entry.Dirty = true;
        }
        for (var i = 0; i < resolution.Explanations.Count; i++)
        {
            var explanation = resolution.Explanations[i];
            if (!resolution.MergeFrom.Contains(explanation.OtherId) && !HasExplanationFor(profile.MergeExplanations, explanation.OtherId))
            {
                // Joined by score rather than by a key: keep why, next to the profile it joined.
                profile.MergeExplanations.Add(explanation);
                entry.Dirty = true;
            }
        }
    }

    private static bool IsFiled(List<Resolution> filed, Resolution resolution)
    {
        foreach (var r in filed)
        {
            if (ReferenceEquals(r, resolution))
            {
                return true;
            }
        }
        return false;
    }

    private static bool HasExplanationFor(List<MergeExplanation> explanations, string otherId)
    {
        foreach (var e in explanations)
        {
            if (e.OtherId == otherId)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Applies an entry's pending records in one pass (sorting and folding once per chunk, not per row).</summary>
    public void ApplyPending(Entry entry)
    {
        if (entry.AppliedRecords >= entry.Records.Count)
        {
            return;
        }
        var outcome = history.Apply(entry.Profile, entry.Records, entry.AppliedRecords, now);
        entry.Accepted += outcome.Accepted;
        entry.Duplicates += outcome.Duplicates;
        entry.AppliedRecords = entry.Records.Count;
    }

    /// <summary>Flags a live profile whose cluster grew past <paramref name="maxSources"/> source records (the matcher may have
    /// chained people together: worth a look); the flag stays once set.</summary>
    public static void FlagLargeCluster(Entry entry, int maxSources)
    {
        var profile = entry.Profile;
        if (maxSources > 0 && !profile.LargeCluster && profile.MergedInto is null && profile.Identities.Count > maxSources)
        {
            profile.LargeCluster = true;
            entry.Dirty = true;
        }
    }

    /// <summary>
    /// Finishes merges an earlier attempt of this chunk began but did not complete (it crashed after writing the survivor):
    /// each profile the survivor's marker says it absorbed is marked merged and its keys repointed, as in a clean run.
    /// </summary>
    public async ValueTask CompleteInterruptedMergesAsync(CancellationToken cancellationToken)
    {
        foreach (var survivor in _entries.Values.Where(e => e.AlreadyApplied && e.AbsorbedBefore.Count > 0).ToList())
        {
            foreach (var otherId in survivor.AbsorbedBefore)
            {
                if (!survivor.Absorbed.Any(a => a.OtherId == otherId))
                {
                    var explanation = survivor.Profile.MergeExplanations.LastOrDefault(e => e.OtherId == otherId)
                        ?? new MergeExplanation(otherId, now, "SharedKey", null, []);
                    await MergeAsync(survivor.Profile.Id, otherId, explanation, cancellationToken);
                }
            }
        }
    }

    /// <summary>Folds <paramref name="otherId"/> into <paramref name="survivorId"/> in memory; <see cref="IngestionPipeline"/> writes
    /// the survivor first, then repoints keys, then marks the other, so a retry completes a half-done merge.</summary>
    public async ValueTask MergeAsync(string survivorId, string otherId, MergeExplanation explanation, CancellationToken cancellationToken)
    {
        var survivor = (await LoadAsync(survivorId, create: true, cancellationToken))!;
        var other = await LoadAsync(otherId, create: false, cancellationToken);
        if (other is null || other.Profile.MergedInto == survivorId)
        {
            return;
        }
        ApplyPending(survivor);
        ApplyPending(other);
        ProfileMerge.Union(survivor.Profile, other.Profile, explanation, history.Options.MaxContactValuesPerField);
        // The rows the other profile took in this chunk now live in the survivor, and so do their counts (unless an
        // earlier attempt of this chunk made this merge: then the survivor's marker counts them already).
        if (!(survivor.AlreadyApplied && survivor.AbsorbedBefore.Contains(otherId)))
        {
            survivor.Accepted += other.Accepted;
            survivor.Duplicates += other.Duplicates;
            survivor.AbsorbedAccepted += other.Accepted;
            survivor.AbsorbedDuplicates += other.Duplicates;
            survivor.Linked += other.Linked;
        }
        other.Linked = 0;
        // The other's records stay out of the survivor's own: a replay after a lost race unions the other profile,
        // which holds them already.
        other.Accepted = 0;
        other.Duplicates = 0;
        other.Records.Clear();
        other.AppliedRecords = 0;
        survivor.Absorb(otherId, explanation);
        survivor.Dirty = other.Dirty = true;
    }
}
