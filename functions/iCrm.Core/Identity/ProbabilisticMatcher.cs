using System.Globalization;

namespace iCrm.Core.Identity;

/// <summary>The fields the matcher compares (never soc-sec-like national ids: they are not collected).</summary>
public enum MatchField
{
    GivenName,
    Surname,
    StreetNumber,
    Street,
    Suburb,
    Postcode,
    State,
    BirthDate,

    /// <summary>Identifiers compared as keyed hashes (the record's <c>em:</c>/<c>ph:</c>/<c>ly:</c> keys against the profile's):
    /// exact or disagree. The matcher only sees them when no key is owned yet, so in practice they disagree or are missing.</summary>
    Email,
    Phone,
    LoyaltyId,
}

/// <summary>How well one field agrees between two records, from best to worst; <see cref="Missing"/> carries no evidence.</summary>
public enum Agreement
{
    Exact,
    /// <summary>Names/streets: Jaro–Winkler ≥ 0.94 (a typo); birth date: day and month swapped.</summary>
    Similar,
    /// <summary>Names/streets: Jaro–Winkler ≥ 0.85; numbers, postcodes and birth dates: one character wrong or two adjacent swapped.</summary>
    Partial,
    Disagree,
    Missing,
}

/// <summary>
/// Fellegi–Sunter weights: for each field and agreement level, log2(m/u), where m is the probability of that level among
/// records of the same person and u among records of different people. <see cref="Default"/> documents where they come from.
/// </summary>
public sealed class MatchWeights
{
    private readonly double[,] weights = new double[FieldCount, 5];

    internal const int FieldCount = 11;

    /// <summary>Builds weights from m and u probabilities per field, listed for Exact, Similar, Partial, Disagree.</summary>
    public static MatchWeights FromProbabilities(IReadOnlyDictionary<MatchField, (double[] M, double[] U)> probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        var result = new MatchWeights();
        foreach (var (field, (m, u)) in probabilities)
        {
            for (var level = 0; level < 4; level++)
            {
                result.weights[(int)field, level] = Math.Log2(m[level] / u[level]);
            }
        }

        return result;
    }

    public double this[MatchField field, Agreement level] => level == Agreement.Missing ? 0 : weights[(int)field, (int)level];

    /// <summary>
    /// m/u probabilities estimated on Febrl dataset 2 (5,000 records) against its ground truth, soc_sec_id not used:
    /// m = share of each level over all true duplicate pairs, u = share over 200,000 random pairs of different people,
    /// both smoothed (+0.5 count) and rounded; levels a field cannot produce get m = u. Datasets 1 and 3 were not used to fit
    /// them, and the thresholds were then tuned on the incremental ingestion of all three (tests/…/Identity/FebrlMatchingTests).
    /// </summary>
    public static MatchWeights Default { get; } = FromProbabilities(new Dictionary<MatchField, (double[], double[])>
    {
        //                                 Exact   Similar  Partial  Disagree
        [MatchField.GivenName] = ([0.706, 0.120, 0.051, 0.124], [0.00403, 0.00070, 0.00298, 0.99229]),
        [MatchField.Surname] = ([0.632, 0.207, 0.065, 0.097], [0.00422, 0.00049, 0.00146, 0.99383]),
        [MatchField.StreetNumber] = ([0.839, 0.001, 0.006, 0.156], [0.01274, 0.001, 0.00162, 0.98564]),
        [MatchField.Street] = ([0.558, 0.357, 0.006, 0.079], [0.00045, 0.00015, 0.01309, 0.98631]),
        [MatchField.Suburb] = ([0.664, 0.251, 0.011, 0.074], [0.00121, 0.00019, 0.00259, 0.99601]),
        [MatchField.Postcode] = ([0.761, 0.001, 0.199, 0.040], [0.00088, 0.001, 0.01315, 0.98596]),
        [MatchField.State] = ([0.953, 0.001, 0.001, 0.047], [0.22594, 0.001, 0.001, 0.77405]),
        [MatchField.BirthDate] = ([0.920, 0.003, 0.014, 0.066], [0.00003, 0.00001, 0.00106, 0.99890]),
        // Identifiers (keyed hashes: Exact or Disagree only), estimated by MatchWeightEstimator on a generated data set of
        // 3,000 people over six sources (seed 5), grouped by its ground truth: m over record pairs of one person, u from value
        // frequencies. IdentifierWeightsTests re-estimates them.
        [MatchField.Email] = ([0.9201, 1, 1, 0.0799], [0.000386, 1, 1, 0.999614]),
        [MatchField.Phone] = ([0.9997, 1, 1, 0.0003], [0.000366, 1, 1, 0.999634]),
        [MatchField.LoyaltyId] = ([0.9977, 1, 1, 0.0023], [0.000948, 1, 1, 0.999052]),
    });
}

