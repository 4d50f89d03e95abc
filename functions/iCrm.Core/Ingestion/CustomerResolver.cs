using System.Runtime.CompilerServices;
using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.Core.Privacy;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Core.Ingestion;

/// <summary>
/// Resolves each record to a customer through the <c>identities</c> store: deterministic keys (source id, loyalty id,
/// email, phone) as HMAC hashes claimed create-if-absent, and for customer rows that share no key, blocking keys that
/// nominate candidate profiles for the probabilistic matcher. The decision itself is <see cref="IdentityResolver"/>'s.
/// </summary>
/// <remarks>Pairs the matcher held back (review band, names only, conflicting identifiers) are written to
/// <paramref name="reviews"/> with their evidence, keyed by the record's hashed source key: no readable personal data.</remarks>
/// <remarks>A key whose owner was erased (a tombstone of kind <c>erased</c>) makes the record an <see cref="Resolution.ErasedSubject"/>:
/// the pipeline quarantines it, so an erased person is not recreated (unless <see cref="PrivacyOptions.AllowRecreationAfterErase"/>,
/// which removes the tombstone and lets the row start a new profile).</remarks>
public sealed class CustomerResolver(IIdentityStore identities, MatchKeyHasher hasher, IdentityResolver resolver, TimeProvider time,
    IMergeReviewStore? reviews = null, PrivacyOptions? privacy = null)
    : IIdentityResolver
{
    private const int MaxMergeHops = 8;

    public MatchKeyHasher Hasher => hasher;

    public ValueTask<Resolution> ResolveAsync(DropRecord record, IProfileLookup profiles, CancellationToken cancellationToken)
    {
        if (record is CustomerRecord customer)
        {
            var prepared = profiles.Cache.Prepared.TryGetValue(record, out var keys) ? keys : Prepare(customer);
            return ResolveAsync(record, prepared.Keys, prepared.Variant, owners: null, profiles, cancellationToken, prepared.BlockingKeys);
        }
        // Activity rows (orders, events, …) name a customer by source id only: one resolution per customer per chunk.
        var source = (record.Source, record.SourceCustomerId);
        return profiles.ResolvedSources.TryGetValue(source, out var known)
            ? ValueTask.FromResult(known)
            : ResolveActivityAsync(record, source, profiles, cancellationToken);
    }

    /// <summary>
    /// Reads the identity documents of every key the chunk's rows will look up (customer rows: their deterministic and
    /// blocking keys; activity rows: their source key) in one batched read, so resolving a row needs no read round trip.
    /// Claims made and candidates filed while the chunk is resolved update these answers (see <see cref="FileCandidate"/>);
    /// another drop's claims made meanwhile surface as they do without batching: a claim of a key read as free returns
    /// the other owner (create-if-absent), and the two profiles are merged.
    /// </summary>
    public async ValueTask PrepareChunkAsync(IReadOnlyList<DropRecord> records, IProfileLookup profiles, CancellationToken cancellationToken)
    {
        var cache = profiles.Cache;
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        DropRecord? previous = null;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            if (record is CustomerRecord customer)
            {
                var prepared = Prepare(customer);
                cache.Prepared[record] = prepared;
                foreach (var key in prepared.Keys)
                {
                    wanted.Add(key.Value);
                }
                foreach (var key in prepared.BlockingKeys)
                {
                    wanted.Add(key.Value);
                }
                previous = null;
                continue;
            }
            // An activity drop holds each customer's rows together: one key per run of rows.
            if (previous is not null && previous.SourceCustomerId == record.SourceCustomerId && previous.Source == record.Source)
            {
                continue;
            }
            previous = record;
            wanted.Add(SourceKeyOf(record, cache));
        }
        wanted.ExceptWith(cache.KeyOwners.Keys);
        if (wanted.Count == 0)
        {
            return;
        }
        var found = await identities.GetManyAsync(wanted, cancellationToken);
        foreach (var key in wanted)
        {
            cache.Claims[key] = found.GetValueOrDefault(key);
        }
        await profiles.PrefetchAsync(ProfilesToRead(records, cache), cancellationToken);
    }

    /// <summary>
    /// The profiles resolving the chunk's rows will probably look at, from the identity documents just read: the owners of
    /// their keys, the id a customer row without an owned key would create (it may exist from an earlier attempt), and that
    /// row's blocking candidates. Rows resolved earlier in the chunk may change the picture (a key claimed meanwhile): a
    /// profile not read here is read when asked for, as before.
    /// </summary>
    private HashSet<string> ProfilesToRead(IReadOnlyList<DropRecord> records, DropResolutionCache cache)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        DropRecord? previous = null;
        foreach (var record in records)
        {
            if (record is not CustomerRecord)
            {
                if (previous is null || previous.SourceCustomerId != record.SourceCustomerId || previous.Source != record.Source)
                {
                    if (cache.Claims.GetValueOrDefault(SourceKeyOf(record, cache)) is { Kind: not ErasedKeys.Kind } claim)
                    {
                        ids.Add(claim.CustomerId);
                    }
                    previous = record;
                }
                continue;
            }
            previous = null;
            if (!cache.Prepared.TryGetValue(record, out var prepared))
            {
                continue;
            }
            var owned = false;
            foreach (var key in prepared.Keys)
            {
                if (cache.Claims.GetValueOrDefault(key.Value) is { Kind: not ErasedKeys.Kind } claim)
                {
                    ids.Add(claim.CustomerId);
                    owned = true;
                }
                if (key.Kind == MatchKeyKind.SourceId)
                {
                    ids.Add(MatchKeyHasher.CustomerIdFor(key));
                }
            }
            if (owned)
            {
                continue;
            }
            foreach (var key in prepared.BlockingKeys)
            {
                if (cache.Claims.GetValueOrDefault(key.Value) is { Candidates: { } listed })
                {
                    ids.UnionWith(listed);
                }
            }
        }
        return ids;
    }

    /// <summary>Writes the chunk's pending identity writes, concurrently: claims first (a claim lost to another writer means
    /// the chunk was resolved on a wrong assumption: nothing more is written, and the caller resolves it again), then the
    /// blocking-key candidates and the merge reviews.</summary>
    public async ValueTask<bool> FlushChunkAsync(IProfileLookup profiles, CancellationToken cancellationToken)
    {
        if (profiles.Cache.Pending is not { IsEmpty: false } pending)
        {
            return true;
        }
        var lost = new StrongBox<int>();
        await BoundedConcurrency.ForEachAsync(pending.Claims, FlushConcurrency, cancellationToken, (claim, ct) =>
        {
            // A claim answered at once (an in-memory store) is checked here, without an async state machine per claim.
            var owner = identities.ClaimAsync(claim.Key, claim.Kind, claim.CustomerId, ct);
            if (!owner.IsCompletedSuccessfully)
            {
                return CheckClaimAsync(owner, claim.CustomerId, lost);
            }
            CheckClaim(owner.Result, claim.CustomerId, lost);
            return ValueTask.CompletedTask;
        });
        if (lost.Value > 0)
        {
            return false;
        }
        await BoundedConcurrency.ForEachAsync(pending.Candidates, FlushConcurrency, cancellationToken, async (candidates, ct) =>
            await identities.AddCandidatesAsync(candidates.Key, candidates.Value.CustomerIds, BlockingKeys.CandidateCap, candidates.Value.ReadAsAbsent, ct));
        if (reviews is not null)
        {
            await BoundedConcurrency.ForEachAsync(pending.Reviews, FlushConcurrency, cancellationToken, async (review, ct) => await reviews.UpsertAsync(review, ct));
        }
        return true;
    }

    private static async ValueTask CheckClaimAsync(Task<string> owner, string customerId, StrongBox<int> lost) =>
        CheckClaim(await owner, customerId, lost);

    /// <summary>Counts a claim that another customer won.</summary>
    private static void CheckClaim(string owner, string customerId, StrongBox<int> lost)
    {
        if (owner != customerId)
        {
            Interlocked.Increment(ref lost.Value);
        }
    }

    /// <summary>Identity writes of one chunk in flight at once.</summary>
    private const int FlushConcurrency = 32;

    private PreparedKeys Prepare(CustomerRecord customer)
    {
        var variant = MatchCandidate.FromRecord(customer);
        return new PreparedKeys(hasher.DeterministicKeys(customer), variant, variant.IsEmpty ? [] : hasher.BlockingKeysOf(variant));
    }

    private string SourceKeyOf(DropRecord record, DropResolutionCache cache)
    {
        var source = (record.Source, record.SourceCustomerId);
        if (!cache.SourceKeys.TryGetValue(source, out var sourceKey))
        {
            sourceKey = hasher.SourceKey(record.Source, record.SourceCustomerId).Value;
            cache.SourceKeys[source] = sourceKey;
        }
        return sourceKey;
    }

    private async ValueTask<Resolution> ResolveActivityAsync(DropRecord record, (string Source, string SourceId) source, IProfileLookup profiles,
        CancellationToken cancellationToken)
    {
        var sourceKey = SourceKeyOf(record, profiles.Cache);
        // A known customer (the usual case) needs no decision; a new one goes through the resolver and claims its key.
        var owner = await OwnerAsync(sourceKey, profiles, cancellationToken);
        var resolution = profiles.Cache.ErasedKeys.Contains(sourceKey) ? Erased
            : owner is not null ? new Resolution(owner, [], [], [sourceKey], null)
            : await ResolveAsync(record, [new MatchKey(MatchKeyKind.SourceId, sourceKey)], null, owners: [], profiles, cancellationToken);
        profiles.ResolvedSources[source] = resolution.MergeFrom.Count == 0 && resolution.Explanations.Count == 0
            ? resolution
            : resolution with { MergeFrom = [], Explanations = [] };
        return resolution;
    }

    /// <param name="owners">The keys' owners when the caller has looked them up already (null: look them up here).</param>
    /// <param name="blockingKeys">The variant's blocking keys when the caller has hashed them already (null: hash them here).</param>
    private async ValueTask<Resolution> ResolveAsync(DropRecord record, IReadOnlyList<MatchKey> keys, MatchCandidate? variant,
        Dictionary<string, string>? owners, IProfileLookup profiles, CancellationToken cancellationToken, IReadOnlyList<MatchKey>? blockingKeys = null)
    {
        if (owners is null)
        {
            owners = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                if (await OwnerAsync(key.Value, profiles, cancellationToken) is { } owner)
                {
                    owners[key.Value] = owner;
                }
            }
            foreach (var key in keys)
            {
                if (profiles.Cache.ErasedKeys.Contains(key.Value))
                {
                    return Erased; // any identifier of an erased person: nothing is claimed, nothing written
                }
            }
        }

        blockingKeys ??= variant is { IsEmpty: false } ? hasher.BlockingKeysOf(variant) : [];
        var candidates = owners.Count == 0 && blockingKeys.Count > 0
            ? await CandidatesAsync(blockingKeys, profiles, cancellationToken)
            : [];
        var decision = resolver.Resolve(variant ?? new MatchCandidate(null, null, null, null, null, null, null, null), keys, owners, candidates);

        var customerId = decision.CustomerId;
        var mergeFrom = new List<string>(decision.MergedIds);
        // The row's free keys are claimed together (one round trip, not one per key), then judged in order of strength.
        var unowned = new List<MatchKey>(keys.Count);
        foreach (var key in keys)
        {
            if (!owners.ContainsKey(key.Value))
            {
                unowned.Add(key); // a loop, not Where(...).ToList(): once per new customer of every drop
            }
        }
        var claimedFor = customerId;
        var pending = profiles.Cache.Pending;
        var claimed = pending is not null
            ? pending.Claim(unowned, claimedFor) // written with the chunk's other claims before its profiles; a loss redoes the chunk
            : unowned.Count switch
            {
                0 => [],
                1 => [await identities.ClaimAsync(unowned[0].Value, MatchKey.Prefix(unowned[0].Kind), claimedFor, cancellationToken)],
                _ => await Task.WhenAll(unowned.Select(k => identities.ClaimAsync(k.Value, MatchKey.Prefix(k.Kind), claimedFor, cancellationToken))),
            };
        for (var i = 0; i < unowned.Count; i++)
        {
            var key = unowned[i];
            var owner = claimed[i];
            if (owner == claimedFor && customerId != claimedFor)
            {
                // A stronger key of this row proved the person exists under another id: this key, claimed at the same time,
                // points there too, as if it had been claimed after that was known.
                await identities.RepointAsync(key.Value, MatchKey.Prefix(key.Kind), customerId, cancellationToken);
                owner = customerId;
            }
            owner = await FollowMergesAsync(owner, profiles, cancellationToken);
            if (owner != customerId)
            {
                // Another drop claimed this key first: the person already exists under another id, so the two are one.
                var survivor = IdentityResolver.Survivor([owner, customerId]);
                mergeFrom.Add(survivor == owner ? customerId : owner);
                customerId = survivor;
            }
            profiles.Cache.KeyOwners[key.Value] = customerId;
        }
        if (mergeFrom.Count > 0)
        {
            mergeFrom = mergeFrom.Where(id => id != customerId).Distinct(StringComparer.Ordinal).ToList();
        }

        if (blockingKeys.Count > 0)
        {
            var filed = (await profiles.FindAsync(customerId, cancellationToken))?.MatchKeys;
            var unfiled = blockingKeys.Where(k => filed?.Contains(k.Value) != true).ToList();
            if (pending is not null)
            {
                // Filed with the chunk's other candidates (one write per key per chunk) before its profiles are written.
                foreach (var key in unfiled)
                {
                    pending.AddCandidate(key.Value, customerId, profiles.Cache.Claims.TryGetValue(key.Value, out var read) && read is null);
                }
            }
            else
            {
                // Each key is its own document: filed together, one round trip for the row.
                await Task.WhenAll(unfiled.Select(k => identities.AddCandidateAsync(k.Value, customerId, BlockingKeys.CandidateCap, cancellationToken)));
            }
            foreach (var key in unfiled)
            {
                FileCandidate(profiles.Cache, key.Value, customerId);
            }
        }

        var now = time.GetUtcNow();
        if (reviews is not null && decision.PossibleMatches.Count > 0)
        {
            await WriteReviewsAsync(decision, keys, customerId, profiles, now, cancellationToken);
        }
        var explanations = new List<MergeExplanation>();
        foreach (var otherId in mergeFrom)
        {
            explanations.Add(new MergeExplanation(otherId, now, decision.Rule.ToString(), decision.Score, decision.EvidenceFor(otherId)));
        }
        if (decision is { Outcome: ResolutionOutcome.Existing, Rule: ResolutionRule.Probabilistic })
        {
            explanations.Add(new MergeExplanation($"{record.Source}:{record.SourceCustomerId}", now, decision.Rule.ToString(), decision.Score,
                decision.EvidenceFor(customerId)));
        }
        var filedKeys = new string[keys.Count + blockingKeys.Count];
        for (var i = 0; i < filedKeys.Length; i++)
        {
            filedKeys[i] = i < keys.Count ? keys[i].Value : blockingKeys[i - keys.Count].Value;
        }
        return new Resolution(customerId, mergeFrom, explanations, filedKeys, variant);
    }

    private async Task WriteReviewsAsync(IdentityDecision decision, IReadOnlyList<MatchKey> keys, string customerId, IProfileLookup profiles,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var recordKey = keys.First(k => k.Kind == MatchKeyKind.SourceId).Value;
        var marker = profiles.Marker;
        var dropId = marker is null ? null : marker.IndexOf('#') is var hash and > 0 ? marker[..hash] : marker;
        foreach (var possible in decision.PossibleMatches)
        {
            if (possible.CustomerId == customerId)
            {
                continue; // joined it after all (a shared key claimed meanwhile)
            }
            var explanation = possible.Explanation;
            var review = new MergeReview
            {
                Id = MergeReview.IdFor(recordKey, possible.CustomerId),
                RecordKey = recordKey,
                CustomerId = customerId,
                CandidateId = possible.CustomerId,
                Reason = possible.Reason.ToString(),
                Score = explanation.Score,
                NamesSwapped = explanation.NamesSwapped,
                Evidence = [.. explanation.Evidence.Where(e => e.Level != Agreement.Missing)
                    .Select(e => new MergeReviewEvidence(e.Field.ToString(), e.Level.ToString(), e.Weight))],
                DropId = dropId,
                At = now,
            };
            if (profiles.Cache.Pending is { } pending)
            {
                pending.Reviews.Add(review);
            }
            else
            {
                await reviews!.UpsertAsync(review, cancellationToken);
            }
        }
    }

    /// <summary>What a record naming an erased person resolves to: no customer; the pipeline quarantines it.</summary>
    private static readonly Resolution Erased = new("", [], [], [], null, ErasedSubject: true);

    private async ValueTask<string?> OwnerAsync(string key, IProfileLookup profiles, CancellationToken cancellationToken)
    {
        if (profiles.Cache.ErasedKeys.Contains(key))
        {
            return null;
        }
        if (!profiles.Cache.KeyOwners.TryGetValue(key, out var owner))
        {
            var claim = profiles.Cache.Claims.TryGetValue(key, out var read) ? read : await identities.GetAsync(key, cancellationToken);
            if (claim is { Kind: ErasedKeys.Kind })
            {
                if (privacy?.AllowRecreationAfterErase != true)
                {
                    profiles.Cache.ErasedKeys.Add(key);
                    return null;
                }
                // A new relationship may start: the key is free again (the erasure record itself stays).
                await identities.ReleaseAsync(key, claim.CustomerId, cancellationToken);
                profiles.Cache.Claims[key] = null;
                return null;
            }
            owner = claim?.CustomerId;
            if (owner is null)
            {
                return null;
            }
        }
        owner = await FollowMergesAsync(owner, profiles, cancellationToken);
        profiles.Cache.KeyOwners[key] = owner;
        return owner;
    }

    private async Task<List<ProfileCandidate>> CandidatesAsync(IReadOnlyList<MatchKey> blockingKeys, IProfileLookup profiles,
        CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in blockingKeys)
        {
            var claim = profiles.Cache.Claims.TryGetValue(key.Value, out var read) ? read : await identities.GetAsync(key.Value, cancellationToken);
            if (claim is { Candidates: { } listed })
            {
                ids.UnionWith(listed);
            }
        }
        var candidates = new List<ProfileCandidate>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            var live = await FollowMergesAsync(id, profiles, cancellationToken);
            if (seen.Add(live) && await profiles.FindAsync(live, cancellationToken) is { } profile)
            {
                candidates.Add(new ProfileCandidate(live, profile.MatchVariants, profile.MatchKeys));
            }
        }
        return candidates;
    }

    /// <summary>Keeps the chunk's copy of a blocking key's document as the store now has it (the same append and cap as
    /// <see cref="IIdentityStore.AddCandidateAsync"/>), so the chunk's later rows find the candidate without a read.</summary>
    private static void FileCandidate(DropResolutionCache cache, string key, string customerId)
    {
        if (!cache.Claims.TryGetValue(key, out var claim))
        {
            return; // not read in this chunk: the next lookup reads the store
        }
        if (claim is null)
        {
            cache.Claims[key] = new IdentityClaim(key, customerId, "block", [customerId]);
            return;
        }
        var candidates = new List<string>(claim.Candidates ?? []);
        if (!candidates.Contains(customerId))
        {
            candidates.Add(customerId);
        }
        if (candidates.Count > BlockingKeys.CandidateCap)
        {
            candidates.RemoveRange(0, candidates.Count - BlockingKeys.CandidateCap);
        }
        cache.Claims[key] = claim with { Candidates = candidates };
    }

    private static async ValueTask<string> FollowMergesAsync(string customerId, IProfileLookup profiles, CancellationToken cancellationToken)
    {
        for (var hop = 0; hop < MaxMergeHops; hop++)
        {
            var profile = await profiles.FindAsync(customerId, cancellationToken);
            if (profile?.MergedInto is not { } next)
            {
                return customerId;
            }
            customerId = next;
        }
        return customerId;
    }
}
