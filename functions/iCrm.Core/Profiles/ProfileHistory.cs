using System.Globalization;
using System.IO.Hashing;
using System.Text;
using iCrm.Core.Drops;

namespace iCrm.Core.Profiles;

/// <summary>What applying one batch of rows to a profile did.</summary>
public readonly record struct ApplyOutcome(int Accepted, int Duplicates);

/// <summary>
/// Applies validated drop records to a profile's history: the capped order log with folding into monthly buckets,
/// event buckets, recent feedback, subscriptions, contact fields with conflict resolution, and duplicate detection by
/// each entity's natural key against what the profile already holds.
/// </summary>
public sealed partial class ProfileHistory(ProfileHistoryOptions options)
{
    public ProfileHistoryOptions Options => options;

    public ApplyOutcome Apply(CustomerProfile profile, IReadOnlyList<DropRecord> records, DateTimeOffset observedAt) =>
        Apply(profile, records, 0, observedAt);

    /// <summary>Applies <paramref name="records"/> from index <paramref name="start"/> on.</summary>
    public ApplyOutcome Apply(CustomerProfile profile, IReadOnlyList<DropRecord> records, int start, DateTimeOffset observedAt)
    {
        var accepted = 0;
        var duplicates = 0;
        var dedupe = new Dedupe(profile);
        var ordersBefore = profile.Orders.Count;
        var eventsBefore = profile.RecentEvents.Count;
        var feedbackBefore = profile.Feedback.Count;
        switch (records.Count > start ? records[start] : null)
        {
            // Room for the whole batch at once (a batch is one customer's rows of one entity), instead of doubling as it goes.
            case OrderRecord:
                profile.Orders.EnsureCapacity(ordersBefore + records.Count - start);
                break;
            case EventRecord:
                profile.RecentEvents.EnsureCapacity(Math.Min(eventsBefore + records.Count - start, options.MaxRecentEvents + records.Count - start));
                break;
        }
        for (var i = start; i < records.Count; i++)
        {
            var record = records[i];
            var applied = record switch
            {
                OrderRecord o => ApplyOrder(profile, o, ref dedupe),
                CustomerRecord c => ApplyCustomer(profile, c, observedAt),
                EventRecord e => ApplyEvent(profile, e, ref dedupe),
                FeedbackRecord f => ApplyFeedback(profile, f, ref dedupe),
                SubscriptionRecord s => ApplySubscription(profile, s),
                _ => throw new ArgumentOutOfRangeException(nameof(records), record.GetType().Name, "Unknown record type."),
            };
            if (applied)
            {
                accepted++;
            }
            else
            {
                duplicates++;
            }
        }
        dedupe.Release();
        // Caps are enforced on every apply, not only when this one appended: a merge unions histories without them.
        if (profile.Orders.Count > ordersBefore || profile.Orders.Count > options.MaxOrders)
        {
            FoldOldOrders(profile, ordersBefore);
        }
        TrimSeenKeys(profile);
        SortAppended(profile.RecentEvents, eventsBefore, static (a, b) => a.Timestamp.CompareTo(b.Timestamp));
        if (profile.RecentEvents.Count > options.MaxRecentEvents)
        {
            profile.RecentEvents.RemoveRange(0, profile.RecentEvents.Count - options.MaxRecentEvents);
        }
        SortAppended(profile.Feedback, feedbackBefore, static (a, b) => a.Timestamp.CompareTo(b.Timestamp));
        if (profile.Feedback.Count > options.MaxFeedback)
        {
            profile.Feedback.RemoveRange(0, profile.Feedback.Count - options.MaxFeedback);
        }
        return new ApplyOutcome(accepted, duplicates);
    }

    /// <summary>
    /// Sorts a list whose items before <paramref name="appendedFrom"/> are already in order: most drops arrive in time
    /// order, so checking the appended items usually saves the sort.
    /// </summary>
    private static void SortAppended<T>(List<T> items, int appendedFrom, Comparison<T> compare)
    {
        for (var i = Math.Max(appendedFrom, 1); i < items.Count; i++)
        {
            if (compare(items[i - 1], items[i]) > 0)
            {
                items.Sort(compare);
                return;
            }
        }
    }

