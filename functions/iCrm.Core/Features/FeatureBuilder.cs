using System.Globalization;
using iCrm.Core.Profiles;

namespace iCrm.Core.Features;

/// <summary>
/// The one feature builder for training and live scoring: a profile as of a cutoff becomes a float vector laid out
/// by the schema. Only data strictly before the cutoff is read (orders, events, feedback and subscription starts/ends
/// dated on or after it are ignored; a monthly bucket is used only when its whole month lies before the cutoff), so a
/// backtest sees what live scoring would have seen then.
/// </summary>
/// <remarks>
/// Profile history is compact: the order log holds the newest lines and older orders are folded into monthly buckets,
/// which are placed at mid-month for the 30/90/365-day windows. Event buckets are read as complete monthly counts; they
/// are used only for months before the oldest retained recent event, and recent events for the rest, so no event is
/// counted twice. Attributes and birth date carry no timestamp and are read as they are now.
/// Missing values are imputed (0 for counts and attributes, 3 for an average rating, 0.5 for sentiment,
/// <see cref="FixedFeatures.NeverDays"/> for "days since" without an event) rather than NaN, so every trainer can use them.
/// </remarks>
public sealed class FeatureBuilder
{
    private readonly Dictionary<string, int> _numericSlots;
    private readonly Dictionary<string, Dictionary<string, int>> _oneHotSlots;
    private readonly Dictionary<string, (int Slot, EncodedAttribute Attribute)> _encoded;
    private readonly HashSet<string> _categorical;
    private readonly int _hashStart;
    private readonly bool _readsAttributes;
    private readonly (int Slot, int[] Members)[] _totals;

    public FeatureBuilder(FeatureSchema schema)
    {
        Schema = schema;
        if (schema.Version is < FeatureSchema.OldestReadableVersion or > FeatureSchema.CurrentVersion)
        {
            throw new InvalidOperationException($"Feature schema v{schema.Version} cannot be built by this version (v{FeatureSchema.OldestReadableVersion}–v{FeatureSchema.CurrentVersion}).");
        }

        var slot = FixedFeatures.Count;
        _numericSlots = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in schema.NumericAttributes)
        {
            _numericSlots[name] = slot++;
        }

