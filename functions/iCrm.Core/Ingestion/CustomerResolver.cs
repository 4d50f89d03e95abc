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
            return ResolveAsync(record, hasher.DeterministicKeys(customer), MatchCandidate.FromRecord(customer), owners: null, profiles, cancellationToken);
        }
        // Activity rows (orders, events, …) name a customer by source id only: one resolution per customer per chunk.
        var source = (record.Source, record.SourceCustomerId);
        return profiles.ResolvedSources.TryGetValue(source, out var known)
            ? ValueTask.FromResult(known)
            : ResolveActivityAsync(record, source, profiles, cancellationToken);
    }

    private async ValueTask<Resolution> ResolveActivityAsync(DropRecord record, (string Source, string SourceId) source, IProfileLookup profiles,
        CancellationToken cancellationToken)
    {
        var cache = profiles.Cache;
        if (!cache.SourceKeys.TryGetValue(source, out var sourceKey))
        {
            sourceKey = hasher.SourceKey(record.Source, record.SourceCustomerId).Value;
            cache.SourceKeys[source] = sourceKey;
        }
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
    private async ValueTask<Resolution> ResolveAsync(DropRecord record, IReadOnlyList<MatchKey> keys, MatchCandidate? variant,
        Dictionary<string, string>? owners, IProfileLookup profiles, CancellationToken cancellationToken)
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

        var blockingKeys = variant is { IsEmpty: false } ? hasher.BlockingKeysOf(variant) : [];
        var candidates = owners.Count == 0 && blockingKeys.Count > 0
            ? await CandidatesAsync(blockingKeys, profiles, cancellationToken)
            : [];
        var decision = resolver.Resolve(variant ?? new MatchCandidate(null, null, null, null, null, null, null, null), keys, owners, candidates);

        var customerId = decision.CustomerId;
        var mergeFrom = new List<string>(decision.MergedIds);
        foreach (var key in keys)
        {
            if (owners.ContainsKey(key.Value))
            {
                continue;
            }
            var owner = await identities.ClaimAsync(key.Value, MatchKey.Prefix(key.Kind), customerId, cancellationToken);
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
            foreach (var key in blockingKeys)
            {
                if (filed?.Contains(key.Value) != true)
                {
                    await identities.AddCandidateAsync(key.Value, customerId, BlockingKeys.CandidateCap, cancellationToken);
                }
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
            await reviews!.UpsertAsync(new MergeReview
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
            }, cancellationToken);
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
            var claim = await identities.GetAsync(key, cancellationToken);
            if (claim is { Kind: ErasedKeys.Kind })
            {
                if (privacy?.AllowRecreationAfterErase != true)
                {
                    profiles.Cache.ErasedKeys.Add(key);
                    return null;
                }
                // A new relationship may start: the key is free again (the erasure record itself stays).
                await identities.ReleaseAsync(key, claim.CustomerId, cancellationToken);
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
            if (await identities.GetAsync(key.Value, cancellationToken) is { Candidates: { } listed })
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
