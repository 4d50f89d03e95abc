using iCrm.Core.Identity;

namespace iCrm.Core.Tests.Identity;

/// <summary>
/// The default Fellegi–Sunter weights are reproducible: re-estimating m and u on Febrl dataset 2 (all true duplicate pairs;
/// 200,000 seeded random pairs of different people; +0.5 smoothing) gives the shipped weights.
/// </summary>
[Trait("Category", "Febrl")]
public sealed class MatchWeightsTests
{
    [Fact]
    public void Default_weights_are_the_m_u_estimates_from_febrl_dataset2()
    {
        var rows = FebrlData.Load("dataset2.csv");
        var fields = rows.Select(r => MatchCandidate.FromRecord(r.Record)).ToArray();
        var matcher = new ProbabilisticMatcher();
        var m = new double[8, 4];
        var u = new double[8, 4];

        void Count(double[,] into, int i, int j)
        {
            foreach (var e in matcher.Explain(fields[i], fields[j]).Evidence.Where(e => e.Level != Agreement.Missing))
            {
                into[(int)e.Field, (int)e.Level]++;
            }
        }

        foreach (var person in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].Person).Select(g => g.ToArray()))
        {
            for (var a = 0; a < person.Length; a++)
            {
                for (var b = a + 1; b < person.Length; b++)
                {
                    Count(m, person[a], person[b]);
                }
            }
        }

        var random = new Random(1);
        for (var n = 0; n < 200_000;)
        {
            int i = random.Next(rows.Count), j = random.Next(rows.Count);
            if (rows[i].Person != rows[j].Person)
            {
                Count(u, i, j);
                n++;
            }
        }

        // The fields Febrl has (identifiers are estimated on generated data: IdentifierWeightsTests).
        foreach (var field in Enum.GetValues<MatchField>().Where(f => f <= MatchField.BirthDate))
        {
            double mTotal = 0, uTotal = 0;
            for (var level = 0; level < 4; level++)
            {
                mTotal += m[(int)field, level] + 0.5;
                uTotal += u[(int)field, level] + 0.5;
            }

            foreach (var level in new[] { Agreement.Exact, Agreement.Similar, Agreement.Partial, Agreement.Disagree })
            {
                if (m[(int)field, (int)level] < 10 || u[(int)field, (int)level] < 10)
                {
                    continue; // too rare to estimate; the shipped table sets such levels by hand
                }

                var estimated = Math.Log2((m[(int)field, (int)level] + 0.5) / mTotal / ((u[(int)field, (int)level] + 0.5) / uTotal));
                Assert.True(
                    Math.Abs(estimated - MatchWeights.Default[field, level]) < 0.25,
                    $"{field}/{level}: shipped {MatchWeights.Default[field, level]:0.00}, estimated {estimated:0.00}");
            }
        }
    }
}
