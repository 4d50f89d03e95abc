using System.Buffers;
using System.Text.Json.Serialization;
using iCrm.Core.Profiles;

namespace iCrm.Ml.Recommendations;

/// <summary>One purchase of an item by a customer; quantity weights nothing today but is kept for affinity variants.</summary>
public readonly record struct Interaction(string CustomerId, string ItemId, DateTimeOffset Time, double Quantity = 1)
{
    /// <summary>
    /// Interactions from the profiles' order lines before <paramref name="before"/> (all when null). Returned lines and
    /// lines without a product are left out; monthly buckets carry no products, so they add nothing here.
    /// </summary>
    public static List<Interaction> FromProfiles(IEnumerable<CustomerProfile> profiles, DateTimeOffset? before = null)
    {
        var list = new List<Interaction>();
        foreach (var p in profiles)
            foreach (var line in p.Orders)
                if (line.ProductId is { Length: > 0 } item && !line.Returned && (before is null || line.Date < before))
                    list.Add(new Interaction(p.Id, item, line.Date, (double)line.Quantity));
        return list;
    }
}

/// <summary>A customer's past purchase, as the scorer needs it.</summary>
public readonly record struct Purchase(string ItemId, DateTimeOffset Time)
{
    /// <summary>A profile's purchases for <see cref="RecommendationModel.Recommend"/>: kept order lines with a product, oldest first.</summary>
    public static List<Purchase> FromProfile(CustomerProfile profile, DateTimeOffset? before = null) =>
        profile.Orders
            .Where(l => l.ProductId is { Length: > 0 } && !l.Returned && (before is null || l.Date < before))
            .OrderBy(l => l.Date)
            .Select(l => new Purchase(l.ProductId!, l.Date))
            .ToList();
}

/// <param name="BecauseOf">The bought item that contributed most, or null for a popularity pick.</param>
public sealed record Recommendation(string ItemId, double Score, string Reason, string? BecauseOf);

/// <summary>The kinds of recommender the trainer compares.</summary>
public static class RecommenderKinds
{
    public const string Popularity = "popularity";
    public const string ItemSimilarity = "sar";
    public const string Ease = "ease";
}

/// <summary>
/// A trained recommender as stored in the registry. All kinds share one sparse shape: for every item its top-K
/// neighbours with weights (SAR: item-item similarity; EASE: the largest entries of that item's row of B), plus the
/// popularity ranking for cold start and filling, and each item's repurchase rate. A customer's score for item j is
/// Σ over bought items i of affinity(i) × weight(i, j), where affinity is time-decayed with a half-life for SAR and 1 for EASE.
/// </summary>
public sealed class RecommendationModel
{
    public required string Kind { get; init; }
    public required string[] Items { get; init; }
    public required int[][] NeighbourIds { get; init; }
    public required float[][] NeighbourWeights { get; init; }
    /// <summary>Items by popularity (distinct buyers), most popular first, with their buyer share.</summary>
    public required int[] PopularIds { get; init; }
    public required float[] PopularScores { get; init; }
    /// <summary>Share of an item's buyers who bought it on more than one day.</summary>
    public required float[] RepurchaseRates { get; init; }
    public double RepurchaseThreshold { get; init; } = 0.3;
    /// <summary>Half-life of a purchase's weight in days; 0 means every purchase weighs 1 (EASE).</summary>
    public double HalfLifeDays { get; init; }

    private Dictionary<string, int>? _index;

