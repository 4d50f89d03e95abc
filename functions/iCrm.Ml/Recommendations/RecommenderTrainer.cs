using System.Diagnostics;
using System.Globalization;

namespace iCrm.Ml.Recommendations;

public sealed record RecommenderOptions
{
    /// <summary>Share of each eligible customer's distinct items held out (at least one, never all).</summary>
    public double HoldoutFraction { get; init; } = 0.25;
    /// <summary>Distinct items a customer needs to take part in the evaluation (one to learn from, one to find).</summary>
    public int MinimumItemsPerCustomer { get; init; } = 2;
    /// <summary>Customers each half of the evaluation needs for its figures to be compared with a champion's.</summary>
    public int MinimumEvaluationCustomers { get; init; } = 20;
    /// <summary>Wall-clock budget for the hyperparameter search: candidates are tried in order until it is spent (the
    /// defaults of every kind are always tried). Every eligible customer is evaluated; the budget bounds the grid.</summary>
    public double TuningSeconds { get; init; } = 120;
    public int Seed { get; init; } = 11;
    public int Top { get; init; } = 10;
    /// <summary>Neighbours kept per item in the stored model.</summary>
    public int Neighbours { get; init; } = 100;
    /// <summary>Default SAR time-decay half-life (days; 0 = no decay), used by <see cref="RecommenderTrainer.Fit(string, InteractionData, RecommenderOptions)"/>.</summary>
    public double HalfLifeDays { get; init; } = 60;
    /// <summary>Default SAR similarity: "jaccard", "lift" or "cooccurrence".</summary>
    public string Similarity { get; init; } = "jaccard";
    /// <summary>Default EASE L2 regularisation λ added to the Gram matrix's diagonal.</summary>
    public double EaseLambda { get; init; } = 100;
    /// <summary>EASE λ values searched.</summary>
    public IReadOnlyList<double> EaseLambdas { get; init; } = [10, 30, 100, 300, 1000, 3000];
    /// <summary>SAR similarities searched.</summary>
    public IReadOnlyList<string> Similarities { get; init; } = ["jaccard", "lift", "cooccurrence"];
    /// <summary>SAR half-lives searched (days; 0 = no time decay).</summary>
    public IReadOnlyList<double> HalfLives { get; init; } = [0, 30, 60, 180, 365];
    /// <summary>EASE inverts a dense items × items matrix (O(n³)): it is a candidate only while the catalogue has at most
    /// this many items (<c>Models__RecommendationsMaxItemsForEase</c>); beyond it the sparse item similarity is used. When
    /// EASE is the only kind asked for, it is fitted on this many most bought items.</summary>
    public int MaxEaseItems { get; init; } = 2_000;
    public double RepurchaseThreshold { get; init; } = 0.3;
    public int PopularItems { get; init; } = 200;
    /// <summary>Candidates whose nDCG@10 is within this share of the best count as equally accurate; among them the one
    /// that covers most of the catalogue wins (less popularity bias at no measured cost).</summary>
    public double CoverageTolerance { get; init; } = 0.01;
    /// <summary>Refit the chosen candidate on all interactions (held-out ones included) before storing it.</summary>
    public bool RefitOnAllData { get; init; } = true;
    public IReadOnlyList<string> Kinds { get; init; } = [RecommenderKinds.Popularity, RecommenderKinds.ItemSimilarity, RecommenderKinds.Ease];
}

/// <summary>One point of the hyperparameter grid.</summary>
/// <param name="Lambda">EASE's λ (0 for other kinds).</param>
/// <param name="Similarity">SAR's similarity ("" for other kinds).</param>
/// <param name="HalfLifeDays">SAR's time-decay half-life (0 = none).</param>
public sealed record RecommenderCandidate(string Kind, double Lambda = 0, string Similarity = "", double HalfLifeDays = 0)
{
    public string Name => Kind switch
    {
        RecommenderKinds.Ease => string.Create(CultureInfo.InvariantCulture, $"ease lambda={Lambda:G}"),
        RecommenderKinds.ItemSimilarity => string.Create(CultureInfo.InvariantCulture, $"sar {Similarity} half-life={(HalfLifeDays > 0 ? $"{HalfLifeDays:G}d" : "none")}"),
        _ => Kind,
    };

    public override string ToString() => Name;
}

