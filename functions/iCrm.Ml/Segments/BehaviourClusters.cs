using iCrm.Core.Profiles;

namespace iCrm.Ml.Segments;

/// <summary>A clustering feature with the words used to describe a cluster that sits above or below the average on it.</summary>
public sealed record ClusterFeature(string Name, string HighPhrase, string LowPhrase);

/// <summary>How clusters are found: k-means++ with a seed, k chosen by the best mean silhouette on a sample.</summary>
public sealed record ClusteringOptions
{
    public int MinClusters { get; init; } = 3;
    public int MaxClusters { get; init; } = 8;
    public int Seed { get; init; } = 17;
    /// <summary>Customers used to compute silhouettes (the criterion is O(n²) in this).</summary>
    public int SilhouetteSample { get; init; } = 2_000;
    /// <summary>Customers used to fit the candidate k's; the chosen k is then fitted on everyone.</summary>
    public int SelectionSample { get; init; } = 20_000;
    public int Restarts { get; init; } = 3;
    public int MaxIterations { get; init; } = 100;
    /// <summary>A centroid this many standard deviations from the mean on a feature gets that feature's phrase.</summary>
    public double DescriptionThreshold { get; init; } = 0.5;
}

/// <summary>
/// Behavioural clusters as stored with the segments model: standardisation (means, standard deviations), centroids in
/// standardised units, a plain-language description per cluster and how k was chosen. Cluster 0 is the largest.
/// </summary>
public sealed record BehaviourClusterModel(
    IReadOnlyList<ClusterFeature> Features,
    double[] Means,
    double[] StandardDeviations,
    double[][] Centroids,
    string[] Descriptions,
    int[] Sizes,
    string Criterion,
    Dictionary<int, double> SilhouetteByK)
{
    public int K => Centroids.Length;

    /// <summary>The nearest cluster to a customer's raw (unstandardised) features, in the order of <see cref="Features"/>.</summary>
    public int Assign(ReadOnlySpan<float> features)
    {
        if (features.Length != Means.Length) throw new ArgumentException($"Expected {Means.Length} features, got {features.Length}.", nameof(features));
        int best = 0;
        double bestDistance = double.MaxValue;
        for (int k = 0; k < Centroids.Length; k++)
        {
            double d = 0;
            var c = Centroids[k];
            for (int j = 0; j < c.Length; j++)
            {
                double z = (features[j] - Means[j]) / StandardDeviations[j] - c[j];
                d += z * z;
            }
            if (d < bestDistance) { bestDistance = d; best = k; }
        }
        return best;
    }

    public string Describe(int cluster) => Descriptions[cluster];
}

/// <summary>Fits <see cref="BehaviourClusterModel"/> with an own seeded k-means++ (deterministic across runs and machines).</summary>
public static class BehaviourClustering
{
    public static BehaviourClusterModel Fit(IReadOnlyList<float[]> rows, IReadOnlyList<ClusterFeature> features, ClusteringOptions? options = null)
    {
        options ??= new ClusteringOptions();
        int d = features.Count;
        if (rows.Count < options.MinClusters) throw new ArgumentException("Too few customers to cluster.", nameof(rows));
        if (rows.Any(r => r.Length != d)) throw new ArgumentException($"Every row needs {d} features.", nameof(rows));

        var means = new double[d];
        var sds = new double[d];
        foreach (var r in rows) for (int j = 0; j < d; j++) means[j] += r[j];
        for (int j = 0; j < d; j++) means[j] /= rows.Count;
        foreach (var r in rows) for (int j = 0; j < d; j++) sds[j] += (r[j] - means[j]) * (r[j] - means[j]);
        for (int j = 0; j < d; j++)
        {
            sds[j] = Math.Sqrt(sds[j] / Math.Max(1, rows.Count - 1));
            if (!(sds[j] > 1e-12)) sds[j] = 1; // a constant feature carries no information; keep it harmless
        }
        var z = new double[rows.Count][];
        for (int i = 0; i < rows.Count; i++)
        {
            z[i] = new double[d];
            for (int j = 0; j < d; j++) z[i][j] = (rows[i][j] - means[j]) / sds[j];
        }

        var rnd = new Random(options.Seed);
        var selection = Sample(z, options.SelectionSample, rnd);
        var silhouetteSample = Sample(selection, options.SilhouetteSample, rnd);
        var byK = new Dictionary<int, double>();
        int maxK = Math.Min(options.MaxClusters, silhouetteSample.Length - 1);
        for (int k = options.MinClusters; k <= maxK; k++)
        {
            var centroids = KMeans(selection, k, options, options.Seed + k);
            byK[k] = Math.Round(Silhouette(silhouetteSample, centroids), 4);
        }
        int bestK = byK.Count > 0 ? byK.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key : options.MinClusters;
        var final = KMeans(z, bestK, options, options.Seed);

        var sizes = new int[bestK];
        foreach (var p in z) sizes[Nearest(final, p)]++;
        var order = Enumerable.Range(0, bestK).OrderByDescending(k => sizes[k]).ThenBy(k => k).ToArray();
        var centroidsSorted = order.Select(k => final[k]).ToArray();
        return new BehaviourClusterModel(
            features.ToList(), means, sds, centroidsSorted,
            centroidsSorted.Select(c => Describe(c, features, options.DescriptionThreshold)).ToArray(),
            order.Select(k => sizes[k]).ToArray(),
            $"k in {options.MinClusters}..{options.MaxClusters} with the highest mean silhouette on a sample of {silhouetteSample.Length} customers",
            byK);
    }