    [JsonIgnore]
    public IReadOnlyDictionary<string, int> Index => _index ??= Items.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);

    /// <summary>
    /// The top items for a customer. Items already bought are excluded unless repurchase is typical for them (rate at or
    /// above <see cref="RepurchaseThreshold"/>). Unknown items in the history are ignored; a customer with no usable
    /// history (cold start), or too few candidates, gets popular items with the reason "popular".
    /// </summary>
    /// <param name="asOf">The latest moment affinities decay to; the customer's latest purchase when that is earlier.</param>
    public List<Recommendation> Recommend(IReadOnlyList<Purchase> history, int top = 10, DateTimeOffset? asOf = null)
    {
        var index = Index;
        int n = Items.Length;
        var result = new List<Recommendation>(top);
        if (top <= 0) return result;

        // Affinity per distinct bought item.
        var bought = new Dictionary<int, double>();
        // Decay is measured from the customer's latest purchase (or asOf, if earlier): only the ratios between a
        // customer's purchases change the ranking, and measuring from a date years after an export would underflow
        // every weight to zero and silently turn the model into popularity.
        DateTimeOffset latest = default;
        foreach (var h in history) if (h.Time > latest) latest = h.Time;
        DateTimeOffset reference = asOf is { } cap && cap < latest ? cap : latest;
        foreach (var h in history)
        {
            if (!index.TryGetValue(h.ItemId, out int i)) continue;
            double w = HalfLifeDays > 0 ? Math.Exp(-Math.Log(2) * Math.Max(0, (reference - h.Time).TotalDays) / HalfLifeDays) : 1;
            bought[i] = HalfLifeDays > 0 ? bought.GetValueOrDefault(i) + w : 1;
        }

        if (bought.Count > 0 && NeighbourIds.Length > 0)
        {
            var pool = ArrayPool<float>.Shared;
            var scores = pool.Rent(n);
            var strongest = pool.Rent(n);                // largest single contribution to each candidate
            var strongestFrom = ArrayPool<int>.Shared.Rent(n); // and the bought item it came from
            Array.Clear(scores, 0, n); // a pooled array may come back dirty from other code
            var touched = new List<int>(256);
            try
            {
                foreach (var (i, affinity) in bought)
                {
                    if (!(affinity > 0)) continue; // a purchase decayed to nothing adds nothing (and must not look untouched)
                    var ids = NeighbourIds[i];
                    var weights = NeighbourWeights[i];
                    for (int k = 0; k < ids.Length; k++)
                    {
                        int j = ids[k];
                        float contribution = (float)(affinity * weights[k]);
                        // The item itself (a repurchase) explains a recommendation only when no other bought item does.
                        float rank = i == j ? float.MinValue : contribution;
                        if (scores[j] == 0)
                        {
                            touched.Add(j);
                            strongest[j] = rank;
                            strongestFrom[j] = i;
                        }
                        else if (rank > strongest[j] || (rank == strongest[j] && i < strongestFrom[j]))
                        {
                            strongest[j] = rank;
                            strongestFrom[j] = i;
                        }
                        scores[j] += contribution;
                    }
                }
                var best = new List<(int Item, float Score)>(top + 1);
                foreach (int j in touched)
                {
                    float s = scores[j];
                    if (!(s > 0) || IsExcluded(j, bought)) continue;
                    if (best.Count == top && s <= best[^1].Score) continue;
                    int at = best.Count;
                    while (at > 0 && (s > best[at - 1].Score || (s == best[at - 1].Score && j < best[at - 1].Item))) at--;
                    best.Insert(at, (j, s));
                    if (best.Count > top) best.RemoveAt(top);
                }
                foreach (var (j, s) in best)
                {
                    int because = strongestFrom[j];
                    string reason = because == j ? "bought again regularly" : $"often bought with {Items[because]}";
                    result.Add(new Recommendation(Items[j], s, reason, Items[because]));
                }
            }
            finally
            {
                foreach (int j in touched) scores[j] = 0;
                pool.Return(scores);
                pool.Return(strongest);
                ArrayPool<int>.Shared.Return(strongestFrom);
            }
        }

        if (result.Count < top)
        {
            var chosen = new HashSet<string>(result.Select(r => r.ItemId), StringComparer.Ordinal);
            for (int k = 0; k < PopularIds.Length && result.Count < top; k++)
            {
                int j = PopularIds[k];
                if (IsExcluded(j, bought) || chosen.Contains(Items[j])) continue;
                result.Add(new Recommendation(Items[j], PopularScores[k], "popular", null));
            }
        }
        return result;
    }

    private bool IsExcluded(int item, Dictionary<int, double> bought) =>
        bought.ContainsKey(item) && RepurchaseRates[item] < RepurchaseThreshold;
}