/// <summary>Out-of-sample metrics of one candidate on the per-user holdout.</summary>
/// <param name="AtK">precision, recall and nDCG at each k of <see cref="RecommenderTrainer.Ks"/>.</param>
/// <param name="Coverage">Share of the catalogue that appears in at least one customer's top 10.</param>
/// <param name="PopularShare">Share of top-10 slots filled by the 10 % most bought items (popularity bias).</param>
public sealed record RecommenderMetrics(
    RecommenderCandidate Candidate,
    double PrecisionAt10,
    double RecallAt10,
    double NdcgAt10,
    int Customers,
    double TrainSeconds,
    IReadOnlyList<(int K, double Precision, double Recall, double Ndcg)> AtK,
    double Coverage,
    double PopularShare)
{
    public string Kind => Candidate.Kind;
}

/// <param name="Chosen">The chosen candidate's kind; <see cref="ChosenCandidate"/> has its hyperparameters.</param>
/// <param name="Metrics">Every candidate tried, measured on the selection customers.</param>
/// <param name="Report">The chosen candidate and the best of every other kind, measured on the report customers (never
/// used to choose): the figures of the model card.</param>
/// <param name="Skipped">Grid points not tried because the time budget was spent.</param>
public sealed record RecommenderTrainingResult(
    RecommendationModel Model,
    string Chosen,
    RecommenderCandidate ChosenCandidate,
    IReadOnlyList<RecommenderMetrics> Metrics,
    IReadOnlyList<RecommenderMetrics> Report,
    IReadOnlyList<RecommenderCandidate> Skipped,
    int TrainInteractions,
    int HoldoutInteractions,
    int Items,
    int Customers,
    int EaseItems,
    double TotalSeconds,
    string EaseDecision = "");

/// <summary>
/// Chooses the recommender and its hyperparameters by a per-user random holdout: for every customer with at least
/// <see cref="RecommenderOptions.MinimumItemsPerCustomer"/> distinct items, a random <see cref="RecommenderOptions.HoldoutFraction"/>
/// of them is hidden; every candidate is fitted on what is left and asked for the customer's top 10; relevant items are
/// the hidden ones. The eligible customers are split in two seeded halves: the grid is chosen on one half (best nDCG@10;
/// within <see cref="RecommenderOptions.CoverageTolerance"/> of it, the widest catalogue coverage) and the card's figures
/// come from the other half, so the number a person reads was not used to pick the model. The chosen candidate is then
/// refitted on all interactions. Already-bought items are excluded the same way for every candidate.
/// </summary>
public static class RecommenderTrainer
{
    /// <summary>The cut-offs of the card's precision/recall/nDCG chart.</summary>
    public static readonly int[] Ks = [1, 3, 5, 10, 20];

    public static RecommenderTrainingResult Train(IReadOnlyList<Interaction> interactions, RecommenderOptions? options = null)
    {
        options ??= new RecommenderOptions();
        var total = Stopwatch.StartNew();
        if (interactions.Count == 0) throw new ArgumentException("No interactions to learn from.", nameof(interactions));
        var data = InteractionData.Build(interactions);
        var (train, selection, report) = data.PerUserSplit(options.HoldoutFraction, options.MinimumItemsPerCustomer, options.Seed);
        var popularTenth = train.TopItems(Math.Max(1, data.Items.Length / 10));
        Lazy<ItemCooccurrence>? coOccurrence = new(train.CoOccurrence);

        var metrics = new List<RecommenderMetrics>();
        var models = new Dictionary<RecommenderCandidate, RecommendationModel>();
        var skipped = new List<RecommenderCandidate>();
        var grid = Grid(options, data.Items.Length).ToList();
        foreach (var (candidate, always) in grid)
        {
            if (!always && total.Elapsed.TotalSeconds > options.TuningSeconds)
            {
                skipped.Add(candidate);
                continue;
            }
            var sw = Stopwatch.StartNew();
            var model = Fit(candidate, train, options, coOccurrence);
            double seconds = sw.Elapsed.TotalSeconds;
            models[candidate] = model;
            metrics.Add(Evaluate(model, candidate, selection, data.Latest, popularTenth, data.Items.Length) with { TrainSeconds = seconds });
        }

        coOccurrence = null; // items² counts: let them go before the refit computes its own
        var chosen = Choose(metrics, options.CoverageTolerance);
        // The card's figures: the chosen candidate and the best of every other kind, on customers not used to choose.
        var reported = new List<RecommenderMetrics> { Evaluate(models[chosen.Candidate], chosen.Candidate, report, data.Latest, popularTenth, data.Items.Length) with { TrainSeconds = chosen.TrainSeconds } };
        foreach (var best in metrics.Where(m => m.Kind != chosen.Kind).GroupBy(m => m.Kind).Select(g => g.MaxBy(m => m.NdcgAt10)!))
        {
            reported.Add(Evaluate(models[best.Candidate], best.Candidate, report, data.Latest, popularTenth, data.Items.Length) with { TrainSeconds = best.TrainSeconds });
        }
        var final = options.RefitOnAllData ? Fit(chosen.Candidate, data, options, null) : models[chosen.Candidate];
        int holdoutLines = data.LineCount - train.LineCount;
        return new RecommenderTrainingResult(final, chosen.Kind, chosen.Candidate, metrics, reported, skipped,
            train.LineCount, holdoutLines, data.Items.Length, data.CustomerCount, Math.Min(data.Items.Length, options.MaxEaseItems), total.Elapsed.TotalSeconds,
            EaseDecision(options, data.Items.Length).Reason);
    }

