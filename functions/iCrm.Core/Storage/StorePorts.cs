using iCrm.Core.Profiles;

namespace iCrm.Core.Storage;

/// <summary>A document with the version tag the store gave it, for optimistic concurrency.</summary>
public sealed record Versioned<T>(T Value, string ETag);

/// <summary>One page of a listing and the token for the next page (null at the end).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? ContinuationToken);

/// <summary>The unified customer profiles (Cosmos container <c>customers</c> in production).</summary>
public interface ICustomerStore
{
    Task<Versioned<CustomerProfile>?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Creates the profile; returns null when a profile with that id already exists.</summary>
    Task<string?> TryCreateAsync(CustomerProfile profile, CancellationToken cancellationToken = default);

    /// <summary>Replaces the profile if it still has <paramref name="etag"/>; returns the new ETag, or null when it changed meanwhile.</summary>
    Task<string?> TryReplaceAsync(CustomerProfile profile, string etag, CancellationToken cancellationToken = default);

    Task<Page<CustomerProfile>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default);

    /// <summary>Every live (not merged-away) profile, streamed.</summary>
    IAsyncEnumerable<CustomerProfile> ReadAllAsync(CancellationToken cancellationToken = default);

    /// <summary>One page of the live profiles matching <paramref name="query"/>, in its order. The store runs the query
    /// itself (indexed in Cosmos), so the cost follows the page, not the number of profiles; the token continues the same
    /// query only.</summary>
    Task<Page<CustomerProfile>> QueryAsync(CustomerListQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default);

    /// <summary>How many live profiles <paramref name="query"/> lists (in any order).</summary>
    Task<long> CountAsync(CustomerListQuery query, CancellationToken cancellationToken = default);

    /// <summary>The live profiles of one id range, with their versions (training reads slices in parallel, scoring
    /// works slice by slice). Stores with a range query override the full-read fallback.</summary>
    IAsyncEnumerable<Versioned<CustomerProfile>> ReadSliceAsync(CustomerSlice slice, CancellationToken cancellationToken = default) =>
        CustomerSliceReads.FilterAsync(this, slice, cancellationToken);

    /// <summary>Writes a profile's predictions (and its feedback, when sentiment was scored) if it still has
    /// <paramref name="etag"/>, without rewriting the rest (a Cosmos patch); returns the new ETag, or null when the profile
    /// changed or is gone.</summary>
    Task<string?> TryWritePredictionsAsync(string id, string etag, IReadOnlyDictionary<string, Prediction> predictions,
        IReadOnlyList<FeedbackItem>? feedback, CancellationToken cancellationToken = default) =>
        CustomerSliceReads.ReplaceAsync(this, id, etag, predictions, feedback, cancellationToken);
}

/// <summary>An entry of the <c>identities</c> container: a hashed match key and the customer that owns it.</summary>
public sealed record IdentityClaim(string Id, string CustomerId, string Kind, List<string>? Candidates = null);

/// <summary>Match keys → customer ids. Keys are keyed hashes; no personal data is stored here.</summary>
public interface IIdentityStore
{
    Task<IdentityClaim?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The claims of those of <paramref name="keys"/> that exist (absent keys are not in the result), read as one
    /// batch (concurrently or in batched requests) rather than one round trip after another: ingestion looks up a whole
    /// chunk's keys at once.</summary>
    Task<IReadOnlyDictionary<string, IdentityClaim>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Claims <paramref name="key"/> for <paramref name="customerId"/> if nobody owns it; returns the owner either way.</summary>
    Task<string> ClaimAsync(string key, string kind, string customerId, CancellationToken cancellationToken = default);

    /// <summary>Points an existing key at another customer (used when profiles are merged).</summary>
    Task RepointAsync(string key, string kind, string customerId, CancellationToken cancellationToken = default);

    /// <summary>Adds a candidate customer to a blocking key (bounded list).</summary>
    Task AddCandidateAsync(string key, string customerId, int maxCandidates, CancellationToken cancellationToken = default);

