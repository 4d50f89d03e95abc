using System.Diagnostics;

namespace iCrm.Ml.Recommendations;

public sealed record RecommenderOptions
{
    /// <summary>Days at the end of the data held out to evaluate on (a global time split: no model sees the holdout).</summary>
    public int HoldoutDays { get; init; } = 30;
    /// <summary>Customers sampled (seeded) from those who bought in the holdout, to keep evaluation fast.</summary>
    public int EvaluationCustomers { get; init; } = 5_000;
    public int Seed { get; init; } = 11;
    public int Top { get; init; } = 10;
    /// <summary>Neighbours kept per item in the stored model.</summary>
    public int Neighbours { get; init; } = 50;
    public double HalfLifeDays { get; init; } = 60;
    /// <summary>"jaccard" or "lift" for the SAR item-item similarity.</summary>
    public string Similarity { get; init; } = "jaccard";
    /// <summary>EASE's L2 regularisation λ added to the Gram matrix's diagonal.</summary>
    public double EaseLambda { get; init; } = 100;
    /// <summary>EASE needs a dense item × item inverse (O(n³)); beyond this many items it is not trained.</summary>
    public int MaxEaseItems { get; init; } = 3_000;
    public double RepurchaseThreshold { get; init; } = 0.3;
    public int PopularItems { get; init; } = 200;
    /// <summary>Refit the chosen kind on all the data (holdout included) before storing it.</summary>
    public bool RefitOnAllData { get; init; } = true;
    public IReadOnlyList<string> Kinds { get; init; } = [RecommenderKinds.Popularity, RecommenderKinds.ItemSimilarity, RecommenderKinds.Ease];
}

/// <summary>Offline metrics of one kind on the time split, for the model card.</summary>
public sealed record RecommenderMetrics(string Kind, double PrecisionAt10, double RecallAt10, double NdcgAt10, int Customers, double TrainSeconds);

public sealed record RecommenderTrainingResult(
    RecommendationModel Model,
    string Chosen,
    IReadOnlyList<RecommenderMetrics> Metrics,
    DateTimeOffset SplitAt,
    int TrainInteractions,
    int HoldoutInteractions,
    int Items,
    int Customers,
    double TotalSeconds);

/// <summary>
/// Trains every kind on the interactions before the split, scores the holdout, picks the best by nDCG@10 (the
/// simplest kind wins a tie), and refits it on everything. Relevant items for a customer are the distinct items they
/// bought in the holdout; every kind is scored with the same exclusion of already-bought items.
/// </summary>
public static class RecommenderTrainer
{
    public static RecommenderTrainingResult Train(IReadOnlyList<Interaction> interactions, RecommenderOptions? options = null)
    {
        options ??= new RecommenderOptions();
        var total = Stopwatch.StartNew();
        if (interactions.Count == 0) throw new ArgumentException("No interactions to learn from.", nameof(interactions));
        var data = InteractionData.Build(interactions);
        var splitAt = data.Latest.AddDays(-options.HoldoutDays);
        var train = data.Before(splitAt);

        var metrics = new List<RecommenderMetrics>();
        var evaluation = data.HoldoutCustomers(splitAt, options.EvaluationCustomers, options.Seed);
        foreach (var kind in options.Kinds)
        {
            if (kind == RecommenderKinds.Ease && data.Items.Length > options.MaxEaseItems) continue;
            var sw = Stopwatch.StartNew();
            var model = Fit(kind, train, options);
            double seconds = sw.Elapsed.TotalSeconds;
            metrics.Add(Evaluate(model, kind, evaluation, options.Top, splitAt) with { TrainSeconds = seconds });
        }

        var chosen = metrics.Aggregate((best, m) => m.NdcgAt10 > best.NdcgAt10 ? m : best).Kind;
        var final = Fit(chosen, options.RefitOnAllData ? data : train, options);
        return new RecommenderTrainingResult(final, chosen, metrics, splitAt,
            train.LineCount, data.LineCount - train.LineCount, data.Items.Length, data.CustomerCount, total.Elapsed.TotalSeconds);
    }

