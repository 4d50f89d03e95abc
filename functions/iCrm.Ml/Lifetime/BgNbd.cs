using MathNet.Numerics;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace iCrm.Ml.Lifetime;

/// <summary>
/// Fitted BG/NBD parameters (Fader, Hardie and Lee 2005): purchase rates are Gamma(r, alpha) across customers, the
/// probability of dropping out after a purchase is Beta(a, b). Time in <see cref="TimeUnit"/>.
/// </summary>
public sealed record BgNbdParameters(double R, double Alpha, double A, double B, double LogLikelihood, int Customers, string TimeUnit = LifetimeTime.Unit)
{
    /// <summary>
    /// Expected purchases in the next <paramref name="t"/> time units for a customer with this history (FHL 2005, eq. 10).
    /// </summary>
    public double ExpectedPurchases(CustomerSummary c, double t)
    {
        if (t <= 0) return 0;
        Span<double> expected = stackalloc double[1];
        ExpectedPurchases(c, [t], expected);
        return expected[0];
    }

    /// <summary>
    /// <see cref="ExpectedPurchases(CustomerSummary, double)"/> at several horizons at once. The series terms that do not
    /// depend on the horizon are computed once and shared: live CLV scoring needs twelve horizons per customer.
    /// </summary>
    /// <remarks>
    /// FHL's eq. 10 is lead · (1 − (1−z)^n · 2F1(n, b+x; c; z)) / D with n = r+x, c = a+b+x−1, z = t/(α+T+t),
    /// lead = c/(a−1) and D the P(alive) denominator. Evaluated as printed it fails when the fit is degenerate (a, b in the
    /// millions with a/(a+b) small: customers who almost never drop out): (1−z)^(a−1) underflows, the 2F1 overflows, and
    /// lead is large while the bracket is 1 minus something close to 1. Instead, (1−z)^n · (n)_k z^k/k! = NB_k is the
    /// negative binomial distribution (it sums to 1), so the bracket is Σ NB_k (1 − ρ_k) with ρ_k = (b+x)_k/(c)_k, and
    /// lead · (1 − ρ_k) = c·μ_k where μ_{k+1} = μ_k + ρ_k/(c+k) and ρ_{k+1} = ρ_k − (a−1)·ρ_k/(c+k). Every term is then
    /// non-negative (for c &gt; 0), nothing is subtracted from 1, nothing divides by a−1 (a = 1 needs no special case), and
    /// the terms do not depend on how large a and b are. In the no-dropout limit μ_k → k/c and the sum tends to
    /// E[NB] = (r+x)·t/(α+T), the NBD forecast. NB_0 = (1−z)^n is kept in a scaled form so heavy buyers do not underflow.
    /// When the series would need too many terms (z very close to 1) or c ≤ 0, the expectation is integrated numerically
    /// instead (<see cref="ExpectedPurchasesByIntegral"/>).
    /// </remarks>
    public void ExpectedPurchases(CustomerSummary c, ReadOnlySpan<double> horizons, Span<double> expected)
    {
        if (horizons.Length == 0)
        {
            return;
        }
        int x = c.Frequency;
        double n = R + x, cc = A + B + x - 1, aMinus1 = A - 1;
        double alive = ProbabilityAlive(c);
        double origin = Alpha + c.Age;
        Span<double> z = stackalloc double[horizons.Length];
        Span<double> weight = stackalloc double[horizons.Length];
        Span<double> logScale = stackalloc double[horizons.Length];
        Span<double> sum = stackalloc double[horizons.Length];
        var slowest = -1;
        for (var i = 0; i < horizons.Length; i++)
        {
            sum[i] = 0;
            if (!(horizons[i] > 0))
            {
                z[i] = 0;
                weight[i] = 0;
                logScale[i] = 0;
                continue;
            }
            z[i] = horizons[i] / (origin + horizons[i]);
            // NB_0 = (1−z)^n = (1 + t/(α+T))^−n; log1p keeps its relative error near 1e-16 even when n is in the millions.
            double log0 = -n * Log1P(horizons[i] / origin);
            (weight[i], logScale[i]) = log0 > -600 ? (Math.Exp(log0), 0.0) : (1.0, log0);
            if (slowest < 0 || z[i] > z[slowest]) slowest = i;
        }
        if (slowest < 0)
        {
            expected[..horizons.Length].Clear();
            return;
        }

        double zs = z[slowest];
        // Mode of NB(n, z) plus enough geometric tail (ratio z) to reach 1e-17.
        double needed = (n * zs + 40) / (1 - zs);
        if (!(cc > 0) || !(needed < MaxSeriesTerms) || !double.IsFinite(alive) || alive <= 0)
        {
            for (var i = 0; i < horizons.Length; i++)
            {
                expected[i] = alive > 0 && horizons[i] > 0 ? alive * ExpectedPurchasesByIntegral(x, c.Age, horizons[i]) : 0;
            }
            return;
        }

        // True NB weights never exceed 1, so only a horizon that starts scaled (NB_0 below e^−600) can need rescaling;
        // the common case runs a loop without that check.
        bool scaled = false;
        foreach (var l in logScale) scaled |= l < 0;
        double mu = 0, rho = 1;
        for (var k = 0; k < MaxSeriesTerms; k++)
        {
            // Move NB_k, μ_k, ρ_k to k+1; μ_0 = 0, so the k = 0 term contributes nothing.
            double step = rho / (cc + k);
            mu += step;
            rho -= aMinus1 * step;
            double grow = (n + k) / (k + 1);
            if (!scaled)
            {
                for (var i = 0; i < horizons.Length; i++)
                {
                    double w = weight[i] * grow * z[i];
                    sum[i] += w * mu;
                    weight[i] = w;
                }
            }
            else
            {
                for (var i = 0; i < horizons.Length; i++)
                {
                    double w = weight[i] * grow * z[i];
                    sum[i] += w * mu;
                    if (w > 1e250)
                    {
                        w *= 1e-250;
                        sum[i] *= 1e-250;
                        logScale[i] += 250 * Math.Log(10);
                    }
                    weight[i] = w;
                }
            }
            // Past the mode the terms of the slowest horizon shrink geometrically (ratio → z): stop when the tail is negligible.
            if ((n + k) * zs < k + 1 && weight[slowest] * mu * (1 + 1 / (1 - zs)) <= 1e-17 * sum[slowest]) break;
        }
        for (var i = 0; i < horizons.Length; i++)
        {
            double e = horizons[i] > 0 ? alive * cc * (logScale[i] == 0 ? sum[i] : sum[i] * Math.Exp(logScale[i])) : 0;
            expected[i] = double.IsFinite(e) && e >= 0 ? e : alive * ExpectedPurchasesByIntegral(x, c.Age, horizons[i]);
        }
    }

