using System.Buffers.Text;
using System.Text.Json;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Functions.Api;

/// <summary>What <c>GET /api/customers</c> filters on: the predictions the last training run wrote back to the profiles.</summary>
public sealed record CustomerFilter(string? Segment, double? MinChurn, double? MinClv)
{
    public bool IsEmpty => Segment is null && MinChurn is null && MinClv is null;

    public bool Matches(CustomerProfile profile) =>
        (Segment is null || (profile.Predictions.TryGetValue("segments", out var s) && string.Equals(s.Label, Segment, StringComparison.OrdinalIgnoreCase)))
        && (MinChurn is null || (profile.Predictions.TryGetValue("churn", out var c) && c.Value >= MinChurn))
        && (MinClv is null || (profile.Predictions.TryGetValue("clv", out var v) && v.Value >= MinClv));
}

public enum CustomerSort
{
    None,
    /// <summary>Highest churn probability first.</summary>
    Churn,
    /// <summary>Highest 12-month value first.</summary>
    Clv,
}

/// <summary>
/// Lists profiles with filters and sorting on top of a store that can only page. Filters scan: each request reads store
/// pages of <see cref="ScanPageSize"/> until it has a page of matches or has read <see cref="MaxScannedPerRequest"/>
/// profiles, and its continuation token records where the scan stopped (so a short page with a token is not the end).
/// Sorting reads every profile (bounded top-k), and pages by offset up to <see cref="MaxSortWindow"/>.
/// </summary>
public sealed class CustomerQuery(ICustomerStore store)
{
    public const int ScanPageSize = 200;
    public const int MaxScannedPerRequest = 5_000;
    public const int MaxSortWindow = 10_000;


    private sealed record ScanPosition(string? T, int S);

    public async Task<(IReadOnlyList<CustomerProfile> Items, string? ContinuationToken, int Scanned)> ListAsync(
        CustomerFilter filter, CustomerSort sort, int pageSize, string? continuationToken, CancellationToken cancellationToken)
    {
        if (sort != CustomerSort.None)
        {
            return await SortedAsync(filter, sort, pageSize, continuationToken, cancellationToken);
        }
        if (filter.IsEmpty)
        {
            var page = await store.ListAsync(pageSize, continuationToken is null ? null : PageTokens.Decode(continuationToken), cancellationToken);
            return (page.Items, PageTokens.Encode(page.ContinuationToken), page.Items.Count);
        }
        return await ScanAsync(filter, pageSize, continuationToken, cancellationToken);
    }

    private async Task<(IReadOnlyList<CustomerProfile>, string?, int)> ScanAsync(CustomerFilter filter, int pageSize, string? token, CancellationToken cancellationToken)
    {
        var position = token is null ? new ScanPosition(null, 0) : Decode<ScanPosition>(token, 's');
        var matches = new List<CustomerProfile>(pageSize);
        var scanned = 0;
        var storeToken = position.T;
        var skip = position.S;
        while (true)
        {
            var page = await store.ListAsync(ScanPageSize, storeToken, cancellationToken);
            if (skip > page.Items.Count)
            {
                throw new InvalidTokenException();
            }
            for (var i = skip; i < page.Items.Count; i++)
            {
                scanned++;
                if (!filter.Matches(page.Items[i]))
                {
                    continue;
                }
                matches.Add(page.Items[i]);
                if (matches.Count == pageSize)
                {
                    // Resume inside this store page when it has more, else at the next one.
                    var next = i + 1 < page.Items.Count ? new ScanPosition(storeToken, i + 1)
                        : page.ContinuationToken is null ? null : new ScanPosition(page.ContinuationToken, 0);
                    return (matches, next is null ? null : Encode(next, 's'), scanned);
                }
            }
            skip = 0;
            if (page.ContinuationToken is null)
            {
                return (matches, null, scanned);
            }
            storeToken = page.ContinuationToken;
            if (scanned >= MaxScannedPerRequest)
            {
                return (matches, Encode(new ScanPosition(storeToken, 0), 's'), scanned);
            }
        }
    }

