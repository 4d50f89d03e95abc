using System.Globalization;
using System.Runtime.CompilerServices;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Benchmarks;

/// <summary>
/// A customer store whose profiles are a pure function of (seed, index): nothing is held per customer but what training
/// writes back, so a process's peak memory measures the training and scoring code, not the store. Ids look like real ones
/// (<c>c_</c> + 24 hex) and spread over the slices like hashes; the index is encoded in the id, so a point read regenerates
/// the profile. Written predictions are kept compactly: per kind and customer, one byte naming the model version (the
/// value itself is dropped; the write-back's idempotency only compares versions), plus an int ETag per customer. Feedback
/// sentiment written back is dropped too (the generated feedback is always unscored).
/// <para>The shop: each customer buys as a Poisson process (rate ~ Gamma) until dropping out, over two years, from 1-3
/// favourite categories of a catalogue in 20 categories; satisfaction drives dropout and ratings; feedback texts follow
/// the rating (about 8 % of orders get one).</para>
/// </summary>
public sealed class GeneratedCustomerStore : ICustomerStore
{
    private static readonly string[] Good = ["great", "excellent", "love", "perfect", "fast delivery", "friendly staff", "recommended", "good value", "happy", "works well"];
    private static readonly string[] Bad = ["terrible", "broken", "late", "rude", "refund", "poor quality", "disappointed", "never again", "wrong item", "awful"];
    private static readonly string[] Neutral = ["the order", "my parcel", "this product", "the shop", "customer service", "the size", "the colour", "delivery"];

    private readonly int _count;
    private readonly int _products;
    private readonly int _seed;
    private readonly DateTimeOffset _end;
    private readonly int[] _etags;
    private readonly Dictionary<string, byte[]> _versions = new(StringComparer.Ordinal);
    private readonly List<string> _versionNames = [""];
    private readonly object _gate = new();

    public GeneratedCustomerStore(int count, int products, DateTimeOffset end, int seed)
    {
        _count = count;
        _products = products;
        _end = end;
        _seed = seed;
        _etags = new int[count];
    }

    public long PredictionWrites;

    /// <summary>Forgets every written prediction (to score the same store again with another worker count).</summary>
    public void ResetPredictions()
    {
        lock (_gate)
        {
            _versions.Clear();
            _versionNames.RemoveRange(1, _versionNames.Count - 1);
            Array.Clear(_etags);
            PredictionWrites = 0;
        }
    }

    private static int Prefix(int index) => (int)((uint)index * 2654435761u >> 24);

    public static string IdOf(int index) =>
        string.Create(CultureInfo.InvariantCulture, $"c_{Prefix(index):x2}{index:x8}{(uint)(index * 40503u + 12345u):x8}000000");

    private static int? IndexOf(string id) =>
        id.Length == 26 && id.StartsWith("c_", StringComparison.Ordinal)
        && int.TryParse(id.AsSpan(4, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var i) ? i : null;

    public Task<Versioned<CustomerProfile>?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(IndexOf(id) is { } i && i >= 0 && i < _count ? Stored(i) : null);

    private Versioned<CustomerProfile> Stored(int index)
    {
        var profile = Generate(index);
        lock (_gate)
        {
            foreach (var (kind, versions) in _versions)
            {
                if (versions[index] is var v and > 0)
                {
                    profile.Predictions[kind] = new Prediction(_versionNames[v], _end, 0, null, []);
                }
            }
            return new Versioned<CustomerProfile>(profile, _etags[index].ToString(CultureInfo.InvariantCulture));
        }
    }

    public Task<string?> TryWritePredictionsAsync(string id, string etag, IReadOnlyDictionary<string, Prediction> predictions, IReadOnlyList<FeedbackItem>? feedback,
        CancellationToken cancellationToken = default)
    {
        if (IndexOf(id) is not { } i)
        {
            return Task.FromResult<string?>(null);
        }
        lock (_gate)
        {
            if (_etags[i].ToString(CultureInfo.InvariantCulture) != etag)
            {
                return Task.FromResult<string?>(null);
            }
            foreach (var (kind, prediction) in predictions)
            {
                if (!_versions.TryGetValue(kind, out var versions))
                {
                    _versions[kind] = versions = new byte[_count];
                }
                var v = _versionNames.IndexOf(prediction.ModelVersion);
                if (v < 0)
                {
                    _versionNames.Add(prediction.ModelVersion);
                    v = _versionNames.Count - 1;
                }
                versions[i] = (byte)v;
            }
            PredictionWrites++;
            return Task.FromResult<string?>((++_etags[i]).ToString(CultureInfo.InvariantCulture));
        }
    }

    public async IAsyncEnumerable<Versioned<CustomerProfile>> ReadSliceAsync(CustomerSlice slice, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Ids are c_ + the 2-hex prefix, so slice membership is a range of prefixes.
        int from = slice.Index * CustomerSlice.MaxCount / slice.Count, to = (slice.Index + 1) * CustomerSlice.MaxCount / slice.Count;
        for (var i = 0; i < _count; i++)
        {
            if (Prefix(i) is var p && p >= from && p < to)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return Stored(i);
            }
        }
        await Task.CompletedTask;
    }