    /// <summary>Best nDCG@10; among candidates within the tolerance of it, the widest coverage; then the simplest kind.</summary>
    internal static RecommenderMetrics Choose(IReadOnlyList<RecommenderMetrics> metrics, double tolerance)
    {
        var best = metrics.Max(m => m.NdcgAt10);
        return metrics.Where(m => m.NdcgAt10 >= best * (1 - tolerance))
            .OrderByDescending(m => m.Coverage).ThenByDescending(m => m.NdcgAt10).First();
    }

    /// <summary>The grid in the order it is tried: each kind's default first (always tried), then the rest, alternating
    /// kinds so a short budget still explores both.</summary>
    private static IEnumerable<(RecommenderCandidate Candidate, bool Always)> Grid(RecommenderOptions options, int items)
    {
        var sar = new List<RecommenderCandidate>();
        var ease = new List<RecommenderCandidate>();
        if (options.Kinds.Contains(RecommenderKinds.ItemSimilarity))
        {
            sar.Add(new(RecommenderKinds.ItemSimilarity, Similarity: options.Similarity, HalfLifeDays: options.HalfLifeDays));
            foreach (var s in options.Similarities)
                foreach (var h in options.HalfLives)
                    if (!(s == options.Similarity && h == options.HalfLifeDays)) sar.Add(new(RecommenderKinds.ItemSimilarity, Similarity: s, HalfLifeDays: h));
        }
        if (EaseDecision(options, items).Tried)
        {
            ease.Add(new(RecommenderKinds.Ease, Lambda: options.EaseLambda));
            foreach (var l in options.EaseLambdas) if (l != options.EaseLambda) ease.Add(new(RecommenderKinds.Ease, Lambda: l));
        }
        if (options.Kinds.Contains(RecommenderKinds.Popularity)) yield return (new(RecommenderKinds.Popularity), true);
        if (sar.Count > 0) yield return (sar[0], true);
        if (ease.Count > 0) yield return (ease[0], true);
        for (int i = 1; i < Math.Max(sar.Count, ease.Count); i++)
        {
            if (i < ease.Count) yield return (ease[i], false);
            if (i < sar.Count) yield return (sar[i], false);
        }
    }

    /// <summary>
    /// Whether EASE is a candidate, and why in words for the card: only while the catalogue fits
    /// <see cref="RecommenderOptions.MaxEaseItems"/> (its dense items × items inverse grows with items² in memory and
    /// items³ in time), unless EASE is the only kind asked for (then it is fitted on that many most bought items).
    /// </summary>
    public static (bool Tried, string Reason) EaseDecision(RecommenderOptions options, int items)
    {
        if (!options.Kinds.Contains(RecommenderKinds.Ease))
        {
            return (false, "EASE not tried: not among the kinds asked for");
        }
        if (options.MaxEaseItems < 2 || items < 2)
        {
            return (false, $"EASE not tried: the item budget is {options.MaxEaseItems} (Models__RecommendationsMaxItemsForEase) and the catalogue has {items} items");
        }
        if (items <= options.MaxEaseItems)
        {
            return (true, $"EASE tried: the catalogue's {items:N0} items fit the EASE budget of {options.MaxEaseItems:N0} (Models__RecommendationsMaxItemsForEase)");
        }
        var gigabytes = 8.0 * items * items / 1e9;
        return options.Kinds.All(k => k == RecommenderKinds.Ease)
            ? (true, $"EASE on the {options.MaxEaseItems:N0} most bought of {items:N0} items only (the only kind asked for)")
            : (false, $"EASE not tried: the catalogue's {items:N0} items exceed the EASE budget of {options.MaxEaseItems:N0} (Models__RecommendationsMaxItemsForEase; " +
                $"its dense inverse would take {gigabytes:0.#} GB and items³ time); the sparse item-similarity (SAR) recommender is used");
    }

