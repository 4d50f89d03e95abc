using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Functions.Api;

/// <summary>A page of <c>GET /api/customers</c> and, on the first page, how many customers consent left out.</summary>
public sealed record CustomerListResult(IReadOnlyList<CustomerProfile> Items, string? ContinuationToken, long? ExcludedWithoutConsent,
    long? ExcludedWithoutProfilingConsent);

/// <summary>
/// Runs customer lists in the store (an indexed query in Cosmos, see <see cref="ICustomerStore.QueryAsync"/>) and applies
/// consent: a marketing list on a channel keeps only customers who consented to it, and a list built from model output
/// (a segment or score filter, or a score sort) leaves out customers who withdrew consent to profiling. The first page says
/// how many each rule left out (one COUNT each); later pages do not repeat it, so their cost stays that of the page.
/// </summary>
public sealed class CustomerQuery(ICustomerStore store)
{
    private sealed record Position(string F, string T);

    public async Task<CustomerListResult> ListAsync(CustomerListQuery request, ConsentChannel? marketingChannel, int pageSize,
        string? continuationToken, CancellationToken cancellationToken)
    {
        var query = request with
        {
            WithConsent = marketingChannel ?? request.WithConsent,
            ExcludeProfilingWithdrawn = request.UsesPredictions,
        };
        var fingerprint = Fingerprint(query);
        string? storeToken = null;
        if (continuationToken is not null)
        {
            var position = Decode(continuationToken);
            if (position.F != fingerprint)
            {
                throw new InvalidTokenException();
            }
            storeToken = position.T;
        }
        var page = await store.QueryAsync(query, pageSize, storeToken, cancellationToken);
        long? withoutConsent = null;
        long? withoutProfiling = null;
        if (continuationToken is null)
        {
            if (marketingChannel is { } channel)
            {
                withoutConsent = await store.CountAsync(query with { WithConsent = null, WithoutConsent = channel }, cancellationToken);
            }
            if (query.ExcludeProfilingWithdrawn)
            {
                withoutProfiling = await store.CountAsync(query with { ExcludeProfilingWithdrawn = false, OnlyProfilingWithdrawn = true }, cancellationToken);
            }
        }
        var next = page.ContinuationToken is null ? null : Encode(new Position(fingerprint, page.ContinuationToken));
        return new CustomerListResult(page.Items, next, withoutConsent, withoutProfiling);
    }

    // A token only continues the list it came from: it carries a hash of the filters and sort.
    private static string Fingerprint(CustomerListQuery query) =>
        Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(query)), 0, 8);

    private static string Encode(Position position) =>
        "q" + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(position));

    private static Position Decode(string token)
    {
        try
        {
            if (token.Length < 2 || token[0] != 'q')
            {
                throw new InvalidTokenException();
            }
            var position = JsonSerializer.Deserialize<Position>(Base64Url.DecodeFromChars(token.AsSpan(1)));
            return position is { F: not null, T: not null } ? position : throw new InvalidTokenException();
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
