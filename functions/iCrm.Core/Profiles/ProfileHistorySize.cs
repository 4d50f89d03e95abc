using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace iCrm.Core.Profiles;

/// <summary>Whether a profile fits its size budget, and what keeping it there did.</summary>
public enum BudgetOutcome
{
    /// <summary>Within the budget as it was.</summary>
    Fits,

    /// <summary>Within the budget after its oldest history was folded (orders into monthly buckets, old events, feedback
    /// and duplicate keys dropped).</summary>
    Folded,

    /// <summary>Over the budget even with all foldable history folded: the rows that grew it must not be written.</summary>
    TooLarge,
}

public sealed partial class ProfileHistory
{
    /// <summary>
    /// Keeps a profile under <see cref="ProfileHistoryOptions.MaxProfileBytes"/> of serialized JSON before it is written:
    /// bounds the merge explanations and identity lists, then, if a cheap upper bound of its size is over the budget,
    /// measures it exactly and folds its oldest history until it fits. Most profiles are far below the budget and are
    /// never serialized here; only one near it pays for a measurement.
    /// </summary>
    public BudgetOutcome FitBudget(CustomerProfile profile)
    {
        Bound(profile);
        var budget = options.MaxProfileBytes;
        // The length-only bound costs a walk of list counts and string lengths; the escape-aware one scans every
        // character, so it is only paid for the rare profile the cheap one cannot clear.
        if (ProfileSize.QuickUpperBound(profile) <= budget || ProfileSize.UpperBound(profile) <= budget)
        {
            return BudgetOutcome.Fits;
        }

        var folded = false;
        while (ProfileSize.Measure(profile) > budget)
        {
            if (!FoldOldest(profile))
            {
                return BudgetOutcome.TooLarge;
            }
            folded = true;
        }
        return folded ? BudgetOutcome.Folded : BudgetOutcome.Fits;
    }

    /// <summary>Caps the lists that grow with merges (explanations, identities, merged-from ids) at <see cref="ProfileLimits"/>.</summary>
    public static void Bound(CustomerProfile profile)
    {
        var explanations = profile.MergeExplanations;
        if (explanations.Count > ProfileLimits.MaxMergeExplanations)
        {
            explanations.RemoveRange(0, explanations.Count - ProfileLimits.MaxMergeExplanations); // the most recent are kept
        }
        for (var i = 0; i < explanations.Count; i++)
        {
            if (explanations[i].Evidence.Count > ProfileLimits.MaxEvidencePerExplanation)
            {
                explanations[i] = explanations[i] with { Evidence = [.. explanations[i].Evidence.Take(ProfileLimits.MaxEvidencePerExplanation)] };
            }
        }
        if (profile.Identities.Count > ProfileLimits.MaxIdentities)
        {
            profile.Identities.RemoveRange(ProfileLimits.MaxIdentities, profile.Identities.Count - ProfileLimits.MaxIdentities);
        }
        if (profile.MergedFrom.Count > ProfileLimits.MaxMergedFrom)
        {
            profile.MergedFrom.RemoveRange(ProfileLimits.MaxMergedFrom, profile.MergedFrom.Count - ProfileLimits.MaxMergedFrom);
        }
    }

    /// <summary>One step of folding, oldest history first; false when nothing is left to fold.</summary>
    private bool FoldOldest(CustomerProfile profile)
    {
        var orders = DistinctOrders(profile);
        if (orders > 1)
        {
            FoldOldOrders(profile, profile.Orders.Count, orders / 2); // lines of the older half → monthly buckets
            return true;
        }
        if (profile.RecentEvents.Count > 1)
        {
            profile.RecentEvents.RemoveRange(0, profile.RecentEvents.Count / 2); // counted in the monthly buckets already
            return true;
        }
        if (profile.Feedback.Count > 1)
        {
            profile.Feedback.RemoveRange(0, profile.Feedback.Count / 2);
            return true;
        }
        if (profile.SeenKeys.Count > 1_000)
        {
            profile.SeenKeys.RemoveRange(0, profile.SeenKeys.Count / 2);
            return true;
        }
        if (profile.AppliedChunks.Count > 20)
        {
            profile.AppliedChunks.RemoveRange(0, profile.AppliedChunks.Count - 20);
            return true;
        }
        return false;
    }

