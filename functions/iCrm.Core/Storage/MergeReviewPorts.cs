using System.Security.Cryptography;
using System.Text;

namespace iCrm.Core.Storage;

/// <summary>One field's contribution to a review candidate's score: field and agreement level (never the values), and the weight.</summary>
public sealed record MergeReviewEvidence(string Field, string Level, double Weight);

/// <summary>
/// A pair the matcher held back instead of merging (Cosmos container <c>reviews</c>, partition key <c>/id</c>): a source
/// record (named by its keyed source-id hash, never its readable id) that went to <see cref="CustomerId"/>, and the profile
/// <see cref="CandidateId"/> it resembled, with the field-by-field evidence. No personal data.
/// </summary>
public sealed class MergeReview
{
    public const string ReviewStatus = "review";

    /// <summary><c>rv_</c> + 32 hex of SHA-256 over record key and candidate id: the same pair is one review, whatever the run.</summary>
    public required string Id { get; set; }

    /// <summary><c>review</c> while nobody has decided; other statuses are for the people who do.</summary>
    public string Status { get; set; } = ReviewStatus;

    /// <summary>The record's source-id match key (<c>src:</c> + keyed hash).</summary>
    public required string RecordKey { get; set; }

    /// <summary>The profile the record went to.</summary>
    public required string CustomerId { get; set; }

    /// <summary>The profile the record was not merged into.</summary>
    public required string CandidateId { get; set; }

    /// <summary>Why it was held back: <c>ConflictingIdentifiers</c>, <c>NamesOnly</c>, <c>BelowThreshold</c> or <c>NotBest</c>.</summary>
    public required string Reason { get; set; }

    public double Score { get; set; }

    public bool NamesSwapped { get; set; }

    public List<MergeReviewEvidence> Evidence { get; set; } = [];

    /// <summary>The drop whose record raised the pair (the latest, when several did).</summary>
    public string? DropId { get; set; }

    public DateTimeOffset At { get; set; }

    public static string IdFor(string recordKey, string candidateId)
    {
        ArgumentNullException.ThrowIfNull(recordKey);
        ArgumentNullException.ThrowIfNull(candidateId);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(recordKey + "|" + candidateId));
        return "rv_" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}

/// <summary>Review candidates of the matcher (Cosmos container <c>reviews</c> in production).</summary>
public interface IMergeReviewStore
{
    /// <summary>Writes the review (same id: replaced, so a re-run or a repeated drop adds nothing).</summary>
    Task UpsertAsync(MergeReview review, CancellationToken cancellationToken = default);

    /// <summary>Reviews with <paramref name="status"/>, newest first, page by page.</summary>
    Task<Page<MergeReview>> ListAsync(string status, int pageSize, string? continuationToken, CancellationToken cancellationToken = default);
}
