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
    private readonly double[,] weights = new double[8, 5];

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
}

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
        var (score, swapped) = Compare(a, b, evidence);
        return new MatchExplanation(Math.Round(score, 2), swapped, evidence);
    }

    private (double Score, bool Swapped) Compare(MatchCandidate a, MatchCandidate b, List<MatchEvidence>? evidence)
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

        var score = names
            + w[MatchField.StreetNumber, number]
            + w[MatchField.Street, street]
            + w[MatchField.Suburb, suburb]
            + w[MatchField.Postcode, postcode]
            + w[MatchField.State, state]
            + w[MatchField.BirthDate, birth];

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

        return (score, swapped);
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