    /// <summary>"High spend, frequent, recent": the (up to three) features whose centroid is furthest from the mean.</summary>
    internal static string Describe(double[] centroid, IReadOnlyList<ClusterFeature> features, double threshold)
    {
        var phrases = Enumerable.Range(0, centroid.Length)
            .Where(j => Math.Abs(centroid[j]) >= threshold)
            .OrderByDescending(j => Math.Abs(centroid[j])).ThenBy(j => j)
            .Take(3)
            .Select(j => centroid[j] > 0 ? features[j].HighPhrase : features[j].LowPhrase)
            .ToList();
        if (phrases.Count == 0) return "Close to average on every measure";
        var text = string.Join(", ", phrases);
        return char.ToUpperInvariant(text[0]) + text[1..];
    }

    private static double[][] Sample(double[][] points, int size, Random rnd)
    {
        if (points.Length <= size) return points;
        var copy = (double[][])points.Clone();
        rnd.Shuffle(copy);
        return copy[..size];
    }

    private static double[][] KMeans(double[][] points, int k, ClusteringOptions options, int seed)
    {
        var rnd = new Random(seed);
        double[][]? best = null;
        double bestInertia = double.MaxValue;
        for (int restart = 0; restart < options.Restarts; restart++)
        {
            var centroids = PlusPlus(points, k, rnd);
            var assignment = new int[points.Length];
            for (int iter = 0; iter < options.MaxIterations; iter++)
            {
                int changed = 0;
                var current = centroids;
                bool first = iter == 0;
                Parallel.For(0, points.Length, () => 0, (i, _, local) =>
                {
                    int a = Nearest(current, points[i]);
                    if (a != assignment[i] || first) { assignment[i] = a; local++; }
                    return local;
                }, local => Interlocked.Add(ref changed, local));
                var sums = new double[k][];
                var counts = new int[k];
                for (int c = 0; c < k; c++) sums[c] = new double[points[0].Length];
                for (int i = 0; i < points.Length; i++)
                {
                    counts[assignment[i]]++;
                    var s = sums[assignment[i]];
                    for (int j = 0; j < s.Length; j++) s[j] += points[i][j];
                }
                for (int c = 0; c < k; c++)
                {
                    if (counts[c] == 0) { centroids[c] = (double[])points[rnd.Next(points.Length)].Clone(); continue; }
                    for (int j = 0; j < sums[c].Length; j++) centroids[c][j] = sums[c][j] / counts[c];
                }
                // Lloyd's steps on many points end in a long tail of a few points flipping; 0.1 % is converged enough.
                if (changed <= points.Length / 1000) break;
            }
            double inertia = 0;
            for (int i = 0; i < points.Length; i++) inertia += Distance2(points[i], centroids[assignment[i]]);
            if (inertia < bestInertia) { bestInertia = inertia; best = centroids; }
        }
        return best!;
    }

    private static double[][] PlusPlus(double[][] points, int k, Random rnd)
    {
        var centroids = new double[k][];
        centroids[0] = (double[])points[rnd.Next(points.Length)].Clone();
        var d2 = new double[points.Length];
        for (int i = 0; i < points.Length; i++) d2[i] = Distance2(points[i], centroids[0]);
        for (int c = 1; c < k; c++)
        {
            double total = d2.Sum();
            double target = rnd.NextDouble() * total;
            int pick = points.Length - 1;
            for (int i = 0; i < points.Length; i++)
            {
                target -= d2[i];
                if (target <= 0) { pick = i; break; }
            }
            centroids[c] = (double[])points[pick].Clone();
            for (int i = 0; i < points.Length; i++) d2[i] = Math.Min(d2[i], Distance2(points[i], centroids[c]));
        }
        return centroids;
    }

