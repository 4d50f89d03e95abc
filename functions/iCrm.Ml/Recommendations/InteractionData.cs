namespace iCrm.Ml.Recommendations;

/// <summary>A customer in the evaluation: purchases before the split and the distinct items bought after it.</summary>
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

    /// <summary>The same customers and item numbering with only purchases strictly before <paramref name="at"/>.</summary>
    public InteractionData Before(DateTimeOffset at) => new()
    {
        Items = Items,
        Customers = Customers,
        Purchases = Purchases.Select(p => p.Where(x => x.Time < at).ToArray()).ToArray(),
        Latest = at,
    };

    /// <summary>Customers with purchases both before and after the split, sampled with a seed.</summary>
    public List<HoldoutCustomer> HoldoutCustomers(DateTimeOffset splitAt, int max, int seed)
    {
        var list = new List<HoldoutCustomer>();
        for (int c = 0; c < Customers.Length; c++)
        {
            var p = Purchases[c];
            if (p.Length == 0 || p[0].Time >= splitAt || p[^1].Time < splitAt) continue;
            list.Add(new HoldoutCustomer(Customers[c],
                p.Where(x => x.Time < splitAt).Select(x => new Purchase(Items[x.Item], x.Time)).ToList(),
                p.Where(x => x.Time >= splitAt).Select(x => Items[x.Item]).ToHashSet(StringComparer.Ordinal)));
        }
        if (list.Count <= max) return list;
        var rnd = new Random(seed);
        var array = list.ToArray();
        rnd.Shuffle(array);
        return array[..max].ToList();
    }

    /// <summary>Co-occurrence counts C = XᵀX over customers' distinct item sets (diagonal: buyers per item), n×n row-major.</summary>
    public int[] CoOccurrence()
    {
        int n = Items.Length;
        var c = new int[(long)n * n];
        var seen = new HashSet<int>();
        var basket = new List<int>();
        foreach (var p in Purchases)
        {
            seen.Clear(); basket.Clear();
            foreach (var x in p) if (seen.Add(x.Item)) basket.Add(x.Item);
            for (int a = 0; a < basket.Count; a++)
            {
                long row = (long)basket[a] * n;
                for (int b = 0; b < basket.Count; b++) c[row + basket[b]]++;
            }
        }
        return c;
    }

    /// <summary>Items by distinct buyers, most first (ties by index), with the share of customers who bought them.</summary>
    public (int[] Ids, float[] Scores) Popularity(int top)
    {
        var buyers = new int[Items.Length];
        var seen = new HashSet<int>();
        int customers = 0;
        foreach (var p in Purchases)
        {
            if (p.Length == 0) continue;
            customers++;
            seen.Clear();
            foreach (var x in p) if (seen.Add(x.Item)) buyers[x.Item]++;
        }
        var ids = Enumerable.Range(0, Items.Length).Where(i => buyers[i] > 0)
            .OrderByDescending(i => buyers[i]).ThenBy(i => i).Take(top).ToArray();
        return (ids, ids.Select(i => (float)buyers[i] / Math.Max(1, customers)).ToArray());
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