/// <summary>Matcher settings (bound from configuration by the host); scores are sums of log2 likelihood ratios.</summary>
public sealed record MatchOptions
{
    /// <summary>At or above: the record is the candidate's person and is merged into that profile.</summary>
    public double MatchThreshold { get; init; } = 14.0;

    /// <summary>At or above (but below <see cref="MatchThreshold"/>): kept separate, recorded as a possible match for review.</summary>
    public double ReviewThreshold { get; init; } = 7.0;

    /// <summary>When a record matches two existing profiles above <see cref="MatchThreshold"/>, merge them (else join the best).</summary>
    public bool MergeProfilesLinkedByScore { get; init; } = true;

    public MatchWeights Weights { get; init; } = MatchWeights.Default;

    /// <summary>
    /// Evidence a match needs from fields other than the names (the sum of the positive weights of street number, street,
    /// suburb, postcode, state, birth date and identifiers). Names alone, in any spelling, never merge: two people called
    /// Maria Kowalska are namesakes until something else agrees. Above a state match (2.1) so a shared state is not enough.
    /// </summary>
    public double MinCorroboratingWeight { get; init; } = 3.0;

    /// <summary>A candidate scoring at or above <see cref="MatchThreshold"/> whose email, phone or loyalty id disagrees is
    /// held for review (a new profile, and a review candidate) instead of being merged.</summary>
    public bool ReviewConflictingIdentifiers { get; init; } = true;

    /// <summary>
    /// A different email alone does not hold a pair for review when the birth date and part of the address (street number,
    /// street, suburb or postcode) agree too: people sign up with a private address in one channel and a work address in
    /// another, so an email disagreement is weak evidence (it still weighs against, <see cref="MatchWeights.Default"/>).
    /// A different phone or loyalty id, or a different email with names and birth date only, is still held.
    /// </summary>
    public bool EmailMayDifferWhenBirthDateAndAddressAgree { get; init; } = true;

    /// <summary>At most this many review candidates are kept per record (the highest scores).</summary>
    public int MaxReviewsPerRecord { get; init; } = 3;
}

/// <summary>How a record compares with one profile: the best score over the profile's variants (identifiers included),
/// whether something besides the names agrees, and whether a strong identifier (email, phone, loyalty id) disagrees.</summary>
public readonly record struct MatchAssessment(double Score, int BestIndex, bool Corroborated, bool Conflicting);

/// <summary>One piece of evidence: field and agreement level (never the values), and the weight it added.</summary>
public sealed record MatchEvidence(MatchField Field, Agreement Level, double Weight)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture, $"{Field}:{Level}:{Weight:+0.00;-0.00;0.00}");
}

/// <summary>Why two records were (or were not) judged the same person; holds no personal data, safe to store and show.</summary>
public sealed record MatchExplanation(double Score, bool NamesSwapped, IReadOnlyList<MatchEvidence> Evidence)
{
    /// <summary>Compact lines for <c>CustomerProfile.MergeExplanations[].Evidence</c>, e.g. <c>Surname:Exact:+8.06</c>.</summary>
    public IReadOnlyList<string> ToEvidenceLines()
    {
        var lines = new List<string>(Evidence.Count + 1);
        if (NamesSwapped)
        {
            lines.Add("GivenName<->Surname:Swapped");
        }

        foreach (var e in Evidence)
        {
            lines.Add(e.ToString());
        }

        return lines;
    }
}

/// <summary>
/// Fellegi–Sunter record comparison: each field gets an agreement level, each level a weight log2(m/u), the score is their sum.
/// Pure and allocation-light in <see cref="Score"/>; <see cref="Explain"/> builds the evidence list for the chosen match only.
/// </summary>
public sealed class ProbabilisticMatcher(MatchOptions options)
{
    private const double NameSimilar = 0.94;
    private const double NamePartial = 0.85;
    private const double PlaceSimilar = 0.92;
    private const double PlacePartial = 0.80;

