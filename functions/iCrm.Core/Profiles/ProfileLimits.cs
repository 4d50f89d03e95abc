namespace iCrm.Core.Profiles;

/// <summary>
/// The sizes a profile is held to, shared by ingestion (what a drop may put into a profile) and the what-if API (what a
/// posted profile may hold), so that every stored profile could also be scored as a what-if document, and no profile
/// outgrows Cosmos DB's 2 MB item limit.
/// </summary>
public static class ProfileLimits
{
    // What a profile's history may hold (the what-if API's caps; ingestion keeps less by default, see ProfileHistoryOptions).
    public const int MaxOrders = 1_000;
    public const int MaxMonths = 600;
    public const int MaxEventMonths = 2_000;
    public const int MaxEvents = 1_000;
    public const int MaxFeedback = 100;
    public const int MaxSubscriptions = 50;

    /// <summary>Attributes (unknown customer columns) a profile takes from one row of one source; more are not kept and the
    /// row is flagged (<c>attributes_capped</c>).</summary>
    public const int MaxAttributes = 100;

    /// <summary>An attribute's name, as derived from its column header (longer names are cut).</summary>
    public const int MaxAttributeNameLength = 64;

    /// <summary>An attribute's value; a longer one rejects the row (<c>field_too_long</c>).</summary>
    public const int MaxAttributeValueLength = 256;

    public const int MaxFeedbackTextLength = 5_000;
    public const decimal MaxAmount = 1_000_000m;
    public const decimal MaxQuantity = 10_000m;

    /// <summary>Identifiers: customer, order, product, event and feedback ids, loyalty ids (<c>field_too_long</c> beyond).</summary>
    public const int MaxIdLength = 128;

    /// <summary>Contact text: names, street, city, state, postcode, country, email (an email may be 254 by RFC 5321).</summary>
    public const int MaxContactLength = 256;

    /// <summary>Short codes: channel, event type, subscription plan and period.</summary>
    public const int MaxCodeLength = 64;

    /// <summary>Merge explanations a profile keeps (the most recent), and evidence items per explanation.</summary>
    public const int MaxMergeExplanations = 100;
    public const int MaxEvidencePerExplanation = 32;

    /// <summary>Source identities and merged-from ids a profile lists (the earliest are kept: they created it).</summary>
    public const int MaxIdentities = 1_000;
    public const int MaxMergedFrom = 1_000;

    /// <summary>Serialized size a profile is kept under before it is written (Cosmos DB rejects items over 2 MB).</summary>
    public const long DefaultBudgetBytes = 1_572_864; // 1.5 MB
}
