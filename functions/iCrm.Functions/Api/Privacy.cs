using iCrm.Core.Privacy;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Ml.Scoring;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>Data-subject requests: erase a person, export everything held about them, and record their consent.</summary>
public sealed class Privacy(CustomerLookup lookup, ICustomerStore customers, SubjectErasure erasure, ICustomerScoring scoring,
    IAuditLog audit, TimeProvider time)
{
    private const int MaxConsentWriteAttempts = 10;

    /// <summary>Statements may be dated this far ahead of the server's clock (clock skew between systems), no further.</summary>
    private static readonly TimeSpan AllowedClockSkew = TimeSpan.FromMinutes(5);

    [Function("EraseCustomer")]
    [Tags("Privacy")]
    [RequiresRole(ApiRole.Privacy)]
    [EndpointSummary("Erases a person: profile, identity keys, predictions and quarantined rows; keeps only a tombstone of keyed hashes.")]
    [EndpointDescription("Removes the surviving profile and every profile merged into it (a merged-away id erases its survivor), " +
        "turns their match keys into tombstones so that later drops naming the person (any source id, email, phone or loyalty id) " +
        "are quarantined as `erased_subject` instead of recreating them (unless `Privacy__AllowRecreationAfterErase`), removes " +
        "them from blocking-key candidate lists, and rewrites the quarantine files without their rows. Idempotent: erasing again " +
        "answers 200 with the same tombstone. The reason is audited; it must not contain personal data.")]
    [Consumes(typeof(EraseRequest), "application/json")]
    [ProducesResponseType<ErasureView>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    [ProducesProblem(StatusCodes.Status413PayloadTooLarge)]
    [ProducesProblem(StatusCodes.Status415UnsupportedMediaType)]
    public async Task<IResult> EraseCustomer(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "customers/{id}:erase")] HttpRequest req, string id, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(id))
        {
            return ApiProblems.InvalidId(id);
        }
        var (request, problem) = await JsonBody.ReadAsync<EraseRequest>(req);
        if (problem is not null)
        {
            return problem;
        }
        if (PrivacyInput.CheckReason(request!.Reason) is { } reasonError)
        {
            return ApiProblems.BadRequest(reasonError);
        }
        // Not cancelled with the request: an erasure stopped half-way is completed by the next call, but finishing now is better.
        var outcome = await erasure.EraseAsync(id, CancellationToken.None);
        if (outcome is not { Record: { } record })
        {
            return ApiProblems.NotFound($"No customer with id '{id}', and none was erased under it.");
        }
        await audit.WriteAsync(Entry(req.HttpContext, record.ErasedId, "erase", [ApiRole.Privacy], CustomerExport.PrivacyPurpose,
            request.Reason!.Trim(), related: id == record.ErasedId ? null : id), CancellationToken.None);
        return Results.Ok(ErasureView.From(id, record));
    }

    [Function("ExportCustomer")]
    [Tags("Privacy")]
    [RequiresRole(ApiRole.Privacy)]
    [EndpointSummary("Everything held about a person as one JSON document (a download), for a data-subject access request.")]
    [EndpointDescription("Profile, identities by source, contact values with their sources, attributes, consent with its " +
        "statements (source and time), history (orders, monthly buckets, events, feedback, subscriptions), stored predictions, " +
        "live scores with their reasons (as `/scores` gives; left out when profiling consent is withdrawn), merge explanations " +
        "and the audit entries of the customer. Served with `Content-Disposition: attachment; filename=customer-{id}.json`. " +
        "A merged-away id exports the surviving profile. Purpose `privacy`; audited as `export`.")]
    [ProducesResponseType<CustomerExport>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> ExportCustomer(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "customers/{id}/export")] HttpRequest req, string id, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(id))
        {
            return ApiProblems.InvalidId(id);
        }
        var (profile, _) = await lookup.FindAsync(id, ct);
        if (profile is null)
        {
            return ApiProblems.NotFound($"No customer with id '{id}'.");
        }
        var now = time.GetUtcNow();
        CustomerScores? scores = null;
        string? note = null;
        if (profile.Consent.Profiling == false)
        {
            note = "Profiling consent is withdrawn: no live scores are computed for this person.";
        }
        else
        {
            scores = await scoring.ScoreAsync(profile, now, new ScoreRequest(), ct);
            note = scores.ModelVersions.Count == 0 ? "No model has been trained yet: no live scores." : null;
        }
        // The export's own audit entry is written first, so the export lists it too: the person sees that it was made.
        await audit.WriteAsync(Entry(req.HttpContext, profile.Id, "export", [ApiRole.Privacy], CustomerExport.PrivacyPurpose,
            reason: null, related: id == profile.Id ? null : id), ct);
        var entries = new List<AuditEntry>();
        foreach (var auditedId in profile.MergedFrom.Prepend(profile.Id).Distinct(StringComparer.Ordinal))
        {
            entries.AddRange(await audit.ListAsync(auditedId, ct));
        }
        entries.Sort((a, b) => a.At.CompareTo(b.At));
        req.HttpContext.Response.Headers.ContentDisposition = $"attachment; filename=customer-{profile.Id}.json";
        return Results.Ok(CustomerExport.From(profile, now, scores, note, entries));
    }

    [Function("RecordConsent")]
    [Tags("Privacy")]
    [RequiresRole(ApiRole.Privacy, ApiRole.Marketer)]
    [EndpointSummary("Records a consent statement (channel, value, source, time); the most recent statement per channel wins.")]
    [EndpointDescription("Channels: `email`, `sms`, `phone`, `profiling`. `at` defaults to now and may not be in the future; " +
        "a statement older than the channel's latest is kept in the history but does not change the current value. " +
        "Withdrawing `profiling` removes the stored predictions at once and leaves the person out of training from the next run. " +
        "A merged-away id records on the surviving profile. Audited as `consent`.")]
    [Consumes(typeof(ConsentRequest), "application/json")]
    [ProducesResponseType<ConsentView>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    [ProducesProblem(StatusCodes.Status409Conflict)]
    [ProducesProblem(StatusCodes.Status413PayloadTooLarge)]
    [ProducesProblem(StatusCodes.Status415UnsupportedMediaType)]
    public async Task<IResult> RecordConsent(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "customers/{id}/consent")] HttpRequest req, string id, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(id))
        {
            return ApiProblems.InvalidId(id);
        }
        var (request, problem) = await JsonBody.ReadAsync<ConsentRequest>(req);
        if (problem is not null)
        {
            return problem;
        }
        var now = time.GetUtcNow();
        if (ConsentChannels.Parse(request!.Channel) is not { } channel)
        {
            return ApiProblems.BadRequest("channel must be one of email, sms, phone, profiling.");
        }
        if (request.Value is not { } value)
        {
            return ApiProblems.BadRequest("value is required: true (consent given) or false (refused or withdrawn).");
        }
        if (!PrivacyInput.IsValidSource(request.Source))
        {
            return ApiProblems.BadRequest("source is required: 1-64 letters, digits, '-', '_' or '.' naming where the statement was made.");
        }
        var at = request.At ?? now;
        if (at > now + AllowedClockSkew)
        {
            return ApiProblems.BadRequest("at may not be in the future.");
        }
        var statement = new ConsentStatement(channel, value, request.Source!, at.ToUniversalTime());
        for (var attempt = 0; attempt < MaxConsentWriteAttempts; attempt++)
        {
            var (profile, _) = await lookup.FindAsync(id, ct);
            if (profile is null)
            {
                return ApiProblems.NotFound($"No customer with id '{id}'.");
            }
            var stored = await customers.GetAsync(profile.Id, ct);
            if (stored is null || stored.Value.MergedInto is not null)
            {
                continue; // erased or merged away since it was found: look again
            }
            var current = stored.Value;
            if (ConsentLedger.Record(current, statement))
            {
                current.UpdatedAt = now;
                if (await customers.TryReplaceAsync(current, stored.ETag, ct) is null)
                {
                    continue; // a drop changed the profile meanwhile
                }
            }
            await audit.WriteAsync(Entry(req.HttpContext, current.Id, "consent", [ApiRole.Privacy, ApiRole.Marketer], purpose: null,
                reason: $"{channel}:{(value ? "given" : "withdrawn")}", related: id == current.Id ? null : id), ct);
            return Results.Ok(ConsentView.From(current));
        }
        return ApiProblems.Conflict("The profile kept changing while the statement was recorded: send it again.");
    }

    /// <summary>An audit entry for the caller (key or principal name and the role it acted in; never personal data).</summary>
    private AuditEntry Entry(HttpContext context, string customerId, string action, ApiRole[] allowed, string? purpose, string? reason, string? related)
    {
        var caller = ApiCaller.Of(context);
        var role = allowed.FirstOrDefault(r => caller.Roles.Contains(r), (ApiRole)(-1));
        var now = time.GetUtcNow();
        return new AuditEntry($"{action}-{Guid.NewGuid():N}", customerId, action, caller.Name, now,
            reason, related, Enum.IsDefined(role) ? role.ToString().ToLowerInvariant() : null, purpose);
    }
}