    /// <summary>Mean silhouette: for each point, (b − a) / max(a, b) with a the mean distance within its cluster, b to the nearest other.</summary>
    private static double Silhouette(double[][] points, double[][] centroids)
    {
        int k = centroids.Length;
        var label = points.Select(p => Nearest(centroids, p)).ToArray();
        var counts = new int[k];
        foreach (var l in label) counts[l]++;
        double total = 0;
        var sums = new double[k];
        for (int i = 0; i < points.Length; i++)
        {
            Array.Clear(sums);
            for (int j = 0; j < points.Length; j++)
                if (j != i) sums[label[j]] += Math.Sqrt(Distance2(points[i], points[j]));
            int own = label[i];
            if (counts[own] <= 1) continue; // silhouette of a singleton is 0 by convention
            double a = sums[own] / (counts[own] - 1);
            double b = double.MaxValue;
            for (int c = 0; c < k; c++) if (c != own && counts[c] > 0) b = Math.Min(b, sums[c] / counts[c]);
            if (b == double.MaxValue) continue;
            total += (b - a) / Math.Max(a, b);
        }
        return total / points.Length;
    }

    private static int Nearest(double[][] centroids, double[] p)
    {
        int best = 0;
        double bestD = double.MaxValue;
        for (int c = 0; c < centroids.Length; c++)
        {
            double d = Distance2(p, centroids[c]);
            if (d < bestD) { bestD = d; best = c; }
        }
        return best;
    }

    private static double Distance2(double[] a, double[] b)
    {
        double s = 0;
        for (int j = 0; j < a.Length; j++) { double t = a[j] - b[j]; s += t * t; }
        return s;
    }
}

/// <summary>
/// The standard behavioural feature set built from a profile as of a cutoff: recency, log orders, log average order
/// value, tenure, return rate and the share of order lines per channel. Logs tame the long tails so one big spender does
/// not get a cluster of their own.
/// </summary>
public static class BehaviourFeatures
{
    public static IReadOnlyList<ClusterFeature> Describe(IReadOnlyList<string> channels)
    {
        var list = new List<ClusterFeature>
        {
            new("days_since_last_order", "lapsed", "recent"),
            new("log_orders", "frequent", "infrequent"),
            new("log_average_order_value", "high spend per order", "low spend per order"),
            new("tenure_days", "long-standing", "newer customers"),
            new("return_rate", "return a lot", "rarely return"),
        };
        list.AddRange(channels.Select(c => new ClusterFeature($"share_{c}", $"mostly {c}", $"seldom {c}")));
        return list;
    }

    /// <summary>The features of <see cref="Describe"/> for one customer, or null without a purchase before the cutoff.</summary>
    public static float[]? FromProfile(CustomerProfile profile, DateTimeOffset cutoff, IReadOnlyList<string> channels)
    {
        // One pass over the lines and one over the buckets: live scoring calls this per request.
        DateTimeOffset? firstDate = null, lastDate = null;
        int lineCount = 0, returns = 0, bucketOrders = 0;
        double spend = 0;
        Span<int> perChannel = channels.Count <= 16 ? stackalloc int[channels.Count] : new int[channels.Count];
        var orderIds = OrderIds.Distinct();
        string? previousOrder = null;
        int distinctOrders = 0;
        foreach (var l in profile.Orders)
        {
            if (l.Date >= cutoff) continue;
            lineCount++;
            if (firstDate is null || l.Date < firstDate) firstDate = l.Date;
            if (lastDate is null || l.Date > lastDate) lastDate = l.Date;
            if (l.Returned) returns++;
            else spend += (double)l.Amount;
            if (!string.Equals(l.OrderId, previousOrder, StringComparison.Ordinal))
            {
                // Lines of one order are usually adjacent; the set only catches an order whose lines are not.
                if (orderIds.Add(l.OrderId)) distinctOrders++;
                previousOrder = l.OrderId;
            }
            for (int c = 0; c < channels.Count; c++)
                if (string.Equals(l.Channel, channels[c], StringComparison.OrdinalIgnoreCase)) perChannel[c]++;
        }
        orderIds.Clear();
        int orderLines = lineCount;
        foreach (var b in profile.OrderMonths)
        {
            if (b.Orders <= 0 || !OrderIds.TryMidMonth(b.Month, out var mid) || mid >= cutoff) continue;
            bucketOrders += b.Orders;
            spend += (double)b.Spend;
            returns += b.Returns;
            orderLines += b.Orders;
            if (firstDate is null || mid < firstDate) firstDate = mid;
            if (lastDate is null || mid > lastDate) lastDate = mid;
        }
        if (firstDate is null) return null;

        int orders = distinctOrders + bucketOrders;
        var first = profile.SignupDate is { } s && new DateTimeOffset(s.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) is var signup && signup < firstDate.Value ? signup : firstDate.Value;

        var f = new float[5 + channels.Count];
        f[0] = (float)(cutoff - lastDate!.Value).TotalDays;
        f[1] = (float)Math.Log(1 + orders);
        f[2] = (float)Math.Log(1 + Math.Max(0, spend) / Math.Max(1, orders));
        f[3] = (float)(cutoff - first).TotalDays;
        f[4] = orderLines > 0 ? (float)returns / orderLines : 0;
        for (int c = 0; c < channels.Count; c++)
            f[5 + c] = lineCount > 0 ? (float)perChannel[c] / lineCount : 0;
        return f;
    }
}
