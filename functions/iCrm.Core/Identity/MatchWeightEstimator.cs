namespace iCrm.Core.Identity;

/// <summary>
/// Estimates Fellegi–Sunter m/u probabilities for an identifier field (email, phone, loyalty id: compared as keyed hashes,
/// so only Exact or Disagree) from data, the way the shipped <see cref="MatchWeights.Default"/> identifier rows were made:
/// <list type="bullet">
/// <item><b>m</b> (same person): the share of Exact and Disagree over every pair of records of one person where both carry
/// the field, +0.5 smoothing. Who is one person comes from ground truth (the generator's <c>truth/customers.csv</c>).</item>
/// <item><b>u</b> (different people): from value frequencies, Σ p_v² over the people holding each value (p_v = share of
/// people with value v), i.e. the chance that two random different people share a value; Disagree = 1 − that.</item>
/// </list>
/// Levels an identifier cannot produce (Similar, Partial) get m = u (weight 0).
/// </summary>
public static class MatchWeightEstimator
{
    /// <param name="people">For each person, the field's value in each of their records (null: the record lacks it).</param>
    public static (double[] M, double[] U) Identifier(IEnumerable<IReadOnlyList<string?>> people)
    {
        ArgumentNullException.ThrowIfNull(people);
        double exact = 0, disagree = 0;
        var holders = new Dictionary<string, int>(StringComparer.Ordinal);
        var peopleWithValue = 0;
        foreach (var records in people)
        {
            for (var a = 0; a < records.Count; a++)
            {
                if (records[a] is null)
                {
                    continue;
                }
                for (var b = a + 1; b < records.Count; b++)
                {
                    if (records[b] is { } other)
                    {
                        if (string.Equals(records[a], other, StringComparison.Ordinal))
                        {
                            exact++;
                        }
                        else
                        {
                            disagree++;
                        }
                    }
                }
            }
            var distinct = records.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            if (distinct.Count > 0)
            {
                peopleWithValue++;
            }
            foreach (var value in distinct)
            {
                holders[value] = holders.GetValueOrDefault(value) + 1;
            }
        }
        if (peopleWithValue < 2)
        {
            throw new ArgumentException("At least two people with a value are needed to estimate u.", nameof(people));
        }

        var uExact = holders.Values.Sum(n => (double)n / peopleWithValue * n / peopleWithValue);
        var mTotal = exact + disagree + 1.0;
        return (
            [(exact + 0.5) / mTotal, 1, 1, (disagree + 0.5) / mTotal],
            [uExact, 1, 1, 1 - uExact]);
    }
}