    private static int DistinctOrders(CustomerProfile profile)
    {
        var count = 0;
        string? previous = null;
        HashSet<string>? seen = null;
        foreach (var line in profile.Orders)
        {
            if (line.OrderId == previous)
            {
                continue;
            }
            previous = line.OrderId;
            if ((seen ??= new HashSet<string>(StringComparer.Ordinal)).Add(line.OrderId))
            {
                count++;
            }
        }
        return count;
    }
}

/// <summary>
/// A profile's serialized size: <see cref="UpperBound"/> walks it without serializing (every string at up to 6 bytes per
/// character that the JSON writer escapes, every item with a generous allowance for names, numbers and dates),
/// <see cref="QuickUpperBound"/> walks it the same way but counts every character at 6 bytes (only lengths are read, so it
/// is several times cheaper and looser), and <see cref="Measure"/> serializes it as the Cosmos store does (System.Text.Json,
/// web defaults, nulls omitted) into a counter. Both bounds are never below the measurement for the fields they walk;
/// fields not walked (consent, dates, labels) are covered by <see cref="FixedAllowance"/>.
/// </summary>
public static class ProfileSize
{
    /// <summary>Everything not walked item by item: ids, dates, consent, churn label, merged-into, braces.</summary>
    public const int FixedAllowance = 16 * 1024;

    private static readonly JsonSerializerOptions Json = CreateOptions();