    /// <summary>
    /// Duplicate detection for one apply: small histories are scanned (cheaper than building sets for a profile that
    /// gets a row or two per chunk); from <see cref="SetThreshold"/> items on, sets are built once and kept up to date.
    /// </summary>
    private struct Dedupe(CustomerProfile profile)
    {
        private const int SetThreshold = 24;

        /// <summary>Order lines are scanned below this many (a scan compares line numbers first, which is cheap).</summary>
        private const int OrderScanThreshold = 8;

        private OrderLineKeys? _orderLines;
        private HashSet<string>? _seen;

        /// <summary>Whether an order line is new to the order log (the caller adds it).</summary>
        public bool AddOrderLine(string orderId, int line)
        {
            if (_orderLines is null && profile.Orders.Count < OrderScanThreshold)
            {
                foreach (var existing in profile.Orders)
                {
                    if (existing.Line == line && existing.OrderId == orderId)
                    {
                        return false;
                    }
                }
                return true;
            }
            if (_orderLines is null)
            {
                _orderLines = OrderLineKeys.Rent();
                foreach (var existing in profile.Orders)
                {
                    _orderLines.Add(existing.OrderId, existing.Line);
                }
            }
            return _orderLines.Add(orderId, line);
        }

        /// <summary>Hands the order-line table back for the next apply on this thread.</summary>
        public readonly void Release() => _orderLines?.Return();

        /// <summary>Whether a natural key is new; remembers it in the profile's seen keys if so.</summary>
        public bool AddSeen(string key)
        {
            if (IsSeen(key))
            {
                return false;
            }
            _seen?.Add(key);
            profile.SeenKeys.Add(key);
            return true;
        }

        public bool IsSeen(string key)
        {
            if (_seen is null && profile.SeenKeys.Count < SetThreshold)
            {
                return profile.SeenKeys.Contains(key);
            }
            _seen ??= [.. profile.SeenKeys];
            return _seen.Contains(key);
        }
    }

    /// <summary>
    /// The (order id, line) keys of one profile during one apply: an open-addressing table kept per thread and reused, so
    /// deduplicating a customer's lines allocates nothing. Slots are cleared by bumping a generation, not by wiping. The
    /// hash is FNV-1a over the id, not randomised: a profile holds a bounded number of lines (<see
    /// cref="ProfileHistoryOptions.MaxOrders"/> orders), so even ids crafted to collide cost a bounded scan.
    /// </summary>
    internal sealed class OrderLineKeys
    {
        [ThreadStatic]
        private static OrderLineKeys? t_spare;

        private string?[] _ids = new string?[64];
        private int[] _lines = new int[64];
        private int[] _generations = new int[64];
        private int _generation = 1;
        private int _count;

        /// <summary>An empty table: this thread's spare one if it is free (an apply inside an apply gets a new one).</summary>
        public static OrderLineKeys Rent()
        {
            var keys = t_spare ?? new OrderLineKeys();
            t_spare = null;
            keys.Clear();
            return keys;
        }

        public void Return() => t_spare = this;

        /// <summary>Adds a key; false if it was there already.</summary>
        public bool Add(string orderId, int line)
        {
            if ((_count + 1) * 2 > _ids.Length)
            {
                Grow();
            }
            var mask = _ids.Length - 1;
            for (var slot = (int)(Hash(orderId, line) & (uint)mask); ; slot = (slot + 1) & mask)
            {
                if (_generations[slot] != _generation)
                {
                    _generations[slot] = _generation;
                    _ids[slot] = orderId;
                    _lines[slot] = line;
                    _count++;
                    return true;
                }
                if (_lines[slot] == line && string.Equals(_ids[slot], orderId, StringComparison.Ordinal))
                {
                    return false;
                }
            }
        }

        private void Clear()
        {
            _count = 0;
            if (++_generation == int.MaxValue)
            {
                Array.Clear(_generations);
                _generation = 1;
            }
            if (_ids.Length > 4096)
            {
                Array.Clear(_ids); // a large table is not kept holding ids of a past profile
            }
        }