    private const int MaxSeriesTerms = 200_000;

    /// <summary>Probability that the customer has not dropped out by the cutoff (FHL 2005, eq. 11 in the note).</summary>
    /// <remarks>1 / (1 + e^L) with L computed in log space: ((α+T)/(α+t_x))^(r+x) overflows for a heavy buyer long gone.</remarks>
    public double ProbabilityAlive(CustomerSummary c)
    {
        if (c.Frequency == 0) return 1;
        int x = c.Frequency;
        double logOdds = Math.Log(A / (B + x - 1)) + (R + x) * Math.Log((Alpha + c.Age) / (Alpha + c.Recency));
        return logOdds > 0 ? Math.Exp(-logOdds) / (1 + Math.Exp(-logOdds)) : 1 / (1 + Math.Exp(logOdds));
    }

    /// <summary>
    /// The fallback: expected purchases given the customer is alive, E[(1 − (1 + p·u)^−(r+x)) / p] with u = t/(α+T) and
    /// p ~ Beta(a, b+x) (given alive, the rate is Gamma(r+x, α+T); a customer with rate λ and dropout p buys (1 − e^−λpt)/p
    /// times in t on average). Trapezoid rule in y = logit p, where the Beta density is smooth and decays at both ends, so
    /// the rule converges exponentially; normalised by the same rule applied to the density, so no Beta function is needed.
    /// Slow (thousands of points), used only where the series is not.
    /// </summary>
    internal double ExpectedPurchasesByIntegral(int x, double age, double t)
    {
        double beta = B + x, n = R + x, u = t / (Alpha + age);
        double y0 = Math.Log(A / beta), spread = Math.Sqrt(1 / A + 1 / beta);
        double left = y0 - Math.Max(40 * spread, 50 / A), right = y0 + Math.Max(40 * spread, 50 / beta);
        double h = Math.Min(spread, 1) / 32;
        // Cap the number of points for absurd parameters; the rule is still a weighted mean of the integrand, so it stays finite.
        h = Math.Max(h, (right - left) / 200_000);
        double peak = LogDensity(y0), mass = 0, sum = 0;
        for (double y = left; y <= right; y += h)
        {
            double w = Math.Exp(LogDensity(y) - peak);
            double p = y < 0 ? Math.Exp(y) / (1 + Math.Exp(y)) : 1 / (1 + Math.Exp(-y));
            double g = p == 0 ? n * u : -ExpM1(-n * Log1P(p * u)) / p;
            mass += w;
            sum += w * g;
        }
        return mass > 0 ? sum / mass : n * u;

        // p^a (1−p)^beta, the Beta(a, beta) density in y = logit p, in logs and without its constant.
        double LogDensity(double y) => A * y - (A + beta) * (y > 0 ? y + Log1P(Math.Exp(-y)) : Log1P(Math.Exp(y)));
    }

