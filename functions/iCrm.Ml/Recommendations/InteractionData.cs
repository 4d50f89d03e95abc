namespace iCrm.Ml.Recommendations;

/// <summary>A customer in the evaluation: the purchases the models may see and the distinct items hidden from them.</summary>
internal sealed record HoldoutCustomer(string CustomerId, List<Purchase> History, HashSet<string> Relevant);

/// <summary>Interactions indexed for training: items and customers numbered, each customer's purchases sorted by time.</summary>
internal sealed class InteractionData
{
    public required string[] Items { get; init; }
    public required string[] Customers { get; init; }
    /// <summary>Per customer: (item, day number, time) in time order.</summary>
    public required (int Item, int Day, DateTimeOffset Time)[][] Purchases { get; init; }
    public DateTimeOffset Latest { get; init; }
    public int LineCount => Purchases.Sum(p => p.Length);
    public int CustomerCount => Purchases.Count(p => p.Length > 0);

    public static InteractionData Build(IReadOnlyList<Interaction> interactions)
    {
        // Items numbered in ordinal order of their ids, so the model is the same whatever order the lines came in.
        var items = interactions.Select(i => i.ItemId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var itemIndex = items.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
        var byCustomer = new Dictionary<string, List<(int, int, DateTimeOffset)>>(StringComparer.Ordinal);
        var latest = DateTimeOffset.MinValue;
        foreach (var x in interactions)
        {
            if (!byCustomer.TryGetValue(x.CustomerId, out var list)) byCustomer[x.CustomerId] = list = [];
            list.Add((itemIndex[x.ItemId], DateOnly.FromDateTime(x.Time.UtcDateTime).DayNumber, x.Time));
            if (x.Time > latest) latest = x.Time;
        }
        var customers = byCustomer.Keys.Order(StringComparer.Ordinal).ToArray();
        return new InteractionData
        {
            Items = items,
            Customers = customers,
            Purchases = customers.Select(c => byCustomer[c].OrderBy(p => p.Item3).ToArray()).ToArray(),
            Latest = latest,
        };
    }

    /// <summary>
    /// The per-user random holdout: for every customer with at least <paramref name="minimumItems"/> distinct items, a
    /// seeded random <paramref name="fraction"/> of them (at least one, never all) is hidden with all its purchases. Returns
    /// the data without the hidden purchases (same item numbering) and the evaluated customers in two seeded halves: one
    /// to choose hyperparameters on, one to report on. Each customer's draw depends only on the seed and the customer's
    /// position in ordinal order, so the split does not depend on the order the lines came in.
    /// </summary>
    public (InteractionData Train, List<HoldoutCustomer> Selection, List<HoldoutCustomer> Report) PerUserSplit(double fraction, int minimumItems, int seed)
    {
        var purchases = new (int Item, int Day, DateTimeOffset Time)[Purchases.Length][];
        var selection = new List<HoldoutCustomer>();
        var report = new List<HoldoutCustomer>();
        var distinct = new List<int>();
        var hidden = new HashSet<int>();
        for (int c = 0; c < Purchases.Length; c++)
        {
            var p = Purchases[c];
            distinct.Clear();
            hidden.Clear();
            foreach (var x in p) if (!distinct.Contains(x.Item)) distinct.Add(x.Item);
            if (distinct.Count < Math.Max(2, minimumItems))
            {
                purchases[c] = p;
                continue;
            }
            var rnd = new Random(unchecked(seed * 1_000_003 + c));
            var order = distinct.ToArray();
            Array.Sort(order); // the draw must not depend on the order of same-time purchases
            rnd.Shuffle(order);
            int hide = Math.Clamp((int)Math.Round(fraction * order.Length), 1, order.Length - 1);
            for (int i = 0; i < hide; i++) hidden.Add(order[i]);
            purchases[c] = p.Where(x => !hidden.Contains(x.Item)).ToArray();
            var customer = new HoldoutCustomer(Customers[c],
                purchases[c].Select(x => new Purchase(Items[x.Item], x.Time)).ToList(),
                hidden.Select(i => Items[i]).ToHashSet(StringComparer.Ordinal));
            (rnd.NextDouble() < 0.5 ? selection : report).Add(customer);
        }
        var train = new InteractionData { Items = Items, Customers = Customers, Purchases = purchases, Latest = Latest };
        return (train, selection, report);
    }

    /// <summary>The <paramref name="count"/> items with the most distinct buyers (ties by index).</summary>
    public int[] TopItems(int count)
    {
        var buyers = Buyers();
        return [.. Enumerable.Range(0, Items.Length).OrderByDescending(i => buyers[i]).ThenBy(i => i).Take(count)];
    }

    /// <summary>
    /// XᵀX as sparse rows: for each item, the items bought by the same customers (itself included, its count being its
    /// number of buyers) and how many customers bought both. Counted row by row in parallel from an item → buyers index,
    /// so memory grows with the pairs that occur, not with items² (a dense table of 100,000 items would take 40 GB).
    /// </summary>
    public ItemCooccurrence CoOccurrence()
    {
        int n = Items.Length;
        var baskets = new int[Purchases.Length][];
        var buyers = new int[n];
        for (int c = 0; c < Purchases.Length; c++)
        {
            baskets[c] = [.. Purchases[c].Select(x => x.Item).Distinct()];
            foreach (var i in baskets[c]) buyers[i]++;
        }
        var buyersOf = new int[n][];
        for (int i = 0; i < n; i++) buyersOf[i] = new int[buyers[i]];
        var filled = new int[n];
        for (int c = 0; c < baskets.Length; c++)
            foreach (var i in baskets[c]) buyersOf[i][filled[i]++] = c;
        var ids = new int[n][];
        var counts = new int[n][];
        Parallel.For(0, n, () => (Scratch: new int[n], Touched: new List<int>()), (i, _, local) =>
        {
            foreach (var c in buyersOf[i])
                foreach (var j in baskets[c])
                    if (local.Scratch[j]++ == 0) local.Touched.Add(j);
            local.Touched.Sort();
            ids[i] = [.. local.Touched];
            counts[i] = [.. local.Touched.Select(j => local.Scratch[j])];
            foreach (var j in local.Touched) local.Scratch[j] = 0;
            local.Touched.Clear();
            return local;
        }, _ => { });
        return new ItemCooccurrence(ids, counts, buyers);
    }

    /// <summary>Items by distinct buyers, most first (ties by index), with the share of customers who bought them.</summary>
    public (int[] Ids, float[] Scores) Popularity(int top)
    {
        var buyers = Buyers();
        int customers = CustomerCount;
        var ids = Enumerable.Range(0, Items.Length).Where(i => buyers[i] > 0)
            .OrderByDescending(i => buyers[i]).ThenBy(i => i).Take(top).ToArray();
        return (ids, ids.Select(i => (float)buyers[i] / Math.Max(1, customers)).ToArray());
    }

    private int[] Buyers()
    {
        var buyers = new int[Items.Length];
        var seen = new HashSet<int>();
        foreach (var p in Purchases)
        {
            seen.Clear();
            foreach (var x in p) if (seen.Add(x.Item)) buyers[x.Item]++;
        }
        return buyers;
    }

    /// <summary>Per item: buyers who bought it on two or more distinct days, over all its buyers.</summary>
    public float[] RepurchaseRates()
    {
        var buyers = new int[Items.Length];
        var repeaters = new int[Items.Length];
        var days = new Dictionary<int, (int FirstDay, bool Repeated)>();
        foreach (var p in Purchases)
        {
            days.Clear();
            foreach (var x in p)
            {
                if (!days.TryGetValue(x.Item, out var d)) days[x.Item] = (x.Day, false);
                else if (!d.Repeated && x.Day != d.FirstDay) days[x.Item] = (d.FirstDay, true);
            }
            foreach (var (item, d) in days)
            {
                buyers[item]++;
                if (d.Repeated) repeaters[item]++;
            }
        }
        return buyers.Select((b, i) => b > 0 ? (float)repeaters[i] / b : 0f).ToArray();
    }
}

/// <summary>Sparse XᵀX: <see cref="Neighbours"/>[i] (ascending) are the items bought together with item i, <see cref="Counts"/>[i]
/// how many customers bought both; <see cref="Buyers"/>[i] is the diagonal.</summary>
public sealed record ItemCooccurrence(int[][] Neighbours, int[][] Counts, int[] Buyers)
{
    public long NonZeros => Neighbours.Sum(r => (long)r.Length);

    public int Count(int i, int j)
    {
        var k = Array.BinarySearch(Neighbours[i], j);
        return k >= 0 ? Counts[i][k] : 0;
    }
}