        _oneHotSlots = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var a in schema.OneHotAttributes)
        {
            var values = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var value in a.Values)
            {
                values[value] = slot++;
            }

            _oneHotSlots[a.Name] = values;
        }

        _encoded = new Dictionary<string, (int, EncodedAttribute)>(StringComparer.Ordinal);
        foreach (var a in schema.EncodedAttributes)
        {
            _encoded[a.Name] = (slot, a);
            slot += 2;
        }

        _totals = [.. schema.AttributeTotals.Select(t => (slot++, t.Members.Select(m => _numericSlots[m]).ToArray()))];
        _categorical = new HashSet<string>(schema.CategoricalAttributes, StringComparer.Ordinal);
        _hashStart = slot;
        _readsAttributes = _numericSlots.Count + _oneHotSlots.Count + _encoded.Count > 0 || (_categorical.Count > 0 && schema.HashBuckets > 0);
    }

    public FeatureSchema Schema { get; }

    public CustomerFeatures Build(CustomerProfile profile, DateTimeOffset asOf)
    {
        var values = new float[Schema.Count];
        Build(profile, asOf, values);
        return new CustomerFeatures(profile.Id, asOf, values, Schema);
    }

    public void Build(CustomerProfile profile, DateTimeOffset asOf, Span<float> values)
    {
        if (values.Length != Schema.Count)
        {
            throw new ArgumentException($"Expected a buffer of {Schema.Count} features, got {values.Length}.", nameof(values));
        }

        values.Clear();
        AddOrders(profile, asOf, values);
        AddEvents(profile, asOf, values);
        AddFeedback(profile, asOf, values);
        AddSubscriptions(profile, asOf, values);
        if (profile.Contact.BirthDate is { } birth && birth.ToDateTime(TimeOnly.MinValue) < asOf.UtcDateTime)
        {
            values[FixedFeatures.AgeYears] = (float)((asOf.UtcDateTime - birth.ToDateTime(TimeOnly.MinValue)).TotalDays / 365.25);
        }

        AddAttributes(profile, values);
    }

    private static void AddOrders(CustomerProfile profile, DateTimeOffset asOf, Span<float> v)
    {
        // Lines → orders (an order's date is its earliest line, its channel the first line's), in the order each order
        // first appears. Live scoring runs this per request, so the grouping reuses this thread's scratch instead of a
        // dictionary and a set per call, and lines of one order (adjacent in the log) are grouped without a lookup.
        var scratch = OrderScratch.ForThisThread();
        var index = scratch.Index;
        var products = scratch.Products;
        scratch.Clear();
        var orderCount = 0;
        string? previousId = null;
        var previous = -1;
        foreach (var line in profile.Orders)
        {
            if (line.Date >= asOf)
            {
                continue;
            }

            var at = previousId is not null && string.Equals(line.OrderId, previousId, StringComparison.Ordinal) ? previous
                : index.TryGetValue(line.OrderId, out var found) ? found
                : -1;
            if (at >= 0)
            {
                ref var o = ref scratch.Orders[at];
                o = (line.Date < o.Date ? line.Date : o.Date, o.Amount + line.Amount, o.Channel, o.Returned || line.Returned);
            }
            else
            {
                at = orderCount++;
                index.Add(line.OrderId, at);
                scratch.Reserve(orderCount);
                scratch.Orders[at] = (line.Date, line.Amount, FixedFeatures.ChannelIndex(line.Channel), line.Returned);
            }

            previousId = line.OrderId;
            previous = at;
            if (line.ProductId is not null)
            {
                products.Add(line.ProductId);
            }
        }

        var distinctProducts = products.Count;
        scratch.Clear();

        double lastOrderDays = double.PositiveInfinity, firstOrderDays = 0;
        double orders30 = 0, orders90 = 0, orders365 = 0, ordersAll = 0, ordersPrev90 = 0;
        double spend30 = 0, spend90 = 0, spend365 = 0, spendAll = 0, spendPrev90 = 0;
        double returned = 0, logOrders = 0;
        Span<double> channels = stackalloc double[FixedFeatures.Channels.Count + 1];
        void Count(double days, double amount, double count)
        {
            ordersAll += count;
            spendAll += amount;
            if (days < 30) { orders30 += count; spend30 += amount; }
            if (days < 90) { orders90 += count; spend90 += amount; }
            else if (days < 180) { ordersPrev90 += count; spendPrev90 += amount; }
            if (days < 365) { orders365 += count; spend365 += amount; }
        }

        foreach (var o in scratch.Orders.AsSpan(0, orderCount))
        {
            var days = (asOf - o.Date).TotalDays;
            Count(days, (double)o.Amount, 1);
            lastOrderDays = Math.Min(lastOrderDays, days);
            firstOrderDays = Math.Max(firstOrderDays, days);
            logOrders++;
            if (o.Returned) { returned++; }
            channels[o.Channel < 0 ? FixedFeatures.Channels.Count : o.Channel]++;
        }

        foreach (var month in profile.OrderMonths)
        {
            if (month.Orders <= 0 || !BucketMonth.TryStart(month.Month, out var start) || start.AddMonths(1) > asOf)
            {
                continue;
            }

            Count((asOf - start.AddDays(14)).TotalDays, (double)month.Spend, month.Orders);
            lastOrderDays = Math.Min(lastOrderDays, (asOf - start.AddMonths(1).AddDays(-1)).TotalDays);
            firstOrderDays = Math.Max(firstOrderDays, (asOf - start).TotalDays);
            returned += month.Returns;
        }

        var tenure = firstOrderDays;
        if (profile.SignupDate is { } signup)
        {
            var signupAt = new DateTimeOffset(signup.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            if (signupAt < asOf)
            {
                tenure = Math.Max(tenure, (asOf - signupAt).TotalDays);
            }
        }

        v[FixedFeatures.DaysSinceLastOrder] = (float)Math.Min(lastOrderDays, FixedFeatures.NeverDays);
        v[FixedFeatures.Orders30] = (float)orders30;
        v[FixedFeatures.Orders90] = (float)orders90;
        v[FixedFeatures.Orders365] = (float)orders365;
        v[FixedFeatures.OrdersLifetime] = (float)ordersAll;
        v[FixedFeatures.Spend30] = (float)spend30;
        v[FixedFeatures.Spend90] = (float)spend90;
        v[FixedFeatures.Spend365] = (float)spend365;
        v[FixedFeatures.SpendLifetime] = (float)spendAll;
        v[FixedFeatures.AverageOrderValue] = ordersAll > 0 ? (float)(spendAll / ordersAll) : 0f;
        v[FixedFeatures.TenureDays] = (float)tenure;
        v[FixedFeatures.SpendTrend90] = Trend(spend90, spendPrev90);
        v[FixedFeatures.OrdersTrend90] = Trend(orders90, ordersPrev90);
        v[FixedFeatures.DistinctProducts] = distinctProducts;
        v[FixedFeatures.ReturnRate] = ordersAll > 0 ? (float)Math.Min(1.0, returned / ordersAll) : 0f;
        if (logOrders > 0)
        {
            for (var c = 0; c < channels.Length; c++)
            {
                v[FixedFeatures.ChannelShareStart + c] = (float)(channels[c] / logOrders);
            }
        }
    }

    private static void AddEvents(CustomerProfile profile, DateTimeOffset asOf, Span<float> v)
    {
        var types = FixedFeatures.EventTypes.Count;
        Span<double> last90 = stackalloc double[types + 1];
        double total90 = 0, prev90 = 0, lastDays = double.PositiveInfinity, calls90 = 0;
        var coveredFrom = DateTimeOffset.MaxValue;
        foreach (var e in profile.RecentEvents)
        {
            if (e.Timestamp < coveredFrom)
            {
                coveredFrom = e.Timestamp;
            }

            if (e.Timestamp >= asOf)
            {
                continue;
            }

            var days = (asOf - e.Timestamp).TotalDays;
            lastDays = Math.Min(lastDays, days);
            var t = FixedFeatures.EventTypeIndex(e.Type);
            if (days < 90)
            {
                last90[t < 0 ? types : t]++;
                total90++;
                if (t == 6) { calls90++; }
            }
            else if (days < 180)
            {
                prev90++;
            }
        }

        // Buckets only for whole months before the cutoff and before the month the recent events start in.
        var coverageMonth = coveredFrom == DateTimeOffset.MaxValue
            ? DateTimeOffset.MaxValue
            : new DateTimeOffset(coveredFrom.UtcDateTime.Year, coveredFrom.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var month in profile.EventMonths)
        {
            if (month.Count <= 0 || !BucketMonth.TryStart(month.Month, out var start))
            {
                continue;
            }

            var end = start.AddMonths(1);
            if (end > asOf || end > coverageMonth)
            {
                continue;
            }

            lastDays = Math.Min(lastDays, (asOf - end.AddDays(-1)).TotalDays);
            var days = (asOf - start.AddDays(14)).TotalDays;
            var t = FixedFeatures.EventTypeIndex(month.Type);
            if (days < 90)
            {
                last90[t < 0 ? types : t] += month.Count;
                total90 += month.Count;
                if (t == 6) { calls90 += month.Count; }
            }
            else if (days < 180)
            {
                prev90 += month.Count;
            }
        }

        for (var t = 0; t <= types; t++)
        {
            v[FixedFeatures.EventsStart + t] = (float)last90[t];
        }

        v[FixedFeatures.EventsTotal90] = (float)total90;
        v[FixedFeatures.EventsTrend90] = Trend(total90, prev90);
        v[FixedFeatures.DaysSinceLastEvent] = (float)Math.Min(lastDays, FixedFeatures.NeverDays);
        v[FixedFeatures.SupportContacts90] = (float)calls90; // feedback adds to it below
    }

    private static void AddFeedback(CustomerProfile profile, DateTimeOffset asOf, Span<float> v)
    {
        double count365 = 0, ratingSum = 0, rated = 0, sentimentSum = 0, scored = 0, negative = 0, recent90 = 0;
        foreach (var f in profile.Feedback)
        {
            if (f.Timestamp >= asOf)
            {
                continue;
            }

            var days = (asOf - f.Timestamp).TotalDays;
            if (days < 90)
            {
                recent90++;
            }

            if (days >= 365)
            {
                continue;
            }

            count365++;
            if (f.Rating is { } r)
            {
                ratingSum += r;
                rated++;
            }

            if (f.Sentiment is { } s && double.IsFinite(s))
            {
                sentimentSum += s;
                scored++;
            }

            if (f.Rating is <= 2 || (f.Rating is null && f.Sentiment is < 0.35))
            {
                negative++;
            }
        }

        v[FixedFeatures.SupportContacts90] += (float)recent90;
        v[FixedFeatures.Feedback365] = (float)count365;
        v[FixedFeatures.AverageRating365] = rated > 0 ? (float)(ratingSum / rated) : 3f;
        v[FixedFeatures.AverageSentiment365] = scored > 0 ? (float)(sentimentSum / scored) : 0.5f;
        v[FixedFeatures.NegativeFeedback365] = (float)negative;
    }

    private static void AddSubscriptions(CustomerProfile profile, DateTimeOffset asOf, Span<float> v)
    {
        // An end date on or after the cutoff is not known yet at the cutoff: the subscription counts as active.
        var day = DateOnly.FromDateTime(asOf.UtcDateTime);
        int active = 0, ended = 0, total = 0;
        foreach (var s in profile.Subscriptions)
        {
            if (s.StartDate >= day)
            {
                continue;
            }

            total++;
            if (s.EndDate is { } end && end < day)
            {
                ended++;
            }
            else
            {
                active++;
            }
        }

        v[FixedFeatures.SubscriptionsActive] = active;
        v[FixedFeatures.SubscriptionsEnded] = ended;
        v[FixedFeatures.SubscriptionsTotal] = total;
    }

    private void AddAttributes(CustomerProfile profile, Span<float> v)
    {
        if (!_readsAttributes)
        {
            return;
        }

        // Encoded attributes a profile lacks still get their "unknown" target rate (the prior), as an unseen value does.
        foreach (var (slot, a) in _encoded.Values)
        {
            v[slot + 1] = a.Target?.Prior ?? 0f;
        }

        foreach (var (rawKey, rawValue) in AttributeDiscovery.Inputs(profile))
        {
            if (string.IsNullOrWhiteSpace(rawValue))
            {
                continue;
            }

            var key = AttributeDiscovery.NormaliseName(rawKey);
            if (_numericSlots.TryGetValue(key, out var slot))
            {
                if (AttributeDiscovery.TryParseNumber(rawValue, out var number))
                {
                    v[slot] = (float)number;
                }
            }
            else if (_oneHotSlots.TryGetValue(key, out var values))
            {
                if (values.TryGetValue(AttributeDiscovery.NormaliseValue(rawValue), out var valueSlot))
                {
                    v[valueSlot] = 1f;
                }
            }
            else if (_encoded.TryGetValue(key, out var encoded))
            {
                var value = AttributeDiscovery.NormaliseValue(rawValue);
                v[encoded.Slot] = encoded.Attribute.Frequency.GetValueOrDefault(value);
                if (encoded.Attribute.Target is { } target)
                {
                    v[encoded.Slot + 1] = target.Of(value);
                }
            }
            else if (Schema.HashBuckets > 0 && _categorical.Contains(key))
            {
                var bucket = AttributeDiscovery.HashBucket($"{key}={AttributeDiscovery.NormaliseValue(rawValue)}", Schema.HashBuckets);
                v[_hashStart + bucket] += 1f;
            }
        }

        foreach (var (slot, members) in _totals)
        {
            var total = 0f;
            foreach (var m in members)
            {
                total += v[m];
            }

            v[slot] = total;
        }
    }

    /// <summary>(recent − previous) / (recent + previous): −1 stopped, 0 steady, +1 new; 0 when both are empty.</summary>
    private static float Trend(double recent, double previous) =>
        recent + previous > 0 ? (float)((recent - previous) / (recent + previous)) : 0f;

    /// <summary>Per-thread working memory of <see cref="AddOrders"/>: cleared after each use, so it holds no customer data
    /// between calls, and grows to the largest order log seen (bounded by the log's cap).</summary>
    private sealed class OrderScratch
    {
        [ThreadStatic]
        private static OrderScratch? t_current;

        public readonly Dictionary<string, int> Index = new(StringComparer.Ordinal);
        public readonly HashSet<string> Products = new(StringComparer.Ordinal);
        public (DateTimeOffset Date, decimal Amount, int Channel, bool Returned)[] Orders = new (DateTimeOffset, decimal, int, bool)[64];

        public static OrderScratch ForThisThread() => t_current ??= new OrderScratch();

        /// <summary>Makes room for <paramref name="count"/> orders.</summary>
        public void Reserve(int count)
        {
            if (count > Orders.Length)
            {
                Array.Resize(ref Orders, Math.Max(count, Orders.Length * 2));
            }
        }

        /// <summary>Forgets the last customer's orders and products (keeps the capacity).</summary>
        public void Clear()
        {
            Index.Clear();
            Products.Clear();
        }
    }
}
