namespace iCrm.Core.Profiles;

/// <summary>
/// Folds one profile into another when they prove to be one person. The survivor keeps its own values and fills
/// gaps from the other; histories are unioned by natural key so a retried merge adds nothing twice.
/// </summary>
public static class ProfileMerge
{

    /// <param name="maxContactValuesPerField">See <see cref="ProfileHistoryOptions.MaxContactValuesPerField"/>.</param>
    public static void Union(CustomerProfile survivor, CustomerProfile other, MergeExplanation explanation, int maxContactValuesPerField = 5)
    {
        if (survivor.MergedFrom.Contains(other.Id))
        {
            // Done before (a retried merge): only make sure the other side says so.
            other.MergedInto = survivor.Id;
            return;
        }
        foreach (var identity in other.Identities)
        {
            ProfileHistory.AddIdentity(survivor, identity.Source, identity.SourceId);
        }
        // The survivor's current values stay; every value the other profile had (current or alternative) is kept as an
        // alternative with its source and time, so a merge destroys nothing.
        ContactValueList.Union(survivor, other, maxContactValuesPerField);
        FillContact(survivor.Contact, other.Contact);
        foreach (var (field, stamp) in other.FieldStamps)
        {
            survivor.FieldStamps.TryAdd(field, stamp);
        }
        foreach (var (name, value) in other.Attributes)
        {
            survivor.Attributes.TryAdd(name, value);
        }
        ConsentLedger.Union(survivor, other);
        if (other.SignupDate is { } signup && (survivor.SignupDate is null || signup < survivor.SignupDate))
        {
            survivor.SignupDate = signup;
        }
        survivor.ChurnLabel ??= other.ChurnLabel;

        var orderKeys = new HashSet<(string, int)>(survivor.Orders.Select(o => (o.OrderId, o.Line)));
        survivor.Orders.AddRange(other.Orders.Where(o => orderKeys.Add((o.OrderId, o.Line))));
        survivor.Orders.Sort(ProfileHistory.CompareOrderLines);
        foreach (var month in other.OrderMonths)
        {
            var bucket = survivor.OrderMonths.Find(b => b.Month == month.Month);
            if (bucket is null)
            {
                survivor.OrderMonths.Add(new MonthlyOrders { Month = month.Month, Orders = month.Orders, Spend = month.Spend, Returns = month.Returns });
            }
            else
            {
                bucket.Orders += month.Orders;
                bucket.Spend += month.Spend;
                bucket.Returns += month.Returns;
            }
        }
        survivor.OrderMonths.Sort((x, y) => string.CompareOrdinal(x.Month, y.Month));
        foreach (var month in other.EventMonths)
        {
            var bucket = survivor.EventMonths.Find(b => b.Month == month.Month && b.Type == month.Type);
            if (bucket is null)
            {
                survivor.EventMonths.Add(new MonthlyEvents { Month = month.Month, Type = month.Type, Count = month.Count });
            }
            else
            {
                bucket.Count += month.Count;
            }
        }
        survivor.RecentEvents.AddRange(other.RecentEvents);
        survivor.RecentEvents.Sort((x, y) => x.Timestamp.CompareTo(y.Timestamp));
        survivor.Feedback.AddRange(other.Feedback);
        survivor.Feedback.Sort((x, y) => x.Timestamp.CompareTo(y.Timestamp));
        foreach (var subscription in other.Subscriptions)
        {
            if (!survivor.Subscriptions.Contains(subscription))
            {
                survivor.Subscriptions.Add(subscription);
            }
        }
        var seen = new HashSet<string>(survivor.SeenKeys);
        survivor.SeenKeys.AddRange(other.SeenKeys.Where(seen.Add));
        var keys = new HashSet<string>(survivor.MatchKeys);
        survivor.MatchKeys.AddRange(other.MatchKeys.Where(keys.Add));
        foreach (var variant in other.MatchVariants)
        {
            iCrm.Core.Identity.ProfileVariants.Add(survivor.MatchVariants, variant);
        }
        foreach (var chunk in other.AppliedChunks)
        {
            var copy = chunk with { From = chunk.From ?? other.Id };
            if (!survivor.AppliedChunks.Exists(c => c.Marker == copy.Marker && c.From == copy.From))
            {
                survivor.AppliedChunks.Add(copy);
            }
        }
        survivor.MergedFrom.Add(other.Id);
        foreach (var id in other.MergedFrom)
        {
            if (!survivor.MergedFrom.Contains(id))
            {
                survivor.MergedFrom.Add(id);
            }
        }
        survivor.MergeExplanations.Add(explanation);
        if (other.CreatedAt < survivor.CreatedAt)
        {
            survivor.CreatedAt = other.CreatedAt;
        }
        other.MergedInto = survivor.Id;
    }

    private static void FillContact(ContactDetails target, ContactDetails source)
    {
        target.Email ??= source.Email;
        target.Phone ??= source.Phone;
        target.FirstName ??= source.FirstName;
        target.LastName ??= source.LastName;
        target.BirthDate ??= source.BirthDate;
        target.Gender ??= source.Gender;
        target.Street ??= source.Street;
        target.City ??= source.City;
        target.Postcode ??= source.Postcode;
        target.State ??= source.State;
        target.Country ??= source.Country;
        target.LoyaltyId ??= source.LoyaltyId;
    }
}
