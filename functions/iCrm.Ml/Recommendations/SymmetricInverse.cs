using System.Numerics;

namespace iCrm.Ml.Recommendations;

/// <summary>
/// In-place inverse of a symmetric positive definite matrix (row-major, n×n) by the blocked sweep operator.
/// MathNet's managed dense inverse took over a minute for n = 2,000 on the build machine; this does the same O(n³) work as
/// rank-64 updates over cache-sized column chunks, vectorised and spread over the cores, which brings it to seconds.
/// No pivoting is needed because EASE's Gram matrix plus λI is positive definite.
/// </summary>
internal static class SymmetricInverse
{
    public static void InvertInPlace(double[] a, int n, int blockSize = 64)
    {
        if (a.Length != n * n) throw new ArgumentException("Matrix size does not match n.", nameof(a));
        var t = new double[blockSize * n];
        var d = new double[blockSize * blockSize];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        for (int k0 = 0; k0 < n; k0 += blockSize)
        {
            int m = Math.Min(blockSize, n - k0);
            for (int p = 0; p < m; p++)
                for (int q = 0; q < m; q++) d[p * m + q] = a[(k0 + p) * n + k0 + q];
            SweepSmall(d, m);
            for (int i = 0; i < m * m; i++) d[i] = -d[i]; // the inverse of the diagonal block

            // T = D⁻¹ · A[K, :]
            Array.Clear(t, 0, m * n);
            for (int p = 0; p < m; p++)
            {
                var row = t.AsSpan(p * n, n);
                for (int q = 0; q < m; q++)
                {
                    double c = d[p * m + q];
                    if (c != 0) Axpy(c, a.AsSpan((k0 + q) * n, n), row);
                }
            }

            int block0 = k0, size = m;
            Parallel.For(0, n, parallel, () => new double[blockSize], (i, _, ai) =>
            {
                if (i >= block0 && i < block0 + size) return ai;
                var row = a.AsSpan(i * n, n);
                for (int p = 0; p < size; p++) ai[p] = row[block0 + p];
                const int chunk = 512; // a chunk of the row stays in L1 while the block's rows stream from L2
                for (int j0 = 0; j0 < n; j0 += chunk)
                {
                    int w = Math.Min(chunk, n - j0);
                    var rc = row.Slice(j0, w);
                    int p = 0;
                    for (; p + 3 < size; p += 4)
                        Axpy4(-ai[p], -ai[p + 1], -ai[p + 2], -ai[p + 3],
                            t.AsSpan(p * n + j0, w), t.AsSpan((p + 1) * n + j0, w), t.AsSpan((p + 2) * n + j0, w), t.AsSpan((p + 3) * n + j0, w), rc);
                    for (; p < size; p++)
                        if (ai[p] != 0) Axpy(-ai[p], t.AsSpan(p * n + j0, w), rc);
                }
                for (int p = 0; p < size; p++) row[block0 + p] = t[p * n + i];
                return ai;
            }, _ => { });

            for (int p = 0; p < m; p++)
            {
                var row = a.AsSpan((k0 + p) * n, n);
                t.AsSpan(p * n, n).CopyTo(row);
                for (int q = 0; q < m; q++) row[k0 + q] = -d[p * m + q];
            }
        }
        // Sweeping every pivot leaves −A⁻¹.
        for (int i = 0; i < a.Length; i++) a[i] = -a[i];
    }

    private static void SweepSmall(double[] d, int m)
    {
        for (int k = 0; k < m; k++)
        {
            double pivot = d[k * m + k];
            if (!(pivot > 0)) throw new InvalidOperationException("The matrix is not positive definite.");
            for (int i = 0; i < m; i++)
            {
                if (i == k) continue;
                double f = d[i * m + k] / pivot;
                if (f == 0) continue;
                for (int j = 0; j < m; j++)
                    if (j != k) d[i * m + j] -= f * d[k * m + j];
            }
            for (int i = 0; i < m; i++)
            {
                if (i == k) continue;
                d[i * m + k] /= pivot;
                d[k * m + i] /= pivot;
            }
            d[k * m + k] = -1 / pivot;
        }
    }

    private static void Axpy(double c, ReadOnlySpan<double> x, Span<double> y)
    {
        int i = 0, width = Vector<double>.Count;
        var cv = new Vector<double>(c);
        for (; i <= y.Length - width; i += width)
            Vector.FusedMultiplyAdd(cv, new Vector<double>(x[i..]), new Vector<double>(y[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] += c * x[i];
    }

    private static void Axpy4(double c0, double c1, double c2, double c3,
        ReadOnlySpan<double> x0, ReadOnlySpan<double> x1, ReadOnlySpan<double> x2, ReadOnlySpan<double> x3, Span<double> y)
    {
        int i = 0, width = Vector<double>.Count;
        Vector<double> v0 = new(c0), v1 = new(c1), v2 = new(c2), v3 = new(c3);
        for (; i <= y.Length - width; i += width)
        {
            var acc = new Vector<double>(y[i..]);
            acc = Vector.FusedMultiplyAdd(v0, new Vector<double>(x0[i..]), acc);
            acc = Vector.FusedMultiplyAdd(v1, new Vector<double>(x1[i..]), acc);
            acc = Vector.FusedMultiplyAdd(v2, new Vector<double>(x2[i..]), acc);
            acc = Vector.FusedMultiplyAdd(v3, new Vector<double>(x3[i..]), acc);
            acc.CopyTo(y[i..]);
        }
        for (; i < y.Length; i++) y[i] += c0 * x0[i] + c1 * x1[i] + c2 * x2[i] + c3 * x3[i];
    }
}