    /// <summary>Characters the default JSON encoder writes as they are; every other one takes at most 6 bytes (<c>\uXXXX</c>).</summary>
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        " !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~");

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }

    /// <summary>The exact size of the profile's JSON document, in bytes.</summary>
    public static long Measure(CustomerProfile profile)
    {
        using var counter = new CountingStream();
        JsonSerializer.Serialize(counter, profile, Json);
        return counter.Count;
    }

    /// <summary>A bound the profile's JSON is not larger than, computed without serializing it.</summary>
    public static long UpperBound(CustomerProfile profile) => Walk<EscapeAware>(profile);

    /// <summary>A looser bound than <see cref="UpperBound"/> (every character taken as escaped), from string lengths alone.</summary>
    public static long QuickUpperBound(CustomerProfile profile) => Walk<EveryCharacterEscaped>(profile);

    /// <summary>How many bytes a string takes in JSON at most, by one of the two bounds.</summary>
    private interface IStringBound
    {
        static abstract long Of(string text);
    }

    private readonly struct EscapeAware : IStringBound
    {
        public static long Of(string text) => Escaped(text);
    }

    private readonly struct EveryCharacterEscaped : IStringBound
    {
        public static long Of(string text) => 6L * text.Length + 2;
    }

    // Generic over a struct so the JIT compiles one walk per bound with the string cost inlined. Lists are walked as spans
    // (no enumerator version checks): it runs before every profile write.
    private static long Walk<TBound>(CustomerProfile profile)
        where TBound : struct, IStringBound
    {
        static long Text(string? text) => text is null ? 0 : TBound.Of(text);

        long size = FixedAllowance;
        foreach (var identity in CollectionsMarshal.AsSpan(profile.Identities))
        {
            size += 40 + Text(identity.Source) + Text(identity.SourceId);
        }
        var c = profile.Contact;
        size += Text(c.Email) + Text(c.Phone) + Text(c.FirstName) + Text(c.LastName) + Text(c.Gender) + Text(c.Street) + Text(c.City)
            + Text(c.Postcode) + Text(c.State) + Text(c.Country) + Text(c.LoyaltyId);
        foreach (var (field, stamp) in profile.FieldStamps)
        {
            size += 80 + Text(field) + Text(stamp.Source);
        }
        foreach (var v in CollectionsMarshal.AsSpan(profile.ContactValues))
        {
            size += 80 + Text(v.Field) + Text(v.Value) + Text(v.Source); // names, a date with offset, braces
        }
        foreach (var s in CollectionsMarshal.AsSpan(profile.ConsentHistory))
        {
            size += 90 + Text(s.Channel) + Text(s.Source);
        }
        foreach (var (name, value) in profile.Attributes)
        {
            size += 4 + Text(name) + Text(value);
        }
        foreach (var o in CollectionsMarshal.AsSpan(profile.Orders))
        {
            size += 230 + Text(o.OrderId) + Text(o.ProductId) + Text(o.Channel);
        }
        size += 120L * profile.OrderMonths.Count;
        foreach (var m in CollectionsMarshal.AsSpan(profile.EventMonths))
        {
            size += 70 + Text(m.Type);
        }
        foreach (var e in CollectionsMarshal.AsSpan(profile.RecentEvents))
        {
            size += 170 + Text(e.Type) + Text(e.ProductId) + Text(e.Channel);
        }
        foreach (var f in CollectionsMarshal.AsSpan(profile.Feedback))
        {
            size += 170 + Text(f.Channel) + Text(f.Text);
        }
        foreach (var s in CollectionsMarshal.AsSpan(profile.Subscriptions))
        {
            size += 220 + Text(s.Plan) + Text(s.Period) + Text(s.Source);
        }
        size += 24L * profile.SeenKeys.Count; // 16 hex characters
        foreach (var chunk in CollectionsMarshal.AsSpan(profile.AppliedChunks))
        {
            size += 160 + Text(chunk.Marker) + Text(chunk.From); // names and five numbers
            if (chunk.Absorbed is { Count: > 0 } absorbed)
            {
                for (var i = 0; i < absorbed.Count; i++) // indexed: an interface's enumerator would be allocated per profile
                {
                    size += 1 + Text(absorbed[i]);
                }
            }
        }
        foreach (var key in CollectionsMarshal.AsSpan(profile.MatchKeys))
        {
            size += 1 + Text(key);
        }
        foreach (var v in CollectionsMarshal.AsSpan(profile.MatchVariants))
        {
            size += 200 + Text(v.GivenName) + Text(v.Surname) + Text(v.StreetNumber) + Text(v.Street) + Text(v.Suburb) + Text(v.Postcode) + Text(v.State);
        }
        foreach (var (kind, p) in profile.Predictions)
        {
            size += 200 + Text(kind) + Text(p.ModelVersion) + Text(p.Label);
            for (var i = 0; i < p.TopFactors.Count; i++)
            {
                size += 80 + Text(p.TopFactors[i].Feature) + Text(p.TopFactors[i].Label);
            }
        }
        foreach (var id in CollectionsMarshal.AsSpan(profile.MergedFrom))
        {
            size += 1 + Text(id);
        }
        foreach (var e in CollectionsMarshal.AsSpan(profile.MergeExplanations))
        {
            size += 150 + Text(e.OtherId) + Text(e.Rule);
            for (var i = 0; i < e.Evidence.Count; i++)
            {
                size += 1 + Text(e.Evidence[i]);
            }
        }
        return size;
    }

    /// <summary>Bytes a string takes in JSON at most: quotes, plus 6 per character the encoder escapes, 1 per other.</summary>
    private static long Escaped(string text)
    {
        long size = text.Length + 2;
        var rest = text.AsSpan();
        for (var i = rest.IndexOfAnyExcept(Plain); i >= 0; i = rest.IndexOfAnyExcept(Plain))
        {
            size += 5;
            rest = rest[(i + 1)..];
        }
        return size;
    }

    /// <summary>Counts what is written and keeps none of it.</summary>
    private sealed class CountingStream : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Count += count;

        public override void Write(ReadOnlySpan<byte> buffer) => Count += buffer.Length;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