    /// <summary>Fits one kind with the options' default hyperparameters.</summary>
    internal static RecommendationModel Fit(string kind, InteractionData data, RecommenderOptions options) =>
        Fit(kind switch
        {
            RecommenderKinds.Ease => new RecommenderCandidate(kind, Lambda: options.EaseLambda),
            RecommenderKinds.ItemSimilarity => new RecommenderCandidate(kind, Similarity: options.Similarity, HalfLifeDays: options.HalfLifeDays),
            _ => new RecommenderCandidate(kind),
        }, data, options, null);

    /// <summary>Fits one candidate on the given data (<paramref name="coOccurrence"/>: the data's XᵀX when already computed).</summary>
    internal static RecommendationModel Fit(RecommenderCandidate candidate, InteractionData data, RecommenderOptions options, Lazy<ItemCooccurrence>? coOccurrence)
    {
        var (popularIds, popularScores) = data.Popularity(options.PopularItems);
        var repurchase = data.RepurchaseRates();
        coOccurrence ??= new Lazy<ItemCooccurrence>(data.CoOccurrence);
        (int[][] ids, float[][] weights) = candidate.Kind switch
        {
            RecommenderKinds.Popularity => (Array.Empty<int[]>(), Array.Empty<float[]>()),
            RecommenderKinds.ItemSimilarity => ItemSimilarity(data.Items.Length, coOccurrence.Value, candidate.Similarity, options.Neighbours),
            RecommenderKinds.Ease => Ease(data, coOccurrence.Value, candidate.Lambda, options),
            _ => throw new ArgumentException($"Unknown recommender kind '{candidate.Kind}'.", nameof(candidate)),
        };
        return new RecommendationModel
        {
            Kind = candidate.Kind,
            Items = data.Items,
            NeighbourIds = ids,
            NeighbourWeights = weights,
            PopularIds = popularIds,
            PopularScores = popularScores,
            RepurchaseRates = repurchase,
            RepurchaseThreshold = options.RepurchaseThreshold,
            HalfLifeDays = candidate.Kind == RecommenderKinds.ItemSimilarity ? candidate.HalfLifeDays : 0,
        };
    }

    /// <summary>SAR-like similarity from co-occurrence of items in customers' baskets (all time): Jaccard, lift or the raw
    /// count, top-K per item.</summary>
    private static (int[][], float[][]) ItemSimilarity(int n, ItemCooccurrence c, string similarity, int neighbours)
    {
        var kind = similarity.ToLowerInvariant();
        var ids = new int[n][];
        var weights = new float[n][];
        Parallel.For(0, n, i =>
        {
            var cooccurring = c.Neighbours[i];
            var row = new List<(int, float)>(cooccurring.Length);
            double cii = c.Buyers[i];
            for (int k = 0; k < cooccurring.Length; k++)
            {
                int j = cooccurring[k];
                int cij = c.Counts[i][k];
                double cjj = c.Buyers[j];
                double s = kind switch
                {
                    "lift" => cij / (cii * cjj),
                    "cooccurrence" => cij,
                    _ => cij / (cii + cjj - cij),
                };
                row.Add((j, (float)s));
            }
            (ids[i], weights[i]) = TopK(row, neighbours);
        });
        return (ids, weights);
    }