    public async IAsyncEnumerable<CustomerProfile> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < _count; i++)
        {
            yield return Generate(i);
        }
        await Task.CompletedTask;
    }

    public Task<string?> TryCreateAsync(CustomerProfile profile, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The generated store is read-only but for predictions.");

    public Task<string?> TryReplaceAsync(CustomerProfile profile, string etag, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The write-back patches predictions; nothing else writes to the generated store.");

    public Task<Page<CustomerProfile>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The training benchmark lists nothing; the lists suite measures lists.");

    public Task<Page<CustomerProfile>> QueryAsync(CustomerListQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The training benchmark lists nothing; the lists suite measures lists.");

    public Task<long> CountAsync(CustomerListQuery query, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The training benchmark lists nothing; the lists suite measures lists.");

    /// <summary>Customer <paramref name="index"/>: the same profile on every call.</summary>
    public CustomerProfile Generate(int index)
    {
        var rng = new Random(unchecked(_seed * 1_000_003 + index)); // not HashCode.Combine: that is randomised per process
        var start = _end.AddDays(-730);
        const int categories = 20;
        var perCategory = Math.Max(1, _products / categories);
        var p = new CustomerProfile { Id = IdOf(index) };
        var joined = start.AddDays(rng.NextDouble() * 600);
        p.SignupDate = DateOnly.FromDateTime(joined.UtcDateTime);
        var satisfaction = rng.NextDouble();
        p.Attributes["tier"] = rng.NextDouble() < 0.2 ? "gold" : "standard";
        var rate = Gamma(rng, 2.0) / 2.0 * 0.032; // orders per day, mean ~0.032 (12 a year)
        var dropout = 0.02 + 0.12 * (1 - satisfaction);
        Span<int> favourites = stackalloc int[rng.Next(1, 4)];
        for (var f = 0; f < favourites.Length; f++)
        {
            favourites[f] = rng.Next(categories);
        }
        var t = joined;
        var orderNo = 0;
        var channel = rng.Next(3) switch { 0 => "web", 1 => "app", _ => "store" };
        while (t < _end)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"{index:x}-{orderNo++}");
            var lines = rng.Next(1, 5);
            for (var l = 1; l <= lines; l++)
            {
                var category = favourites[rng.Next(favourites.Length)];
                var item = category * perCategory + (int)(perCategory * Math.Pow(rng.NextDouble(), 2));
                p.Orders.Add(new OrderLine(id, l, t, string.Create(CultureInfo.InvariantCulture, $"SKU-{item:D5}"), 1, (decimal)Math.Round(5 + 60 * rng.NextDouble(), 2), channel, rng.NextDouble() < 0.03));
            }
            p.RecentEvents.Add(new CustomerEvent(t.AddHours(-1), "view", null, null, channel));
            if (rng.NextDouble() < 0.08)
            {
                var rating = Math.Clamp((int)Math.Round(1 + 4 * satisfaction * 0.5 + 2 * rng.NextDouble()), 1, 5);
                var words = rating >= 4 ? Good : rating <= 2 ? Bad : (rng.NextDouble() < 0.5 ? Good : Bad);
                p.Feedback.Add(new FeedbackItem
                {
                    Timestamp = t.AddDays(3),
                    Rating = rng.NextDouble() < 0.9 ? rating : null,
                    Channel = "web",
                    Text = $"{Neutral[rng.Next(Neutral.Length)]} was {words[rng.Next(words.Length)]}, {words[rng.Next(words.Length)]}",
                });
            }
            if (rng.NextDouble() < dropout)
            {
                break;
            }
            t = t.AddDays(-Math.Log(1 - rng.NextDouble()) / rate);
        }
        p.Orders.RemoveAll(l => l.Date >= _end);
        p.RecentEvents.RemoveAll(e => e.Timestamp >= _end);
        p.Feedback.RemoveAll(f => f.Timestamp >= _end);
        return p;
    }

    private static double Gamma(Random rng, double shape)
    {
        // Marsaglia–Tsang (shape ≥ 1).
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            var u = rng.NextDouble();
            if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v))
            {
                return d * v;
            }
        }
    }
}