    // Accurate for small arguments (Goldberg's and Kahan's tricks), unlike log(1 + v) and exp(v) − 1.
    private static double Log1P(double v)
    {
        double w = 1 + v;
        return w == 1 ? v : Math.Log(w) * v / (w - 1);
    }

    private static double ExpM1(double v)
    {
        if (Math.Abs(v) < 1e-5) return v + v * v / 2 + v * v * v / 6;
        double w = Math.Exp(v);
        return w == 1 ? v : w - 1 == -1 ? -1 : (w - 1) * v / Math.Log(w);
    }

    /// <summary>
    /// Gauss hypergeometric 2F1(a, b; c; z) by its power series, for 0 ≤ z &lt; 1. Forecasts no longer use it (see
    /// <see cref="ExpectedPurchases(CustomerSummary, ReadOnlySpan{double}, Span{double})"/>); it stays as the textbook
    /// reference the tests compare with. Terms are rescaled so large parameters do not overflow mid-series; the result is
    /// infinite when the function itself is beyond a double, and NaN only for z outside [0, 1) or a non-convergent series.
    /// </summary>
    internal static double Hypergeometric2F1(double a, double b, double c, double z)
    {
        if (!(z >= 0 && z < 1)) return double.NaN;
        double term = 1, sum = 1, logScale = 0;
        for (int k = 0; k < 1_000_000; k++)
        {
            term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
            sum += term;
            if (Math.Abs(sum) > 1e250)
            {
                term *= 1e-250;
                sum *= 1e-250;
                logScale += 250 * Math.Log(10);
            }
            if (Math.Abs(term) < 1e-14 * Math.Abs(sum)) return logScale == 0 ? sum : sum * Math.Exp(logScale);
        }
        return double.NaN;
    }
}

/// <summary>A BG/NBD fit with what is needed to decide whether it may be used.</summary>
/// <param name="Method">Optimiser and why it stopped, for the model card.</param>
/// <param name="GradientNorm">Largest |gradient| of the mean log-likelihood in log parameters at the result.</param>
/// <param name="AtBounds">Parameters at or beyond <see cref="BgNbd.LowerBound"/> and the upper bounds, e.g. "a=2.1e-07".</param>
public sealed record BgNbdFit(BgNbdParameters Parameters, string Method, double GradientNorm, IReadOnlyList<string> AtBounds)
{
    public bool Converged => GradientNorm <= BgNbd.GradientTolerance;

    /// <summary>Why the fit must not be used, or null when it is sound.</summary>
    public string? Problem =>
        !Converged ? $"BG/NBD did not converge ({Method}; gradient {GradientNorm:G3} > {BgNbd.GradientTolerance})"
        : AtBounds.Count > 0 ? $"BG/NBD parameters at a bound: {string.Join(", ", AtBounds)}"
        : null;
}

/// <summary>Maximum-likelihood fitting of BG/NBD.</summary>
public static class BgNbd
{
    /// <summary>
    /// Fits r, alpha, a, b by maximising the closed-form log-likelihood (FHL 2005, eq. 6) with BFGS on the log parameters
    /// (so they stay positive) and an analytic gradient; falls back to Nelder-Mead if the line search fails. The
    /// Gamma-function terms depend on the frequency only, so they are computed once per distinct frequency per evaluation,
    /// which keeps an evaluation on 100k customers to a few milliseconds.
    /// <para>
    /// a and b are deliberately not bounded. When customers hardly ever drop out, or all drop out with about the same
    /// probability, the likelihood keeps rising slowly as a and b grow with a/(a+b) fixed (Beta(a, b) tends to a point
    /// mass: no heterogeneity in dropout), so the optimiser ends far out on that ridge (a ≈ 5e5, b ≈ 3e7 on the score
    /// benchmark's customers). That is the maximum-likelihood answer, not a failure: forecasts depend on a and b through
    /// a/(a+b) there, and <see cref="BgNbdParameters.ExpectedPurchases(CustomerSummary, double)"/> is accurate for any
    /// a, b (it tends to the NBD forecast). A cap would only pick an arbitrary point on the same ridge and would bias fits
    /// whose true a, b are large.
    /// </para>
    /// </summary>
    public static BgNbdParameters Fit(IReadOnlyList<CustomerSummary> customers) => FitChecked(customers).Parameters;

