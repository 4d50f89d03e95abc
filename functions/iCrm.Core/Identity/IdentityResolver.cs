using iCrm.Core.Drops;

namespace iCrm.Core.Identity;

/// <summary>Which rule placed a record: a deterministic key (strongest first), the probabilistic score, or none (new profile).</summary>
public enum ResolutionRule
{
    SourceId,
    LoyaltyId,
    Email,
    Phone,
    Probabilistic,
    NewCustomer,
}

public enum ResolutionOutcome
{
    /// <summary>The record belongs to one existing profile.</summary>
    Existing,
    /// <summary>Nobody known: create a profile with the record's deterministic id.</summary>
    New,
    /// <summary>The record links several existing profiles: merge <see cref="IdentityDecision.MergedIds"/> into the survivor.</summary>
    Merge,
}

/// <summary>A profile nominated by blocking, with the spellings it keeps for matching (see <see cref="ProfileVariants"/>) and
/// the hashed match keys it owns (<c>CustomerProfile.MatchKeys</c>), whose email, phone and loyalty keys the matcher compares.</summary>
public sealed record ProfileCandidate(string CustomerId, IReadOnlyList<MatchCandidate> Variants, IReadOnlyList<string>? Keys = null);

/// <summary>Why a scored candidate was held back rather than merged.</summary>
public enum ReviewReason
{
    /// <summary>Scored in the review band, below <see cref="MatchOptions.MatchThreshold"/>.</summary>
    BelowThreshold,

    /// <summary>Scored at or above the threshold, but an email, phone or loyalty id disagrees.</summary>
    ConflictingIdentifiers,

    /// <summary>Scored at or above the threshold on the names, but nothing else agrees enough (<see cref="MatchOptions.MinCorroboratingWeight"/>).</summary>
    NamesOnly,

    /// <summary>Scored at or above the threshold but lost to a better-scoring profile (merging them is switched off).</summary>
    NotBest,
}

/// <summary>A deterministic key of the record that is already owned by a profile; the kind, never the value, is kept.</summary>
public sealed record KeyLink(MatchKeyKind Kind, string CustomerId);

/// <summary>A profile that scored in the review band (or above, but lost to a better one): worth a human look.</summary>
public sealed record PossibleMatch(string CustomerId, MatchExplanation Explanation, ReviewReason Reason = ReviewReason.BelowThreshold);

/// <summary>A profile the record matched by score, with the evidence (what the pipeline stores as the merge explanation).</summary>
public sealed record ScoredLink(string CustomerId, MatchExplanation Explanation);

/// <summary>
/// What to do with a record. <see cref="CustomerId"/> is where it goes: the existing profile, the new id, or the survivor of a
/// merge. For <see cref="ResolutionOutcome.Merge"/>, each id in <see cref="MergedIds"/> is merged into <see cref="CustomerId"/>.
/// </summary>
public sealed record IdentityDecision(
    ResolutionOutcome Outcome,
    string CustomerId,
    ResolutionRule Rule,
    IReadOnlyList<string> MergedIds,
    IReadOnlyList<KeyLink> KeyLinks,
    IReadOnlyList<ScoredLink> ScoredLinks,
    IReadOnlyList<PossibleMatch> PossibleMatches)
{
    /// <summary>The probabilistic score of the best match (null for deterministic and new).</summary>
    public double? Score => ScoredLinks.Count > 0 ? ScoredLinks[0].Explanation.Score : null;

    /// <summary>
    /// Why the record was tied to <paramref name="customerId"/>, for <c>MergeExplanation.Evidence</c> and the audit entry:
    /// <c>key:Email</c> lines for deterministic links, <c>Field:Level:weight</c> lines for a scored one. No personal data.
    /// </summary>
    public IReadOnlyList<string> EvidenceFor(string customerId)
    {
        var lines = KeyLinks.Where(l => l.CustomerId == customerId).Select(l => "key:" + l.Kind).ToList();
        foreach (var link in ScoredLinks.Where(l => l.CustomerId == customerId))
        {
            lines.AddRange(link.Explanation.ToEvidenceLines());
        }

        return lines;
    }
}