    private async Task<(IReadOnlyList<CustomerProfile>, string?, int)> SortedAsync(CustomerFilter filter, CustomerSort sort, int pageSize, string? token, CancellationToken cancellationToken)
    {
        var offset = token is null ? 0 : Decode<int>(token, 'o');
        if (offset < 0 || offset + pageSize > MaxSortWindow)
        {
            throw new InvalidTokenException();
        }
        var window = offset + pageSize;
        // Min-heap of the best `window` profiles so far: memory stays bounded whatever the store holds.
        var best = new PriorityQueue<CustomerProfile, (double Key, string Id)>(window + 1, Comparer<(double Key, string Id)>.Create((a, b) =>
        {
            var byKey = a.Key.CompareTo(b.Key);
            return byKey != 0 ? byKey : string.CompareOrdinal(b.Id, a.Id);
        }));
        var scanned = 0;
        var matched = 0;
        await foreach (var profile in store.ReadAllAsync(cancellationToken))
        {
            scanned++;
            if (!filter.Matches(profile))
            {
                continue;
            }
            matched++;
            best.Enqueue(profile, (Key(profile, sort), profile.Id));
            if (best.Count > window)
            {
                best.Dequeue();
            }
        }
        var ordered = new List<CustomerProfile>(best.Count);
        while (best.Count > 0)
        {
            ordered.Add(best.Dequeue());
        }
        ordered.Reverse();
        var items = ordered.Skip(offset).Take(pageSize).ToList();
        var more = matched > window && window < MaxSortWindow;
        return (items, more ? Encode(window, 'o') : null, scanned);
    }

    private static double Key(CustomerProfile profile, CustomerSort sort) =>
        profile.Predictions.TryGetValue(sort == CustomerSort.Churn ? "churn" : "clv", out var p) ? p.Value : double.NegativeInfinity;

    private static string Encode<T>(T value, char kind) =>
        kind + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));

    private static T Decode<T>(string token, char kind)
    {
        try
        {
            if (token.Length < 2 || token[0] != kind)
            {
                throw new InvalidTokenException();
            }
            return JsonSerializer.Deserialize<T>(Base64Url.DecodeFromChars(token.AsSpan(1))) ?? throw new InvalidTokenException();
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentException)
        {
            throw new InvalidTokenException();
        }
    }
}

/// <summary>
/// Store continuation tokens wrapped so the API only ever hands the store a token it issued: a made-up or truncated token
/// is the caller's 400, not a store error.
/// </summary>
public static class PageTokens
{
    /// <summary>
    /// The page a store listing is asked for: the page size (default <see cref="RequestLimits.DefaultPageSize"/>, checked)
    /// and the store's own token behind a client token (absent or empty = the first page). Returns what is wrong, or null.
    /// </summary>
    public static string? TryReadPage(int? pageSize, string? continuationToken, out int size, out string? storeToken)
    {
        size = pageSize ?? RequestLimits.DefaultPageSize;
        storeToken = null;
        if (RequestLimits.CheckPageSize(size) is { } sizeError)
        {
            return sizeError;
        }
        try
        {
            storeToken = continuationToken is not { Length: > 0 } ? null : Decode(continuationToken);
            return null;
        }
        catch (InvalidTokenException e)
        {
            return e.Message;
        }
    }

    public static string? Encode(string? storeToken) =>
        storeToken is null ? null : "p" + Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(storeToken));

    public static string Decode(string token)
    {
        try
        {
            return token.Length >= 2 && token[0] == 'p'
                ? System.Text.Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.AsSpan(1)))
                : throw new InvalidTokenException();
        }
        catch (FormatException)
        {
            throw new InvalidTokenException();
        }
    }
}

public sealed class InvalidTokenException() : Exception("continuationToken is not a token this listing issued (or the filters changed).");
