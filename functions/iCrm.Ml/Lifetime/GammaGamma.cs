using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace iCrm.Ml.Lifetime;

/// <summary>
/// Fitted Gamma-Gamma spend parameters (Fader and Hardie 2013): a customer's transaction values are Gamma(p, nu) and nu is
/// Gamma(q, gamma) across customers. Fitted on customers with at least one repeat purchase and positive average spend.
/// </summary>
public sealed record GammaGammaParameters(double P, double Q, double Gamma, double LogLikelihood, int Customers)
{
    /// <summary>Mean spend per purchase across the population, p·gamma/(q−1); infinite when q ≤ 1.</summary>
    public double PopulationMeanSpend => Q > 1 ? P * Gamma / (Q - 1) : double.PositiveInfinity;

    /// <summary>
    /// Expected spend per purchase for a customer: p(gamma + x·m)/(p·x + q − 1), a weighted mean of the population mean
    /// and the customer's own average. Customers without repeat purchases get the population mean.
    /// </summary>
    public double ExpectedAverageSpend(CustomerSummary c)
    {
        if (c.Frequency == 0 || c.MonetaryValue <= 0) return PopulationMeanSpend;
        return P * (Gamma + c.Frequency * c.MonetaryValue) / (P * c.Frequency + Q - 1);
    }
}

/// <summary>Maximum-likelihood fitting of Gamma-Gamma.</summary>
public static class GammaGamma
{
    /// <summary>Customers Gamma-Gamma can learn from: repeat buyers with a positive average spend.</summary>
    public static bool IsUsable(CustomerSummary c) => c.Frequency > 0 && c.MonetaryValue > 0 && double.IsFinite(c.MonetaryValue);

    /// <summary>
    /// Fits p, q, gamma by maximising the log-likelihood of the observed average spends (Fader and Hardie 2013, eq. 3)
    /// with BFGS in log space and an analytic gradient; Nelder-Mead if the line search fails.
    /// </summary>
    public static GammaGammaParameters Fit(IReadOnlyList<CustomerSummary> customers)
    {
        var usable = customers.Where(IsUsable).ToArray();
        if (usable.Length == 0) throw new ArgumentException("Gamma-Gamma needs customers with repeat purchases.", nameof(customers));
        var data = new Data(usable);
        var objective = ObjectiveFunction.Gradient((Func<Vector<double>, (double, Vector<double>)>)(v =>
        {
            double p = Math.Exp(v[0]), q = Math.Exp(v[1]), g = Math.Exp(v[2]);
            var (ll, grad) = data.LogLikelihood(p, q, g, true);
            var gv = Vector<double>.Build.DenseOfArray([-grad[0] * p / data.Count, -grad[1] * q / data.Count, -grad[2] * g / data.Count]);
            return (double.IsFinite(ll) ? -ll / data.Count : 1e10, gv);
        }));
        double meanSpend = usable.Average(c => c.MonetaryValue);
        var start = Vector<double>.Build.DenseOfArray([0.0, Math.Log(2.0), Math.Log(Math.Max(1e-3, meanSpend))]);
        Vector<double> best;
        try
        {
            best = new BfgsMinimizer(1e-7, 1e-8, 1e-10, 500).FindMinimum(objective, start).MinimizingPoint;
        }
        catch (Exception e) when (e is OptimizationException or ArgumentException)
        {
            var value = ObjectiveFunction.Value(v => -data.LogLikelihood(Math.Exp(v[0]), Math.Exp(v[1]), Math.Exp(v[2]), false).LogLikelihood / data.Count);
            best = NelderMeadSimplex.Minimum(value, start, 1e-10, 5000).MinimizingPoint;
        }
        double pp = Math.Exp(best[0]), qq = Math.Exp(best[1]), gg = Math.Exp(best[2]);
        return new GammaGammaParameters(pp, qq, gg, data.LogLikelihood(pp, qq, gg, false).LogLikelihood, data.Count);
    }

    private sealed class Data
    {
        private readonly int[] _x;
        private readonly double[] _m, _lnM, _lnX;
        private readonly int _maxX;
        public int Count => _x.Length;

        public Data(CustomerSummary[] customers)
        {
            _x = customers.Select(c => c.Frequency).ToArray();
            _m = customers.Select(c => c.MonetaryValue).ToArray();
            _lnM = _m.Select(m => Math.Log(m)).ToArray();
            _lnX = _x.Select(x => Math.Log(x)).ToArray();
            _maxX = _x.Max();
        }

        public (double LogLikelihood, double[] Gradient) LogLikelihood(double p, double q, double g, bool withGradient)
        {
            int n = _maxX + 1;
            var lnC = new double[n]; var psiPxQ = new double[n]; var psiPx = new double[n];
            double lgQ = SpecialFunctions.GammaLn(q), psiQ = withGradient ? SpecialFunctions.DiGamma(q) : 0;
            for (int x = 1; x < n; x++)
            {
                lnC[x] = SpecialFunctions.GammaLn(p * x + q) - SpecialFunctions.GammaLn(p * x) - lgQ;
                if (!withGradient) continue;
                psiPxQ[x] = SpecialFunctions.DiGamma(p * x + q);
                psiPx[x] = SpecialFunctions.DiGamma(p * x);
            }
            double lnG = Math.Log(g);
            double ll = 0, gp = 0, gq = 0, gg = 0;
            for (int i = 0; i < _x.Length; i++)
            {
                int x = _x[i];
                double px = p * x;
                double lnDen = Math.Log(g + _m[i] * x);
                ll += lnC[x] + q * lnG + (px - 1) * _lnM[i] + px * _lnX[i] - (px + q) * lnDen;
                if (!withGradient) continue;
                gp += x * (psiPxQ[x] - psiPx[x] + _lnM[i] + _lnX[i] - lnDen);
                gq += psiPxQ[x] - psiQ + lnG - lnDen;
                gg += q / g - (px + q) / (g + _m[i] * x);
            }
            return (ll, [gp, gq, gg]);
        }
    }
}