    /// <summary>Where a fitted parameter stops meaning anything (the optimiser itself is unbounded, see <see cref="Fit"/>):
    /// r and α outside [1e-6, 1e6], a and b outside [1e-6, 1e10]. The upper bound for a and b leaves room for the
    /// no-heterogeneity ridge (a ≈ 5e5, b ≈ 3e7 seen on real-sized data); beyond it the fit has run away.</summary>
    public const double LowerBound = 1e-6, RateUpperBound = 1e6, DropoutUpperBound = 1e10;

    /// <summary>Largest |∂(mean log-likelihood)/∂(log parameter)| a converged fit may leave.</summary>
    public const double GradientTolerance = 1e-3;

    /// <summary><see cref="Fit"/> plus whether the fit can be trusted: the optimiser ended normally, the gradient at the
    /// result is (close to) zero and no parameter sits at a bound.</summary>
    public static BgNbdFit FitChecked(IReadOnlyList<CustomerSummary> customers)
    {
        if (customers.Count == 0) throw new ArgumentException("BG/NBD needs at least one customer.", nameof(customers));
        var data = new Data(customers);
        var objective = ObjectiveFunction.Gradient((Func<Vector<double>, (double, Vector<double>)>)(v => data.MeanObjective(v)));
        // Start from rough moments: alpha ~ mean age / mean frequency keeps the rate scale right.
        double meanAge = customers.Average(c => c.Age), meanFreq = Math.Max(0.1, customers.Average(c => c.Frequency));
        var start = Vector<double>.Build.DenseOfArray([0.0, Math.Log(Math.Max(0.1, meanAge / meanFreq)), 0.0, 0.0]);

        Vector<double> best;
        string method;
        try
        {
            var result = new BfgsMinimizer(1e-7, 1e-8, 1e-10, 500).FindMinimum(objective, start);
            best = result.MinimizingPoint;
            method = $"BFGS ({result.ReasonForExit}, {result.Iterations} iterations)";
        }
        catch (Exception e) when (e is OptimizationException or ArgumentException)
        {
            var value = ObjectiveFunction.Value(v => -data.LogLikelihood(Math.Exp(v[0]), Math.Exp(v[1]), Math.Exp(v[2]), Math.Exp(v[3]), false).LogLikelihood / data.Count);
            var result = NelderMeadSimplex.Minimum(value, start, 1e-10, 5000);
            best = result.MinimizingPoint;
            method = $"Nelder-Mead after BFGS failed ({result.ReasonForExit}, {result.Iterations} iterations)";
        }
        double r = Math.Exp(best[0]), alpha = Math.Exp(best[1]), a = Math.Exp(best[2]), b = Math.Exp(best[3]);
        var parameters = new BgNbdParameters(r, alpha, a, b, data.LogLikelihood(r, alpha, a, b, false).LogLikelihood, data.Count);
        var gradient = data.MeanObjective(best).Gradient.AbsoluteMaximum();
        var atBounds = new List<string>();
        void Check(string name, double v, double upper)
        {
            if (!double.IsFinite(v) || v <= LowerBound || v >= upper) atBounds.Add($"{name}={v:G4}");
        }
        Check("r", r, RateUpperBound);
        Check("alpha", alpha, RateUpperBound);
        Check("a", a, DropoutUpperBound);
        Check("b", b, DropoutUpperBound);
        return new BgNbdFit(parameters, method, double.IsFinite(gradient) ? gradient : double.PositiveInfinity, atBounds);
    }

    /// <summary>Total log-likelihood of the customers under the given parameters.</summary>
    public static double LogLikelihood(IReadOnlyList<CustomerSummary> customers, double r, double alpha, double a, double b) =>
        new Data(customers).LogLikelihood(r, alpha, a, b, false).LogLikelihood;