    /// <summary>Adds several candidates to a blocking key, in order, as if <see cref="AddCandidateAsync"/> were called for each
    /// (same list, same cap). <paramref name="probablyAbsent"/>: a recent read found no document, so a store may try to create
    /// it first. Stores that can, do it in one write.</summary>
    async Task AddCandidatesAsync(string key, IReadOnlyList<string> customerIds, int maxCandidates, bool probablyAbsent,
        CancellationToken cancellationToken = default)
    {
        foreach (var customerId in customerIds)
        {
            await AddCandidateAsync(key, customerId, maxCandidates, cancellationToken);
        }
    }

    /// <summary>Removes the claim on <paramref name="key"/> if <paramref name="customerId"/> still owns it (a new profile that
    /// was rejected before it was ever written must not keep keys pointing at nothing); otherwise leaves it.</summary>
    Task ReleaseAsync(string key, string customerId, CancellationToken cancellationToken = default);
}

/// <summary>Drop reports (Cosmos container <c>ingestions</c>), keyed by drop id.</summary>
public interface IIngestionLedger
{
    Task<Versioned<iCrm.Core.Ingestion.IngestionReport>?> GetAsync(string dropId, CancellationToken cancellationToken = default);

    Task UpsertAsync(iCrm.Core.Ingestion.IngestionReport report, CancellationToken cancellationToken = default);

    Task<Page<iCrm.Core.Ingestion.IngestionReport>> ListAsync(int pageSize, string? continuationToken, CancellationToken cancellationToken = default);
}

/// <summary>
/// Who read, changed, merged, exported or erased which profile, when and why. Never personal data: <paramref name="Actor"/> is
/// a key name or principal name, <paramref name="Role"/> the role it acted in, <paramref name="Purpose"/> the purpose the caller gave.
/// </summary>
public sealed record AuditEntry(string Id, string CustomerId, string Action, string Actor, DateTimeOffset At, string? Reason = null,
    string? RelatedId = null, string? Role = null, string? Purpose = null);

/// <summary>Audit entries, keyed by <see cref="AuditEntry.Id"/> within a customer's entries (the Cosmos partition): writing an
/// id again replaces that customer's entry.</summary>
public interface IAuditLog
{
    Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Writes the entry unless the customer already has one with its id (the first write wins, so a retried
    /// writer keeps the original time); false when it was there.</summary>
    Task<bool> TryCreateAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AuditEntry>> ListAsync(string customerId, CancellationToken cancellationToken = default);

    /// <summary>A page of the entries matching <paramref name="query"/>, newest first. Without a customer id the query
    /// spans every customer (cross-partition in Cosmos).</summary>
    Task<Page<AuditEntry>> QueryAsync(AuditQuery query, int pageSize, string? continuationToken, CancellationToken cancellationToken = default);
}

/// <summary>Which audit entries to list: one customer's or everyone's, at or after <see cref="From"/>, before <see cref="To"/>,
/// of one action; null filters nothing.</summary>
public sealed record AuditQuery(string? CustomerId = null, DateTimeOffset? From = null, DateTimeOffset? To = null, string? Action = null)
{
    public bool Matches(AuditEntry e) =>
        (CustomerId is null || e.CustomerId == CustomerId) && (From is null || e.At >= From) && (To is null || e.At < To)
        && (Action is null || e.Action == Action);
}

/// <summary>Rejected rows and reports of a drop (blob container <c>quarantine</c>, folder <c>{dropId}/</c>).</summary>
public interface IQuarantine
{
    /// <summary>Starts (or restarts, on a re-run) the rejected-rows file of a drop; returns its path.</summary>
    Task<string> BeginAsync(string dropId, CancellationToken cancellationToken = default);

    Task AppendRejectedAsync(string dropId, IReadOnlyList<iCrm.Core.Drops.RowRejection> rejections, CancellationToken cancellationToken = default);

    /// <summary>Writes <c>{dropId}/report.json</c>; returns its path.</summary>
    Task<string> WriteReportAsync(iCrm.Core.Ingestion.IngestionReport report, CancellationToken cancellationToken = default);
}

/// <summary>A drop file as the store reports it: where it is and which version (ETag) it is.</summary>
public sealed record DropBlob(string Container, string Path, string ETag, long Length);

/// <summary>Where drops are read from (blob container <c>drops</c> in production).</summary>
public interface IDropSource
{
    Task<DropBlob?> GetAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Opens that exact version for streaming; fails if the blob changed since (a new event will come for the new version).</summary>
    Task<Stream> OpenReadAsync(DropBlob blob, CancellationToken cancellationToken = default);
}
