using System.Globalization;
using System.Text.RegularExpressions;
using iCrm.Core.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>A page of audit entries, newest first; <c>continuationToken</c> is null on the last page.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Items, string? ContinuationToken);

/// <summary>The audit trail for the privacy role: who read, changed, merged, exported or erased which customer, when and why.</summary>
public sealed partial class Audit(IAuditLog log)
{
    public const string Description =
        "Entries are newest first. `from` (inclusive) and `to` (exclusive) are ISO 8601 instants, e.g. `2026-01-01T00:00:00Z`; " +
        "`action` is one action, e.g. `read`, `list`, `read-scores`, `read-recommendations`, `batch-scores`, `read-by-source`, `merge`, `create` and `change` (a drop created or changed " +
        "the profile: actor `ingest`, role `system`, `relatedId` the drop id, `reason` its entity, one entry per drop and profile). " +
        "Entries name the caller (API key name or `entra:{object id}`), its role and the request's `purpose`, never personal data. " +
        "They expire after `Audit__RetentionDays`.";

    [GeneratedRegex("^[a-z][a-z0-9._-]{0,39}$")]
    private static partial Regex ActionFormat();

    [Function("ListAudit")]
    [RequiresRole(ApiRole.Privacy)]
    [Tags("Audit")]
    [EndpointSummary("Audit entries of every customer, filtered by time and action, page by page.")]
    [EndpointDescription(Description)]
    [QueryParameter("from", typeof(string), "Entries at or after this instant (ISO 8601).")]
    [QueryParameter("to", typeof(string), "Entries before this instant (ISO 8601).")]
    [QueryParameter("action", typeof(string), "Only entries of this action.")]
    [QueryParameter("pageSize", typeof(int), "Items per page, 1-500 (default 50).")]
    [QueryParameter("continuationToken", typeof(string), "The token of the previous page.")]
    [ProducesResponseType<AuditPage>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    public Task<IResult> ListAudit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "audit")] HttpRequest req, CancellationToken ct) =>
        PageAsync(req, null, ct);

    [Function("GetCustomerAudit")]
    [RequiresRole(ApiRole.Privacy)]
    [Tags("Audit")]
    [EndpointSummary("Audit entries of one customer (also after the profile was erased or merged away), page by page.")]
    [EndpointDescription(Description)]
    [QueryParameter("from", typeof(string), "Entries at or after this instant (ISO 8601).")]
    [QueryParameter("to", typeof(string), "Entries before this instant (ISO 8601).")]
    [QueryParameter("action", typeof(string), "Only entries of this action.")]
    [QueryParameter("pageSize", typeof(int), "Items per page, 1-500 (default 50).")]
    [QueryParameter("continuationToken", typeof(string), "The token of the previous page.")]
    [ProducesResponseType<AuditPage>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    public Task<IResult> GetCustomerAudit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "customers/{id}/audit")] HttpRequest req, string id, CancellationToken ct) =>
        CustomerLookup.IsValidId(id) ? PageAsync(req, id, ct) : Task.FromResult(ApiProblems.InvalidId(id));

    private async Task<IResult> PageAsync(HttpRequest req, string? customerId, CancellationToken ct)
    {
        if (QueryParameters.Int(req, "pageSize", out var pageSize) is { } typeError)
        {
            return typeError;
        }
        var fromError = Instant(req, "from", out var from);
        var toError = Instant(req, "to", out var to);
        if ((fromError ?? toError) is { } instantError)
        {
            return ApiProblems.BadRequest(instantError);
        }
        if (from is not null && to is not null && from >= to)
        {
            return ApiProblems.BadRequest("from must be before to.");
        }
        var action = QueryParameters.String(req, "action");
        if (action is not null && !ActionFormat().IsMatch(action))
        {
            return ApiProblems.BadRequest("action must be 1-40 lowercase letters, digits, '.', '_' or '-' (e.g. 'read').");
        }
        if (PageTokens.TryReadPage(pageSize, QueryParameters.String(req, "continuationToken"), out var size, out var storeToken) is { } pageError)
        {
            return ApiProblems.BadRequest(pageError);
        }
        var page = await log.QueryAsync(new AuditQuery(customerId, from, to, action is { Length: > 0 } ? action : null), size, storeToken, ct);
        return Results.Ok(new AuditPage(page.Items, PageTokens.Encode(page.ContinuationToken)));
    }

    private static string? Instant(HttpRequest req, string name, out DateTimeOffset? value)
    {
        value = null;
        var text = QueryParameters.String(req, name);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            return $"{name} must be an ISO 8601 instant such as 2026-01-01T00:00:00Z.";
        }
        value = parsed.ToUniversalTime();
        return null;
    }
}
