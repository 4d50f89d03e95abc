namespace iCrm.Core.Privacy;

/// <summary>
/// What is left of an erased customer: keyed hashes only (no readable personal data). Kept in the <c>identities</c>
/// container under <c>erasure:{customerId}</c>, one per erased id (the survivor and every id merged into it), so erasing
/// again, or erasing a merged-away id, answers with the same tombstone.
/// </summary>
public sealed class ErasureRecord
{
    public const string KindName = "erasure";

    public required string Id { get; set; }

    /// <summary>The id this record answers for (the survivor, or an id merged into it).</summary>
    public required string CustomerId { get; set; }

    public string Kind { get; set; } = KindName;

    /// <summary>The surviving profile that was erased.</summary>
    public required string ErasedId { get; set; }

    /// <summary>Every profile id that was removed: the survivor and the ids merged into it.</summary>
    public List<string> ErasedIds { get; set; } = [];

    /// <summary>The match keys (HMAC of source ids, emails, phones, loyalty ids) now held as tombstones, sorted.</summary>
    public List<string> Keys { get; set; } = [];

    public DateTimeOffset ErasedAt { get; set; }

    /// <summary>Rows removed from quarantine files (rejected rows naming the person).</summary>
    public int QuarantineRowsRemoved { get; set; }

    /// <summary>False while an erasure is under way: a retry (or a crash's re-run) completes it.</summary>
    public bool Completed { get; set; }

    public static string IdFor(string customerId) => $"{KindName}:{customerId}";
}

/// <summary>The writes an erasure needs beyond the ordinary ports (Cosmos: <c>customers</c> and <c>identities</c>).</summary>
public interface ISubjectErasureStore
{
    Task<ErasureRecord?> GetAsync(string customerId, CancellationToken cancellationToken = default);

    Task SaveAsync(ErasureRecord record, CancellationToken cancellationToken = default);

    /// <summary>Turns the claim on <paramref name="key"/> into a tombstone of kind <see cref="ErasedKeys.Kind"/> naming the erased
    /// customer (created if the key was never claimed), so a later row carrying the key is recognised.</summary>
    Task TombstoneKeyAsync(string key, string customerId, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="customerId"/> from the candidate list of a blocking key (and the key when it empties).</summary>
    Task RemoveCandidateAsync(string blockingKey, string customerId, CancellationToken cancellationToken = default);

    /// <summary>Deletes the profile document (no error when it is gone already).</summary>
    Task DeleteProfileAsync(string customerId, CancellationToken cancellationToken = default);
}

/// <summary>Removes rows naming an erased person from the quarantine files (<c>quarantine/{dropId}/rejected.jsonl</c>).</summary>
public interface IQuarantineEraser
{
    /// <summary>Rewrites every rejected-rows file that holds a row <paramref name="subject"/> names, without those rows;
    /// returns how many rows were removed.</summary>
    Task<int> RemoveRowsAsync(ErasedSubjectMatch subject, CancellationToken cancellationToken = default);
}

/// <summary>The claim kind of a match key whose owner was erased.</summary>
public static class ErasedKeys
{
    public const string Kind = "erased";
}

/// <summary>Settings of the privacy operations (section <c>Privacy</c>).</summary>
public sealed class PrivacyOptions
{
    public const string Section = "Privacy";

    /// <summary>
    /// False (default): a drop row naming an erased person (any of their source ids, emails, phones or loyalty ids) is
    /// quarantined as <c>erased_subject</c> and never recreates them. True: such a row starts a new relationship: the
    /// tombstone of each key it carries is removed and the row is applied as for an unknown person (for businesses where
    /// an erased customer may sign up again and the new sign-up is the lawful basis).
    /// </summary>
    public bool AllowRecreationAfterErase { get; set; }
}