        private void Grow()
        {
            var (ids, lines, generations, generation) = (_ids, _lines, _generations, _generation);
            _ids = new string?[ids.Length * 2];
            _lines = new int[ids.Length * 2];
            _generations = new int[ids.Length * 2];
            _generation = 1;
            _count = 0;
            for (var i = 0; i < ids.Length; i++)
            {
                if (generations[i] == generation)
                {
                    Add(ids[i]!, lines[i]);
                }
            }
        }

        private static uint Hash(string orderId, int line)
        {
            var hash = Fnv1a.Add(Fnv1a.Add(Fnv1a.Seed, (uint)line), orderId);
            return hash ^ (hash >> 15);
        }
    }

    private bool ApplyCustomer(CustomerProfile profile, CustomerRecord c, DateTimeOffset at)
    {
        AddIdentity(profile, c.Source, c.SourceCustomerId);
        var contact = profile.Contact;
        // One stamp for every field this row sets (stamps are immutable), and room for all of them at once.
        var stamp = new FieldStamp(c.Source, at);
        profile.FieldStamps.EnsureCapacity(16);
        Set(profile, "email", c.Email, stamp, static (x, v) => x.Email = v, contact.Email);
        Set(profile, "phone", c.Phone, stamp, static (x, v) => x.Phone = v, contact.Phone);
        Set(profile, "firstName", c.FirstName, stamp, static (x, v) => x.FirstName = v, contact.FirstName);
        Set(profile, "lastName", c.LastName, stamp, static (x, v) => x.LastName = v, contact.LastName);
        Set(profile, "gender", c.Gender, stamp, static (x, v) => x.Gender = v, contact.Gender);
        Set(profile, "street", c.Street, stamp, static (x, v) => x.Street = v, contact.Street);
        Set(profile, "city", c.City, stamp, static (x, v) => x.City = v, contact.City);
        Set(profile, "postcode", c.Postcode, stamp, static (x, v) => x.Postcode = v, contact.Postcode);
        Set(profile, "state", c.State, stamp, static (x, v) => x.State = v, contact.State);
        Set(profile, "country", c.Country, stamp, static (x, v) => x.Country = v, contact.Country);
        Set(profile, "loyaltyId", c.LoyaltyId, stamp, static (x, v) => x.LoyaltyId = v, contact.LoyaltyId);
        Set(profile, "birthDate", c.BirthDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), stamp,
            static (x, v) => x.BirthDate = DateOnly.ParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            contact.BirthDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        if (c.SignupDate is { } signup && (profile.SignupDate is null || signup < profile.SignupDate))
        {
            profile.SignupDate = signup;
        }
        // Rows carry no date of their own for consent: a statement is dated when its drop is applied (docs/settings.md, "Consent").
        Consent(profile, ConsentChannels.Email, c.ConsentEmail, c.Source, at);
        Consent(profile, ConsentChannels.Sms, c.ConsentSms, c.Source, at);
        Consent(profile, ConsentChannels.Phone, c.ConsentPhone, c.Source, at);
        Consent(profile, ConsentChannels.Profiling, c.ConsentProfiling, c.Source, at);
        if (c.Churned is { } churned)
        {
            profile.ChurnLabel = new ChurnLabel(churned, churned ? c.ChurnedAt : null, c.Source);
        }
        foreach (var (name, value) in c.Attributes)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                profile.Attributes[name] = value;
            }
        }
        return true;
    }

    private void Set(CustomerProfile profile, string field, string? value, FieldStamp stamp, Action<ContactDetails, string> assign,
        string? current)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            ContactValueList.Record(profile, field, value, stamp.Source, stamp.At, options.MaxContactValuesPerField);
        }
        if (string.IsNullOrWhiteSpace(value) || value == current)
        {
            if (!string.IsNullOrWhiteSpace(value) && Wins(profile, field, stamp.Source, stamp.At))
            {
                profile.FieldStamps[field] = stamp;
            }
            return;
        }
        if (current is null || Wins(profile, field, stamp.Source, stamp.At))
        {
            assign(profile.Contact, value);
            profile.FieldStamps[field] = stamp;
        }
    }

    private static void Consent(CustomerProfile profile, string channel, bool? value, string source, DateTimeOffset at)
    {
        // A drop restating the current value adds no statement: re-sent exports would otherwise fill the history with copies.
        if (value is { } v && (ConsentLedger.Latest(profile, channel) is not { } latest || latest.Value != v || latest.At > at))
        {
            ConsentLedger.Record(profile, new ConsentStatement(channel, v, source, at));
        }
    }

    /// <summary>Whether a value from <paramref name="source"/> observed at <paramref name="at"/> beats the field's current one.</summary>
    private bool Wins(CustomerProfile profile, string field, string source, DateTimeOffset at)
    {
        if (!profile.FieldStamps.TryGetValue(field, out var stamp))
        {
            return true;
        }
        var rank = Rank(source);
        var currentRank = Rank(stamp.Source);
        return rank != currentRank ? rank < currentRank : at >= stamp.At;
    }

    private int Rank(string source)
    {
        var index = options.SourcePriority.FindIndex(s => string.Equals(s, source, StringComparison.OrdinalIgnoreCase));
        return index < 0 ? int.MaxValue : index;
    }

    public static void AddIdentity(CustomerProfile profile, string source, string sourceId)
    {
        foreach (var identity in profile.Identities)
        {
            if (identity.Source == source && identity.SourceId == sourceId)
            {
                return;
            }
        }
        profile.Identities.Add(new SourceIdentity(source, sourceId));
    }

    private static bool ApplyOrder(CustomerProfile profile, OrderRecord o, ref Dedupe dedupe)
    {
        AddIdentity(profile, o.Source, o.SourceCustomerId);
        // Folded orders leave only their hashed keys behind (and always a monthly bucket, so without buckets there are none).
        if (!dedupe.AddOrderLine(o.OrderId, o.OrderLine)
            || (profile.OrderMonths.Count > 0 && dedupe.IsSeen(OrderKey(o.OrderId, o.OrderLine))))
        {
            return false;
        }
        profile.Orders.Add(o.Item); // immutable: the profile and the record share it
        return true;
    }

    private static bool ApplyEvent(CustomerProfile profile, EventRecord e, ref Dedupe dedupe)
    {
        AddIdentity(profile, e.Source, e.SourceCustomerId);
        var key = e.EventId is { Length: > 0 } id
            ? Hash("ev", e.Source, id)
            : Hash("ev", e.Source, e.SourceCustomerId, e.Timestamp.UtcTicks.ToString(CultureInfo.InvariantCulture), e.Type, e.ProductId ?? "");
        if (!dedupe.AddSeen(key))
        {
            return false;
        }
        var month = e.Timestamp.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var bucket = profile.EventMonths.Find(b => b.Month == month && b.Type == e.Type);
        if (bucket is null)
        {
            profile.EventMonths.Add(new MonthlyEvents { Month = month, Type = e.Type, Count = 1 });
        }
        else
        {
            bucket.Count++;
        }
        profile.RecentEvents.Add(new CustomerEvent(e.Timestamp, e.Type, e.ProductId, e.Value, e.Channel));
        return true;
    }

    private static bool ApplyFeedback(CustomerProfile profile, FeedbackRecord f, ref Dedupe dedupe)
    {
        AddIdentity(profile, f.Source, f.SourceCustomerId);
        var key = f.FeedbackId is { Length: > 0 } id
            ? Hash("fb", f.Source, id)
            : Hash("fb", f.Source, f.SourceCustomerId, f.Timestamp.UtcTicks.ToString(CultureInfo.InvariantCulture), f.Text);
        if (!dedupe.AddSeen(key))
        {
            return false;
        }
        profile.Feedback.Add(new FeedbackItem { Timestamp = f.Timestamp, Rating = f.Rating, Channel = f.Channel, Text = f.Text });
        return true;
    }

    private static bool ApplySubscription(CustomerProfile profile, SubscriptionRecord s)
    {
        AddIdentity(profile, s.Source, s.SourceCustomerId);
        var index = profile.Subscriptions.FindIndex(x => x.Source == s.Source && x.Plan == s.Plan && x.StartDate == s.StartDate);
        var subscription = new Subscription(s.Plan, s.StartDate, s.EndDate, s.Amount, s.Period, s.Source);
        if (index < 0)
        {
            profile.Subscriptions.Add(subscription);
            return true;
        }
        if (profile.Subscriptions[index] == subscription)
        {
            return false;
        }
        profile.Subscriptions[index] = subscription;
        return true;
    }

    /// <summary>Keeps the newest <see cref="ProfileHistoryOptions.MaxOrders"/> orders with their lines; older ones go to monthly buckets.</summary>
    private void FoldOldOrders(CustomerProfile profile, int appendedFrom) => FoldOldOrders(profile, appendedFrom, options.MaxOrders);

    /// <summary>Keeps the newest <paramref name="maxOrders"/> orders with their lines; older ones go to monthly buckets.</summary>
    private static void FoldOldOrders(CustomerProfile profile, int appendedFrom, int maxOrders)
    {
        SortAppended(profile.Orders, appendedFrom, CompareOrderLines);
        if (profile.Orders.Count <= maxOrders)
        {
            return; // fewer lines than the cap: certainly no more orders than the cap
        }
        FoldOrdersOverCap(profile, maxOrders);
    }

    // Apart from FoldOldOrders because its lambdas capture locals: their closure is allocated on entry to the method that
    // declares them, and FoldOldOrders runs for every profile an order drop touches, this only for one over the cap.
    private static void FoldOrdersOverCap(CustomerProfile profile, int maxOrders)
    {
        var orderIds = new List<string>();
        var distinct = new HashSet<string>();
        for (var i = profile.Orders.Count - 1; i >= 0; i--)
        {
            if (distinct.Add(profile.Orders[i].OrderId))
            {
                orderIds.Add(profile.Orders[i].OrderId);
            }
        }
        if (orderIds.Count <= maxOrders)
        {
            return;
        }
        var keep = new HashSet<string>(orderIds.Take(maxOrders));
        var folded = new HashSet<string>();
        foreach (var line in profile.Orders)
        {
            if (keep.Contains(line.OrderId))
            {
                continue;
            }
            var month = line.Date.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
            var bucket = profile.OrderMonths.Find(b => b.Month == month);
            if (bucket is null)
            {
                bucket = new MonthlyOrders { Month = month };
                profile.OrderMonths.Add(bucket);
            }
            if (folded.Add(line.OrderId))
            {
                bucket.Orders++;
            }
            bucket.Spend += line.Returned ? -Math.Abs(line.Amount) : line.Amount;
            if (line.Returned)
            {
                bucket.Returns++;
            }
            profile.SeenKeys.Add(OrderKey(line.OrderId, line.Line));
        }
        profile.Orders.RemoveAll(l => !keep.Contains(l.OrderId));
        profile.OrderMonths.Sort((a, b) => string.CompareOrdinal(a.Month, b.Month));
    }

    /// <summary>The order log's order: by date, then order id and line (so ties are ordered the same on every run).</summary>
    public static int CompareOrderLines(OrderLine a, OrderLine b)
    {
        var byDate = a.Date.CompareTo(b.Date);
        if (byDate != 0)
        {
            return byDate;
        }
        var byOrder = string.CompareOrdinal(a.OrderId, b.OrderId);
        return byOrder != 0 ? byOrder : a.Line.CompareTo(b.Line);
    }

    private void TrimSeenKeys(CustomerProfile profile)
    {
        if (profile.SeenKeys.Count > options.MaxSeenKeys)
        {
            profile.SeenKeys.RemoveRange(0, profile.SeenKeys.Count - options.MaxSeenKeys);
        }
    }

    private static string OrderKey(string orderId, int line) => Hash("or", orderId, line.ToString(CultureInfo.InvariantCulture));

    /// <summary>A short, stable hash of a natural key (16 hex chars); not a secret, only for duplicate detection.</summary>
    public static string Hash(params ReadOnlySpan<string> parts)
    {
        var length = 0;
        foreach (var part in parts)
        {
            length += Encoding.UTF8.GetMaxByteCount(part.Length) + 1;
        }
        byte[]? rented = null;
        var buffer = length <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        var n = 0;
        foreach (var part in parts)
        {
            n += Encoding.UTF8.GetBytes(part, buffer[n..]);
            buffer[n++] = 0x1f;
        }
        // One-shot over the concatenation equals the incremental hash of the parts: stored keys stay valid.
        var hash = XxHash64.HashToUInt64(buffer[..n]);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
        return hash.ToString("x16", CultureInfo.InvariantCulture);
    }
}
