using System.Runtime.InteropServices;
using iCrm.Core.Profiles;

namespace iCrm.Ml.Training;

/// <summary>How the customers a run fitted on were drawn from the store (written on every card of the run).</summary>
/// <param name="CustomersRead">Live profiles the run read.</param>
/// <param name="Sampled">Profiles kept for fitting.</param>
/// <param name="Limit"><c>Models__MaxTrainingCustomers</c>.</param>
/// <param name="Method">In words: every customer, or a stratified sample and its strata.</param>
/// <param name="Seed">The seed of the sample: the same store and seed give the same sample, whatever the read order.</param>
/// <param name="Strata">Customers read per stratum (the sample keeps each stratum's share).</param>
public sealed record TrainingSampleInfo(long CustomersRead, int Sampled, int Limit, string Method, int Seed, IReadOnlyDictionary<string, long> Strata);

/// <summary>
/// Keeps at most <c>limit</c> of the profiles streamed through it, as a stratified random sample: every customer gets a
/// key from a hash of (seed, customer id), and each stratum keeps the customers with the smallest keys, in proportion to
/// the stratum's share of everything read (bottom-k sampling per stratum, which is a uniform sample of the stratum and
/// independent of the order the store returns profiles in, so parallel reads give the same sample).
/// <para>
/// Strata: the churn label where the profile carries an explicit one (churned / retained), otherwise whether the
/// customer bought within the churn window before the run's date (active / lapsed), so the rare class of the churn model
/// keeps its share. Memory: while reading, each stratum is trimmed to its running share of the limit (plus 5 % and 64
/// customers of slack, because shares settle as the read goes on), so at most about 1.05 × limit profiles are held, each
/// stripped of what no model reads (duplicate-detection keys, chunk markers, match keys, contact history).
/// </para>
/// </summary>
public sealed class TrainingSampler
{
    private const int TrimEvery = 4_096;
    private readonly int _limit;
    private readonly int _seed;
    private readonly DateTimeOffset _activeSince;
    private readonly Dictionary<string, Stratum> _strata = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _read;
    private DateTimeOffset? _latestActivity;

    public TrainingSampler(int limit, int seed, DateTimeOffset asOf, int churnWindowDays)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
        _seed = seed;
        _activeSince = asOf.AddDays(-churnWindowDays);
    }

    public long Read => Interlocked.Read(ref _read);

    /// <summary>The latest activity of every profile read (not only the sampled ones), so the data's end is that of the store.</summary>
    public DateTimeOffset? LatestActivity
    {
        get
        {
            lock (_gate)
            {
                return _latestActivity;
            }
        }
    }

    /// <summary>Offers one profile; thread-safe (several store ranges are read in parallel).</summary>
    public void Add(CustomerProfile profile)
    {
        var key = Key(profile.Id);
        var stratum = StratumOf(profile);
        var latest = TrainingSnapshot.LatestActivityOf(profile);
        lock (_gate)
        {
            if (latest is { } l && (_latestActivity is null || l > _latestActivity))
            {
                _latestActivity = l;
            }
            ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(_strata, stratum, out var existed);
            if (!existed)
            {
                s = new Stratum { Cap = _limit };
            }
            s!.Seen++;
            _read++;
            if (s.Kept.Count < s.Cap || key < s.Kept.Peek().Key)
            {
                s.Kept.Enqueue((key, Compact(profile)), key);
                if (s.Kept.Count > s.Cap)
                {
                    s.Kept.Dequeue();
                }
            }
            if (_read % TrimEvery == 0)
            {
                foreach (var each in _strata.Values)
                {
                    each.Cap = (int)Math.Min(_limit, Math.Ceiling(_limit * (double)each.Seen / _read * 1.05) + 64);
                    Trim(each, each.Cap);
                }
            }
        }
    }

    /// <summary>The sample in id order (so a run is reproducible) and how it was drawn.</summary>
    public (List<CustomerProfile> Profiles, TrainingSampleInfo Info) Complete()
    {
        lock (_gate)
        {
            var strata = _strata.OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
            var quotas = Quotas([.. strata.Select(s => s.Value.Seen)]);
            var profiles = new List<CustomerProfile>();
            for (var i = 0; i < strata.Count; i++)
            {
                Trim(strata[i].Value, quotas[i]);
                profiles.AddRange(strata[i].Value.Kept.UnorderedItems.Select(x => x.Element.Profile));
            }
            profiles.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            var counts = strata.ToDictionary(s => s.Key, s => s.Value.Seen, StringComparer.Ordinal);
            var method = _read <= _limit
                ? $"every customer ({_read:N0}, within the limit of {_limit:N0})"
                : $"stratified random sample of {profiles.Count:N0} of {_read:N0} customers (seed {_seed}), each stratum in proportion to its share: " +
                  string.Join(", ", strata.Select((s, i) => $"{s.Key} {quotas[i]:N0} of {s.Value.Seen:N0}"));
            return (profiles, new TrainingSampleInfo(_read, profiles.Count, _limit, method, _seed, counts));
        }
    }

    /// <summary>Largest-remainder split of the limit over the strata (everything when all fits).</summary>
    private int[] Quotas(long[] seen)
    {
        var total = seen.Sum();
        if (total <= _limit)
        {
            return [.. seen.Select(s => (int)s)];
        }
        var exact = seen.Select(s => _limit * (double)s / total).ToArray();
        var quotas = exact.Select(e => (int)Math.Floor(e)).ToArray();
        var left = _limit - quotas.Sum();
        foreach (var i in Enumerable.Range(0, seen.Length).OrderByDescending(i => exact[i] - quotas[i]).ThenBy(i => i).Take(left))
        {
            quotas[i]++;
        }
        return quotas;
    }

    private static void Trim(Stratum s, int keep)
    {
        while (s.Kept.Count > keep)
        {
            s.Kept.Dequeue();
        }
    }

    private string StratumOf(CustomerProfile p)
    {
        if (p.ChurnLabel is { } label)
        {
            return label.Churned ? "explicit-churned" : "explicit-retained";
        }
        var lastOrder = p.Orders.Count > 0 ? p.Orders[^1].Date : (DateTimeOffset?)null;
        return lastOrder is { } at && at >= _activeSince ? "active" : "lapsed";
    }

    /// <summary>64-bit FNV-1a of seed and id, finished with a SplitMix64 mix: uniform keys, the same in every process.</summary>
    private ulong Key(string id)
    {
        var h = 14695981039346656037UL ^ (ulong)(uint)_seed;
        foreach (var c in id)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9UL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebUL;
        return h ^ (h >> 31);
    }

    /// <summary>The profile without what no model reads, so the sample costs memory only for what fitting uses.</summary>
    private static CustomerProfile Compact(CustomerProfile p)
    {
        p.SeenKeys = [];
        p.AppliedChunks = [];
        p.MatchKeys = [];
        p.MatchVariants = [];
        p.ContactValues = [];
        p.FieldStamps = [];
        p.MergeExplanations = [];
        p.Identities = [];
        p.MergedFrom = [];
        return p;
    }

    private sealed class Stratum
    {
        public long Seen;

        /// <summary>Profiles this stratum may hold now: its running share of the limit with slack.</summary>
        public int Cap = int.MaxValue;

        /// <summary>Max-heap on the key (the priority is inverted), so the largest kept key is dropped first.</summary>
        public readonly PriorityQueue<(ulong Key, CustomerProfile Profile), ulong> Kept = new(Comparer<ulong>.Create((a, b) => b.CompareTo(a)));
    }
}