    public MatchOptions Options { get; } = Validated(options);

    public ProbabilisticMatcher()
        : this(new MatchOptions())
    {
    }

    private static MatchOptions Validated(MatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ReviewThreshold > options.MatchThreshold)
        {
            throw new ArgumentException(
                $"ReviewThreshold ({options.ReviewThreshold}) must not exceed MatchThreshold ({options.MatchThreshold}).", nameof(options));
        }

        return options;
    }

    public double Score(MatchCandidate a, MatchCandidate b) => Compare(a, b, null).Score;

    /// <summary>
    /// Compares a record with a profile: its variants (the best counts; a corroborated variant, one where more than the
    /// names agree, is preferred over a higher-scoring uncorroborated one) plus the identifiers, compared as keyed hashes:
    /// the record's <c>em:</c>/<c>ph:</c>/<c>ly:</c> keys against those the profile owns.
    /// </summary>
    public MatchAssessment Assess(MatchCandidate record, IReadOnlyList<MatchKey> recordKeys, IReadOnlyList<MatchCandidate> variants,
        IReadOnlyList<string>? profileKeys)
    {
        ArgumentNullException.ThrowIfNull(recordKeys);
        ArgumentNullException.ThrowIfNull(variants);
        var (identifiers, identifierSupport, conflict) = CompareIdentifiers(recordKeys, profileKeys, null);
        double best = double.NegativeInfinity, bestCorroborated = double.NegativeInfinity;
        int bestIndex = -1, bestCorroboratedIndex = -1;
        bool bestPlaced = false, bestCorroboratedPlaced = false;
        for (var i = 0; i < variants.Count; i++)
        {
            var (score, _, support, placed) = Compare(record, variants[i], null);
            if (score > best)
            {
                (best, bestIndex, bestPlaced) = (score, i, placed);
            }
            if (support + identifierSupport >= Options.MinCorroboratingWeight && score > bestCorroborated)
            {
                (bestCorroborated, bestCorroboratedIndex, bestCorroboratedPlaced) = (score, i, placed);
            }
        }
        return bestCorroboratedIndex >= 0
            ? new MatchAssessment(bestCorroborated + identifiers, bestCorroboratedIndex, true, Conflicts(conflict, bestCorroboratedPlaced))
            : new MatchAssessment(best + identifiers, bestIndex, false, Conflicts(conflict, bestPlaced));
    }

    /// <summary>Whether the identifiers conflict for a variant: a phone or loyalty id always; an email unless birth date and
    /// address agree (<see cref="MatchOptions.EmailMayDifferWhenBirthDateAndAddressAgree"/>).</summary>
    private bool Conflicts(IdentifierConflict conflict, bool bornAndPlaced) =>
        conflict.Strong || (conflict.Email && !(bornAndPlaced && Options.EmailMayDifferWhenBirthDateAndAddressAgree));

    /// <summary>The best score of <paramref name="record"/> against any of a profile's variants.</summary>
    public double BestScore(MatchCandidate record, IReadOnlyList<MatchCandidate> variants, out int bestIndex)
    {
        ArgumentNullException.ThrowIfNull(variants);
        var best = double.NegativeInfinity;
        bestIndex = -1;
        for (var i = 0; i < variants.Count; i++)
        {
            var s = Score(record, variants[i]);
            if (s > best)
            {
                best = s;
                bestIndex = i;
            }
        }

        return best;
    }

    public MatchExplanation Explain(MatchCandidate a, MatchCandidate b)
    {
        var evidence = new List<MatchEvidence>(8);
        var (score, swapped, _, _) = Compare(a, b, evidence);
        return new MatchExplanation(Math.Round(score, 2), swapped, evidence);
    }

    /// <summary>The evidence of a record against one variant of a profile, identifiers included (levels and weights only).</summary>
    public MatchExplanation Explain(MatchCandidate record, MatchCandidate variant, IReadOnlyList<MatchKey> recordKeys, IReadOnlyList<string>? profileKeys)
    {
        ArgumentNullException.ThrowIfNull(recordKeys);
        var evidence = new List<MatchEvidence>(11);
        var (score, swapped, _, _) = Compare(record, variant, evidence);
        var (identifiers, _, _) = CompareIdentifiers(recordKeys, profileKeys, evidence);
        return new MatchExplanation(Math.Round(score + identifiers, 2), swapped, evidence);
    }

    /// <summary>Which identifiers disagree: the email, or a strong one (phone, loyalty id).</summary>
    private readonly record struct IdentifierConflict(bool Email, bool Strong);

    /// <summary>Email, phone and loyalty id: Exact when the record's key is among the profile's, Disagree when both have
    /// keys of that kind and none is shared, Missing otherwise.</summary>
    private (double Score, double Support, IdentifierConflict Conflict) CompareIdentifiers(IReadOnlyList<MatchKey> recordKeys, IReadOnlyList<string>? profileKeys,
        List<MatchEvidence>? evidence)
    {
        double score = 0, support = 0;
        IdentifierConflict conflict = default;
        if (profileKeys is null || profileKeys.Count == 0)
        {
            return (0, 0, conflict);
        }
        var w = Options.Weights;
        for (var kind = MatchKeyKind.LoyaltyId; kind <= MatchKeyKind.Phone; kind++)
        {
            var level = IdentifierLevel(recordKeys, kind, profileKeys);
            if (level == Agreement.Missing)
            {
                continue;
            }
            var field = kind switch { MatchKeyKind.Email => MatchField.Email, MatchKeyKind.Phone => MatchField.Phone, _ => MatchField.LoyaltyId };
            var weight = w[field, level];
            score += weight;
            if (weight > 0)
            {
                support += weight;
            }
            if (level == Agreement.Disagree)
            {
                conflict = field == MatchField.Email ? conflict with { Email = true } : conflict with { Strong = true };
            }
            evidence?.Add(new MatchEvidence(field, level, Math.Round(weight, 2)));
        }
        return (score, support, conflict);
    }

    internal static Agreement IdentifierLevel(IReadOnlyList<MatchKey> recordKeys, MatchKeyKind kind, IReadOnlyList<string> profileKeys)
    {
        var prefix = MatchKey.Prefix(kind);
        var recordHas = false;
        for (var i = 0; i < recordKeys.Count; i++)
        {
            if (recordKeys[i].Kind != kind)
            {
                continue;
            }
            recordHas = true;
            for (var j = 0; j < profileKeys.Count; j++)
            {
                if (string.Equals(profileKeys[j], recordKeys[i].Value, StringComparison.Ordinal))
                {
                    return Agreement.Exact;
                }
            }
        }
        if (!recordHas)
        {
            return Agreement.Missing;
        }
        for (var j = 0; j < profileKeys.Count; j++)
        {
            var key = profileKeys[j];
            if (key.Length > prefix.Length && key[prefix.Length] == ':' && key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return Agreement.Disagree;
            }
        }
        return Agreement.Missing;
    }

    /// <summary>The score, whether the names were swapped, the support (the positive weight of fields other than the names),
    /// and whether the birth date and at least one address field (number, street, suburb, postcode) agree.</summary>
    private (double Score, bool Swapped, double Support, bool BornAndPlaced) Compare(MatchCandidate a, MatchCandidate b, List<MatchEvidence>? evidence)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var w = Options.Weights;

        var given = NameLevel(a.GivenName, b.GivenName);
        var surname = NameLevel(a.Surname, b.Surname);
        var names = w[MatchField.GivenName, given] + w[MatchField.Surname, surname];
        var swapped = false;
        if (given != Agreement.Exact || surname != Agreement.Exact)
        {
            // Sources that swap given name and surname (form fields filled the other way round).
            var swappedGiven = NameLevel(a.GivenName, b.Surname);
            var swappedSurname = NameLevel(a.Surname, b.GivenName);
            var swappedNames = w[MatchField.GivenName, swappedGiven] + w[MatchField.Surname, swappedSurname];
            if (swappedNames > names && swappedGiven != Agreement.Missing && swappedSurname != Agreement.Missing)
            {
                (given, surname, names, swapped) = (swappedGiven, swappedSurname, swappedNames, true);
            }
        }

        var number = CodeLevel(a.StreetNumber, b.StreetNumber, minTypoLength: 3);
        var street = PlaceLevel(a.Street, b.Street);
        var suburb = PlaceLevel(a.Suburb, b.Suburb);
        var postcode = CodeLevel(a.Postcode, b.Postcode);
        var state = ExactLevel(a.State, b.State);
        var birth = BirthDateLevel(a.BirthDate, b.BirthDate);

        double rest = 0, support = 0;
        void Sum(double weight)
        {
            rest += weight;
            if (weight > 0)
            {
                support += weight;
            }
        }
        Sum(w[MatchField.StreetNumber, number]);
        Sum(w[MatchField.Street, street]);
        Sum(w[MatchField.Suburb, suburb]);
        Sum(w[MatchField.Postcode, postcode]);
        Sum(w[MatchField.State, state]);
        Sum(w[MatchField.BirthDate, birth]);
        var score = names + rest;

        if (evidence is not null)
        {
            void Add(MatchField f, Agreement l) => evidence.Add(new MatchEvidence(f, l, Math.Round(w[f, l], 2)));
            Add(MatchField.GivenName, given);
            Add(MatchField.Surname, surname);
            Add(MatchField.StreetNumber, number);
            Add(MatchField.Street, street);
            Add(MatchField.Suburb, suburb);
            Add(MatchField.Postcode, postcode);
            Add(MatchField.State, state);
            Add(MatchField.BirthDate, birth);
        }

        var placed = w[MatchField.StreetNumber, number] > 0 || w[MatchField.Street, street] > 0
            || w[MatchField.Suburb, suburb] > 0 || w[MatchField.Postcode, postcode] > 0;
        return (score, swapped, support, placed && w[MatchField.BirthDate, birth] > 0);
    }

    internal static Agreement NameLevel(string? a, string? b) => SimilarityLevel(a, b, NameSimilar, NamePartial);

    internal static Agreement PlaceLevel(string? a, string? b) => SimilarityLevel(a, b, PlaceSimilar, PlacePartial);

    private static Agreement SimilarityLevel(string? a, string? b, double similar, double partial)
    {
        if (a is null || b is null)
        {
            return Agreement.Missing;
        }

        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return Agreement.Exact;
        }

        var jw = StringSimilarity.JaroWinkler(a, b);
        return jw >= similar ? Agreement.Similar : jw >= partial ? Agreement.Partial : Agreement.Disagree;
    }

    /// <summary>Street numbers and postcodes: exact, or one keying error (a wrong or transposed digit).</summary>
    /// A keying error in a one- or two-digit house number is indistinguishable from another house, hence <paramref name="minTypoLength"/>.
    internal static Agreement CodeLevel(string? a, string? b, int minTypoLength = 1)
    {
        if (a is null || b is null)
        {
            return Agreement.Missing;
        }

        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return Agreement.Exact;
        }

        return a.Length >= minTypoLength && StringSimilarity.IsSingleTypo(a, b) ? Agreement.Partial : Agreement.Disagree;
    }

    private static Agreement ExactLevel(string? a, string? b) =>
        a is null || b is null ? Agreement.Missing
        : string.Equals(a, b, StringComparison.Ordinal) ? Agreement.Exact : Agreement.Disagree;

    /// <summary>Exact; day and month swapped (US vs. European forms); or one digit of yyyyMMdd wrong or two adjacent swapped.</summary>
    internal static Agreement BirthDateLevel(DateOnly? a, DateOnly? b)
    {
        if (a is not { } x || b is not { } y)
        {
            return Agreement.Missing;
        }

        if (x == y)
        {
            return Agreement.Exact;
        }

        if (x.Year == y.Year && x.Month == y.Day && x.Day == y.Month)
        {
            return Agreement.Similar;
        }

        Span<char> sx = stackalloc char[8];
        Span<char> sy = stackalloc char[8];
        Digits(x, sx);
        Digits(y, sy);
        return StringSimilarity.IsSingleTypo(sx, sy) ? Agreement.Partial : Agreement.Disagree;
    }

    private static void Digits(DateOnly d, Span<char> into)
    {
        var v = (d.Year * 10000) + (d.Month * 100) + d.Day;
        for (var i = 7; i >= 0; i--)
        {
            into[i] = (char)('0' + (v % 10));
            v /= 10;
        }
    }
}