    private sealed class Data
    {
        private readonly int[] _x;
        private readonly double[] _tx, _t;
        private readonly int _maxX;
        public int Count => _x.Length;

        public Data(IReadOnlyList<CustomerSummary> customers)
        {
            _x = new int[customers.Count]; _tx = new double[customers.Count]; _t = new double[customers.Count];
            for (int i = 0; i < customers.Count; i++)
            {
                var c = customers[i];
                if (c.Frequency < 0 || c.Age < 0 || c.Recency < 0 || c.Recency > c.Age + 1e-9)
                    throw new ArgumentException($"Customer summary {i} is inconsistent: {c}.", nameof(customers));
                _x[i] = c.Frequency; _tx[i] = c.Recency; _t[i] = c.Age;
                _maxX = Math.Max(_maxX, c.Frequency);
            }
        }

        /// <summary>Mean negative log-likelihood and its gradient in log parameters: the scale does not grow with the
        /// customer count, so tolerances mean the same for any data size.</summary>
        public (double Value, Vector<double> Gradient) MeanObjective(Vector<double> v)
        {
            var (ll, grad) = LogLikelihood(Math.Exp(v[0]), Math.Exp(v[1]), Math.Exp(v[2]), Math.Exp(v[3]), true);
            var g = Vector<double>.Build.Dense(4);
            for (int i = 0; i < 4; i++) g[i] = -grad[i] * Math.Exp(v[i]) / Count;
            return (double.IsFinite(ll) ? -ll / Count : 1e10, g);
        }

        public (double LogLikelihood, double[] Gradient) LogLikelihood(double r, double alpha, double a, double b, bool withGradient)
        {
            // Terms that depend on x only: ln A1 - r ln alpha, ln A2, and their derivatives.
            int m = _maxX + 1;
            var lnA = new double[m];
            var dR = new double[m]; var dA = new double[m]; var dB = new double[m];
            double lgR = SpecialFunctions.GammaLn(r), lgAB = SpecialFunctions.GammaLn(a + b), lgB = SpecialFunctions.GammaLn(b);
            double psiR = withGradient ? SpecialFunctions.DiGamma(r) : 0, psiAB = withGradient ? SpecialFunctions.DiGamma(a + b) : 0, psiB = withGradient ? SpecialFunctions.DiGamma(b) : 0;
            for (int x = 0; x < m; x++)
            {
                lnA[x] = SpecialFunctions.GammaLn(r + x) - lgR + lgAB + SpecialFunctions.GammaLn(b + x) - lgB - SpecialFunctions.GammaLn(a + b + x);
                if (!withGradient) continue;
                double psiABx = SpecialFunctions.DiGamma(a + b + x);
                dR[x] = SpecialFunctions.DiGamma(r + x) - psiR;
                dA[x] = psiAB - psiABx;
                dB[x] = psiAB + SpecialFunctions.DiGamma(b + x) - psiB - psiABx;
            }

            double lnAlpha = Math.Log(alpha), lnAa = Math.Log(a);
            double ll = 0, gR = 0, gAlpha = 0, gA = 0, gB = 0;
            for (int i = 0; i < _x.Length; i++)
            {
                int x = _x[i];
                double rx = r + x;
                double lnAT = Math.Log(alpha + _t[i]);
                double l3 = -rx * lnAT;
                double total, w4 = 0, lnAtx = 0;
                if (x > 0)
                {
                    lnAtx = Math.Log(alpha + _tx[i]);
                    double l4 = lnAa - Math.Log(b + x - 1) - rx * lnAtx;
                    double mx = Math.Max(l3, l4);
                    double e3 = Math.Exp(l3 - mx), e4 = Math.Exp(l4 - mx);
                    total = mx + Math.Log(e3 + e4);
                    w4 = e4 / (e3 + e4);
                }
                else total = l3;
                ll += lnA[x] + r * lnAlpha + total;
                if (!withGradient) continue;
                double w3 = 1 - w4;
                gR += dR[x] + lnAlpha - w3 * lnAT - w4 * lnAtx;
                gAlpha += r / alpha - w3 * rx / (alpha + _t[i]) - (x > 0 ? w4 * rx / (alpha + _tx[i]) : 0);
                gA += dA[x] + w4 / a;
                gB += dB[x] - (x > 0 ? w4 / (b + x - 1) : 0);
            }
            return (ll, [gR, gAlpha, gA, gB]);
        }
    }
}
