namespace iCrm.DataGen;

/// <summary>
/// A small deterministic random source (xoshiro256**). System.Random's seeded sequence is not a documented contract,
/// and the generator promises identical bytes for a seed, so it carries its own. Each person gets independent streams
/// (attributes, orders, events, noise), so changing one part of the story does not reshuffle the others.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>A stream for (seed, subject, purpose): the same triple always yields the same sequence.</summary>
    public static Rng For(int seed, long subject, int purpose)
    {
        ulong x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL;
        x ^= (ulong)subject * 0xBF58476D1CE4E5B9UL + 0x94D049BB133111EBUL;
        x ^= (ulong)(uint)purpose * 0xD6E8FEB86659FD93UL;
        return new Rng(x);
    }

    /// <summary>A stable 64-bit hash of a string (string.GetHashCode is randomised per process).</summary>
    public static long StableHash(string text)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in text)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return (long)(h & 0x7FFFFFFFFFFFFFFFUL);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextU64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextU64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int Next(int n) => n <= 1 ? 0 : (int)Math.BigMul(NextU64(), (ulong)n, out _);

    /// <summary>Uniform integer in [min, max].</summary>
    public int Between(int min, int max) => min + Next(max - min + 1);

    public bool Chance(double probability) => probability > 0 && NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    public double Normal()
    {
        // Box–Muller; the second value is discarded to keep the stream simple to reason about.
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public double Exponential(double rate) => -Math.Log(1.0 - NextDouble()) / rate;

    /// <summary>Gamma(shape, rate) by Marsaglia–Tsang; mean = shape / rate.</summary>
    public double Gamma(double shape, double rate)
    {
        if (shape < 1.0)
        {
            double boost = Math.Pow(NextDouble(), 1.0 / shape);
            return Gamma(shape + 1.0, rate) * boost;
        }
        double d = shape - 1.0 / 3.0;
        double c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal();
                v = 1.0 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = NextDouble();
            if (u < 1.0 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1.0 - v + Math.Log(v)))
            {
                return d * v / rate;
            }
        }
    }

    public double Beta(double a, double b)
    {
        double x = Gamma(a, 1.0);
        double y = Gamma(b, 1.0);
        return x / (x + y);
    }

    public int Poisson(double mean)
    {
        if (mean <= 0) return 0;
        if (mean > 30)
        {
            return Math.Max(0, (int)Math.Round(mean + Math.Sqrt(mean) * Normal()));
        }
        double limit = Math.Exp(-mean);
        double product = NextDouble();
        int count = 0;
        while (product > limit)
        {
            count++;
            product *= NextDouble();
        }
        return count;
    }

    /// <summary>Index drawn from cumulative weights (last element = total).</summary>
    public int PickCumulative(double[] cumulative)
    {
        double target = NextDouble() * cumulative[^1];
        int index = Array.BinarySearch(cumulative, target);
        if (index < 0) index = ~index;
        return Math.Min(index, cumulative.Length - 1);
    }
}
