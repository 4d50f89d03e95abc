using System.Globalization;
using System.Runtime.CompilerServices;
using iCrm.Core.Profiles;

namespace iCrm.Core.Storage;

/// <summary>
/// One of <see cref="Count"/> contiguous ranges of customer ids, in ordinal order. Customer ids are <c>c_</c> + hex of a
/// keyed hash, so cutting the first two hex digits (256 buckets) into equal runs gives slices of nearly equal size
/// without asking the store; ids of any other shape still fall into the first or the last slice, so the slices always
/// cover every profile exactly once.
/// </summary>
/// <param name="Index">0-based.</param>
/// <param name="Count">Slices in the split (1 to 256).</param>
public sealed record CustomerSlice(int Index, int Count)
{
    public const int MaxCount = 256;

    /// <summary>Inclusive lower bound (null: from the start).</summary>
    public string? From => Index == 0 ? null : Boundary(Index, Count);

    /// <summary>Exclusive upper bound (null: to the end).</summary>
    public string? To => Index == Count - 1 ? null : Boundary(Index + 1, Count);

    public bool Contains(string id) =>
        (From is not { } from || string.CompareOrdinal(id, from) >= 0) && (To is not { } to || string.CompareOrdinal(id, to) < 0);

    /// <summary>The whole id space cut into <paramref name="count"/> slices.</summary>
    public static IReadOnlyList<CustomerSlice> Split(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxCount);
        return [.. Enumerable.Range(0, count).Select(i => new CustomerSlice(i, count))];
    }

    private static string Boundary(int index, int count) =>
        "c_" + (index * MaxCount / count).ToString("x2", CultureInfo.InvariantCulture);

    public override string ToString() => $"slice {Index + 1}/{Count} [{From ?? "start"}, {To ?? "end"})";
}

/// <summary>Reading one slice of the store and writing predictions without rewriting the profile.</summary>
public static class CustomerSliceReads
{
    /// <summary>The live profiles of <paramref name="slice"/> with their versions, by filtering a full read (what a store
    /// without a cheaper range read falls back to).</summary>
    public static async IAsyncEnumerable<Versioned<CustomerProfile>> FilterAsync(ICustomerStore store, CustomerSlice slice,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var profile in store.ReadAllAsync(cancellationToken))
        {
            if (slice.Contains(profile.Id) && await store.GetAsync(profile.Id, cancellationToken) is { } stored && stored.Value.MergedInto is null)
            {
                yield return stored;
            }
        }
    }

    /// <summary>Sets predictions (and feedback, when the sentiment model scored it) by a full replace at
    /// <paramref name="etag"/>: what a store without partial updates falls back to.</summary>
    public static async Task<string?> ReplaceAsync(ICustomerStore store, string id, string etag, IReadOnlyDictionary<string, Prediction> predictions,
        IReadOnlyList<FeedbackItem>? feedback, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { } stored || stored.ETag != etag)
        {
            return null;
        }
        var profile = stored.Value;
        profile.Predictions = new Dictionary<string, Prediction>(predictions);
        if (feedback is not null)
        {
            profile.Feedback = [.. feedback];
        }
        return await store.TryReplaceAsync(profile, etag, cancellationToken);
    }
}