    /// <summary>Fits one kind on the given data.</summary>
    internal static RecommendationModel Fit(string kind, InteractionData data, RecommenderOptions options)
    {
        var (popularIds, popularScores) = data.Popularity(options.PopularItems);
        var repurchase = data.RepurchaseRates();
        (int[][] ids, float[][] weights) = kind switch
        {
            RecommenderKinds.Popularity => (Array.Empty<int[]>(), Array.Empty<float[]>()),
            RecommenderKinds.ItemSimilarity => ItemSimilarity(data, options),
            RecommenderKinds.Ease => Ease(data, options),
            _ => throw new ArgumentException($"Unknown recommender kind '{kind}'.", nameof(kind)),
        };
        return new RecommendationModel
        {
            Kind = kind,
            Items = data.Items,
            NeighbourIds = ids,
            NeighbourWeights = weights,
            PopularIds = popularIds,
            PopularScores = popularScores,
            RepurchaseRates = repurchase,
            RepurchaseThreshold = options.RepurchaseThreshold,
            HalfLifeDays = kind == RecommenderKinds.ItemSimilarity ? options.HalfLifeDays : 0,
        };
    }

    /// <summary>SAR-like similarity: co-occurrence of items in customers' baskets (all time), Jaccard or lift, top-K per item.</summary>
    private static (int[][], float[][]) ItemSimilarity(InteractionData data, RecommenderOptions options)
    {
        int n = data.Items.Length;
        var c = data.CoOccurrence();
        bool lift = string.Equals(options.Similarity, "lift", StringComparison.OrdinalIgnoreCase);
        var ids = new int[n][];
        var weights = new float[n][];
        Parallel.For(0, n, i =>
        {
            var row = new List<(int, float)>();
            double cii = c[(long)i * n + i];
            for (int j = 0; j < n; j++)
            {
                int cij = c[(long)i * n + j];
                if (cij == 0) continue;
                double cjj = c[(long)j * n + j];
                double s = lift ? cij / (cii * cjj) : cij / (cii + cjj - cij);
                row.Add((j, (float)s));
            }
            (ids[i], weights[i]) = TopK(row, options.Neighbours);
        });
        return (ids, weights);
    }

    /// <summary>
    /// EASE (Steck 2019): P = (XᵀX + λI)⁻¹, B = I − P·diagMat(1/diag(P)), i.e. B_ij = −P_ij / P_jj and B_ii = 0.
    /// Only the K largest positive entries of each row of B are kept so scoring stays sparse.
    /// </summary>
    private static (int[][], float[][]) Ease(InteractionData data, RecommenderOptions options)
    {
        int n = data.Items.Length;
        var c = data.CoOccurrence();
        var g = new double[(long)n * n];
        for (long k = 0; k < g.Length; k++) g[k] = c[k];
        for (int i = 0; i < n; i++) g[(long)i * n + i] += options.EaseLambda;
        SymmetricInverse.InvertInPlace(g, n);
        var ids = new int[n][];
        var weights = new float[n][];
        Parallel.For(0, n, i =>
        {
            var row = new List<(int, float)>();
            for (int j = 0; j < n; j++)
            {
                if (j == i) continue;
                double b = -g[(long)i * n + j] / g[(long)j * n + j];
                if (b > 0) row.Add((j, (float)b));
            }
            (ids[i], weights[i]) = TopK(row, options.Neighbours);
        });
        return (ids, weights);
    }

    private static (int[], float[]) TopK(List<(int Id, float Weight)> row, int k)
    {
        row.Sort((a, b) => b.Weight != a.Weight ? b.Weight.CompareTo(a.Weight) : a.Id.CompareTo(b.Id));
        if (row.Count > k) row.RemoveRange(k, row.Count - k);
        return (row.Select(r => r.Id).ToArray(), row.Select(r => r.Weight).ToArray());
    }

    /// <summary>precision@K, recall@K and nDCG@K (binary relevance) averaged over the evaluation customers.</summary>
    internal static RecommenderMetrics Evaluate(RecommendationModel model, string kind, IReadOnlyList<HoldoutCustomer> customers, int top, DateTimeOffset asOf)
    {
        double precision = 0, recall = 0, ndcg = 0;
        foreach (var c in customers)
        {
            var recs = model.Recommend(c.History, top, asOf);
            double dcg = 0;
            int hits = 0;
            for (int r = 0; r < recs.Count; r++)
                if (c.Relevant.Contains(recs[r].ItemId)) { hits++; dcg += 1 / Math.Log2(r + 2); }
            double idcg = 0;
            for (int r = 0; r < Math.Min(top, c.Relevant.Count); r++) idcg += 1 / Math.Log2(r + 2);
            precision += (double)hits / top;
            recall += (double)hits / c.Relevant.Count;
            ndcg += idcg > 0 ? dcg / idcg : 0;
        }
        int n = Math.Max(1, customers.Count);
        return new RecommenderMetrics(kind, precision / n, recall / n, ndcg / n, customers.Count, 0);
    }
}