/// <summary>
/// Decides who a customer record is, given what the store knows — a pure function, the pipeline does the reads and writes.
/// <list type="number">
/// <item>Deterministic keys (source id, loyalty id, email, phone) already owned: the record belongs to their owner. Owners
/// that differ are one person seen through different keys: merge them.</item>
/// <item>Otherwise the blocked candidates are scored (best over each profile's variants): at or above
/// <see cref="MatchOptions.MatchThreshold"/> the record joins the best; if several profiles clear it they are merged (when
/// <see cref="MatchOptions.MergeProfilesLinkedByScore"/>). Email, phone and loyalty id count as evidence too (a disagreement
/// weighs against). A candidate is held back as a possible match for review, never merged, when it scores in the review band,
/// when only its names agree (<see cref="MatchOptions.MinCorroboratingWeight"/>), or when an email, phone or loyalty id
/// conflicts (<see cref="MatchOptions.ReviewConflictingIdentifiers"/>).</item>
/// <item>Otherwise a new profile with the id derived from the record's source-id key.</item>
/// </list>
/// Survivor of a merge: the ordinally smallest customer id. Ids are deterministic, so the rule is too: a re-run, or two
/// workers racing on the same people, pick the same survivor regardless of arrival order.
/// </summary>
public sealed class IdentityResolver(ProbabilisticMatcher matcher)
{
    public IdentityResolver()
        : this(new ProbabilisticMatcher())
    {
    }

    public ProbabilisticMatcher Matcher { get; } = matcher ?? throw new ArgumentNullException(nameof(matcher));

    public static string Survivor(IEnumerable<string> customerIds) =>
        customerIds.Min(StringComparer.Ordinal) ?? throw new ArgumentException("No customer ids.", nameof(customerIds));

    /// <param name="keys">The record's deterministic keys (<see cref="MatchKeyHasher.DeterministicKeys"/>); must include its source-id key.</param>
    /// <param name="owners">Key value → owning customer id, for the keys already claimed (mergedInto already followed).</param>
    /// <param name="candidates">Profiles found through the record's blocking keys (mergedInto followed, distinct).</param>
    public IdentityDecision Resolve(
        MatchCandidate record,
        IReadOnlyList<MatchKey> keys,
        IReadOnlyDictionary<string, string> owners,
        IReadOnlyList<ProfileCandidate> candidates)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(owners);
        ArgumentNullException.ThrowIfNull(candidates);

