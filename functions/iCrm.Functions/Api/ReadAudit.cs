using iCrm.Core.Storage;
using iCrm.Functions.Hosting;

namespace iCrm.Functions.Api;

/// <summary>The actions audit entries of API reads carry (changes, merges, exports and erasures have their own).</summary>
public static class ReadActions
{
    public const string Read = "read";
    public const string ReadBySource = "read-by-source";
    public const string List = "list";
    public const string Scores = "read-scores";
    public const string Recommendations = "read-recommendations";
    public const string BatchScores = "batch-scores";
}

/// <summary>
/// Records who read which customer through the API: the caller's key or principal name, the role that let it in, the
/// action, the <c>purpose</c> the request gave, and when. Never personal data: the customer id is pseudonymous, and
/// nothing of the request (a source id, an email in a lookup) is copied into the entry.
/// </summary>
public sealed class ReadAudit(AuditTrail trail, TimeProvider time)
{
    public ValueTask RecordAsync(HttpContext context, string customerId, string action) =>
        trail.RecordAsync(Entry(context, customerId, action, time.GetUtcNow()), context.RequestAborted);

    public async ValueTask RecordAsync(HttpContext context, IEnumerable<string> customerIds, string action)
    {
        var at = time.GetUtcNow();
        foreach (var id in customerIds)
        {
            await trail.RecordAsync(Entry(context, id, action, at), context.RequestAborted);
        }
    }

    private static AuditEntry Entry(HttpContext context, string customerId, string action, DateTimeOffset at)
    {
        var caller = ApiCaller.Of(context);
        var purpose = context.Request.Query[ApiAccess.PurposeParameter].ToString();
        return new AuditEntry($"{action}-{Guid.NewGuid():N}", customerId, action, caller.Name, at,
            Role: ApiAccess.GrantedRole(context),
            Purpose: purpose.Length > 0 ? purpose : null);
    }
}