    /// <summary>
    /// EASE (Steck 2019): P = (XᵀX + λI)⁻¹, B = I − P·diagMat(1/diag(P)), i.e. B_ij = −P_ij / P_jj and B_ii = 0, on the
    /// <see cref="RecommenderOptions.MaxEaseItems"/> most bought items (the dense inverse is O(n³)); other items get no
    /// neighbours. Only the K largest positive entries of each row of B are kept so scoring stays sparse.
    /// </summary>
    private static (int[][], float[][]) Ease(InteractionData data, ItemCooccurrence c, double lambda, RecommenderOptions options)
    {
        int all = data.Items.Length;
        var kept = data.TopItems(Math.Min(all, options.MaxEaseItems));
        Array.Sort(kept);
        int n = kept.Length;
        var position = new int[all];
        Array.Fill(position, -1);
        for (int a = 0; a < n; a++) position[kept[a]] = a;
        var g = new double[(long)n * n];
        for (int a = 0; a < n; a++)
        {
            var row = c.Neighbours[kept[a]];
            for (int k = 0; k < row.Length; k++)
                if (position[row[k]] is var b and >= 0) g[(long)a * n + b] = c.Counts[kept[a]][k];
            g[(long)a * n + a] += lambda;
        }
        SymmetricInverse.InvertInPlace(g, n);
        var ids = new int[all][];
        var weights = new float[all][];
        for (int i = 0; i < all; i++) { ids[i] = []; weights[i] = []; }
        Parallel.For(0, n, a =>
        {
            var row = new List<(int, float)>();
            for (int b = 0; b < n; b++)
            {
                if (b == a) continue;
                double w = -g[(long)a * n + b] / g[(long)b * n + b];
                if (w > 0) row.Add((kept[b], (float)w));
            }
            (ids[kept[a]], weights[kept[a]]) = TopK(row, options.Neighbours);
        });
        return (ids, weights);
    }

    private static (int[], float[]) TopK(List<(int Id, float Weight)> row, int k)
    {
        row.Sort((a, b) => b.Weight != a.Weight ? b.Weight.CompareTo(a.Weight) : a.Id.CompareTo(b.Id));
        if (row.Count > k) row.RemoveRange(k, row.Count - k);
        return (row.Select(r => r.Id).ToArray(), row.Select(r => r.Weight).ToArray());
    }

    /// <summary>precision, recall and nDCG (binary relevance) at each k of <see cref="Ks"/>, averaged over the customers;
    /// catalogue coverage and popularity share of the top 10.</summary>
    internal static RecommenderMetrics Evaluate(RecommendationModel model, RecommenderCandidate candidate, IReadOnlyList<HoldoutCustomer> customers,
        DateTimeOffset asOf, int[] popularTenth, int catalogue)
    {
        int maxK = Ks[^1];
        var precision = new double[Ks.Length];
        var recall = new double[Ks.Length];
        var ndcg = new double[Ks.Length];
        var recommended = new bool[model.Items.Length];
        var popular = new bool[model.Items.Length];
        foreach (var i in popularTenth) popular[i] = true;
        long slots = 0, popularSlots = 0;
        var gate = new object();
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, customers.Count, 256), () => (P: new double[Ks.Length], R: new double[Ks.Length], N: new double[Ks.Length], Seen: new List<int>(), Slots: 0L, Popular: 0L),
            (range, _, local) =>
            {
                for (int u = range.Item1; u < range.Item2; u++)
                {
                    var c = customers[u];
                    var recs = model.Recommend(c.History, maxK, asOf);
                    double dcg = 0, idcg = 0;
                    int hits = 0, r = 0, k = 0;
                    for (; r < maxK; r++)
                    {
                        if (r < recs.Count && c.Relevant.Contains(recs[r].ItemId)) { hits++; dcg += 1 / Math.Log2(r + 2); }
                        if (r < c.Relevant.Count) idcg += 1 / Math.Log2(r + 2);
                        if (r < 10 && r < recs.Count && model.Index.TryGetValue(recs[r].ItemId, out var item))
                        {
                            local.Seen.Add(item);
                            local.Slots++;
                            if (popular[item]) local.Popular++;
                        }
                        if (k < Ks.Length && r + 1 == Ks[k])
                        {
                            local.P[k] += (double)hits / Ks[k];
                            local.R[k] += (double)hits / c.Relevant.Count;
                            local.N[k] += idcg > 0 ? dcg / idcg : 0;
                            k++;
                        }
                    }
                }
                return local;
            },
            local =>
            {
                lock (gate)
                {
                    for (int k = 0; k < Ks.Length; k++) { precision[k] += local.P[k]; recall[k] += local.R[k]; ndcg[k] += local.N[k]; }
                    foreach (var i in local.Seen) recommended[i] = true;
                    slots += local.Slots;
                    popularSlots += local.Popular;
                }
            });
        int n = Math.Max(1, customers.Count);
        var atK = Ks.Select((k, i) => (k, precision[i] / n, recall[i] / n, ndcg[i] / n)).ToList();
        var ten = atK.First(x => x.k == 10);
        return new RecommenderMetrics(candidate, ten.Item2, ten.Item3, ten.Item4, customers.Count, 0, atK,
            (double)recommended.Count(b => b) / Math.Max(1, catalogue), slots > 0 ? (double)popularSlots / slots : 0);
    }
}