        // Indexed loops: a foreach over the interface would allocate an enumerator per record.
        MatchKey sourceKey = default;
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].Kind == MatchKeyKind.SourceId)
            {
                sourceKey = keys[i];
                break;
            }
        }
        if (sourceKey.Value is null)
        {
            throw new ArgumentException("The record's source-id key is required.", nameof(keys));
        }

        // The owned deterministic keys, strongest kind first (keys of one kind in the order given).
        var links = new List<KeyLink>();
        if (owners.Count > 0)
        {
            for (var kind = MatchKeyKind.SourceId; kind < MatchKeyKind.Blocking; kind++)
            {
                for (var i = 0; i < keys.Count; i++)
                {
                    if (keys[i].Kind == kind && owners.TryGetValue(keys[i].Value, out var owner))
                    {
                        links.Add(new KeyLink(kind, owner));
                    }
                }
            }
        }

        if (links.Count > 0)
        {
            var rule = RuleOf(links[0].Kind);
            var ownerIds = links.Select(l => l.CustomerId).Distinct(StringComparer.Ordinal).ToList();
            if (ownerIds.Count == 1)
            {
                return new IdentityDecision(ResolutionOutcome.Existing, ownerIds[0], rule, [], links, [], []);
            }

            var survivor = Survivor(ownerIds);
            var merged = ownerIds.Where(id => id != survivor).Order(StringComparer.Ordinal).ToList();
            return new IdentityDecision(ResolutionOutcome.Merge, survivor, rule, merged, links, [], []);
        }

        var newId = MatchKeyHasher.CustomerIdFor(sourceKey);
        if (record.IsEmpty || candidates.Count == 0)
        {
            return new IdentityDecision(ResolutionOutcome.New, newId, ResolutionRule.NewCustomer, [], [], [], []);
        }

        var scored = new List<(string Id, MatchAssessment Assessment, MatchCandidate Best, IReadOnlyList<string>? Keys)>(candidates.Count);
        var options = Matcher.Options;
        foreach (var candidate in candidates)
        {
            if (candidate.Variants.Count == 0)
            {
                continue;
            }

            var assessment = Matcher.Assess(record, keys, candidate.Variants, candidate.Keys);
            if (assessment.Score >= options.ReviewThreshold)
            {
                scored.Add((candidate.CustomerId, assessment, candidate.Variants[assessment.BestIndex], candidate.Keys));
            }
        }

        // Highest score first; ties by id so the decision does not depend on the order candidates were read.
        scored.Sort((x, y) => y.Assessment.Score != x.Assessment.Score
            ? y.Assessment.Score.CompareTo(x.Assessment.Score)
            : string.CompareOrdinal(x.Id, y.Id));
        var matches = new List<(string Id, MatchAssessment Assessment, MatchCandidate Best, IReadOnlyList<string>? Keys)>();
        var held = new List<(string Id, MatchCandidate Best, IReadOnlyList<string>? Keys, ReviewReason Reason)>();
        foreach (var s in scored)
        {
            // Names alone never merge, and a conflicting email, phone or loyalty id holds the pair for a person to review.
            var reason = s.Assessment.Score < options.MatchThreshold ? ReviewReason.BelowThreshold
                : !s.Assessment.Corroborated ? ReviewReason.NamesOnly
                : s.Assessment.Conflicting && options.ReviewConflictingIdentifiers ? ReviewReason.ConflictingIdentifiers
                : (ReviewReason?)null;
            if (reason is { } r)
            {
                held.Add((s.Id, s.Best, s.Keys, r));
            }
            else
            {
                matches.Add(s);
            }
        }

        PossibleMatch Possible(string id, MatchCandidate best, IReadOnlyList<string>? profileKeys, ReviewReason reason) =>
            new(id, Matcher.Explain(record, best, keys, profileKeys), reason);

        var possible = held.Take(Math.Max(0, options.MaxReviewsPerRecord)).Select(h => Possible(h.Id, h.Best, h.Keys, h.Reason)).ToList();
        if (matches.Count == 0)
        {
            return new IdentityDecision(ResolutionOutcome.New, newId, ResolutionRule.NewCustomer, [], [], [], possible);
        }

        if (matches.Count == 1 || !options.MergeProfilesLinkedByScore)
        {
            var best = matches[0];
            possible.InsertRange(0, matches.Skip(1).Select(m => Possible(m.Id, m.Best, m.Keys, ReviewReason.NotBest)));
            return new IdentityDecision(
                ResolutionOutcome.Existing, best.Id, ResolutionRule.Probabilistic, [], [],
                [new ScoredLink(best.Id, Matcher.Explain(record, best.Best, keys, best.Keys))], possible);
        }

        var ids = matches.Select(m => m.Id).ToList();
        var survivorId = Survivor(ids);
        return new IdentityDecision(
            ResolutionOutcome.Merge, survivorId, ResolutionRule.Probabilistic,
            ids.Where(id => id != survivorId).Order(StringComparer.Ordinal).ToList(), [],
            matches.Select(m => new ScoredLink(m.Id, Matcher.Explain(record, m.Best, keys, m.Keys))).ToList(), possible);
    }

    /// <summary>Convenience overload: hashes the record's keys and builds its match fields.</summary>
    public IdentityDecision Resolve(
        CustomerRecord record,
        MatchKeyHasher hasher,
        IReadOnlyDictionary<string, string> owners,
        IReadOnlyList<ProfileCandidate> candidates)
    {
        ArgumentNullException.ThrowIfNull(hasher);
        return Resolve(MatchCandidate.FromRecord(record), hasher.DeterministicKeys(record), owners, candidates);
    }

    private static ResolutionRule RuleOf(MatchKeyKind kind) => kind switch
    {
        MatchKeyKind.SourceId => ResolutionRule.SourceId,
        MatchKeyKind.LoyaltyId => ResolutionRule.LoyaltyId,
        MatchKeyKind.Email => ResolutionRule.Email,
        MatchKeyKind.Phone => ResolutionRule.Phone,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
