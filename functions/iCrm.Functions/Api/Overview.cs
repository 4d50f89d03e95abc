using iCrm.Core.Ingestion;
using iCrm.Core.Privacy;
using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>What the dashboard's overview and ingestion pages need and the resource listings do not give in one call:
/// drop totals per day and by rejection reason, the models at a glance with alerts, and a masked sample of a drop's
/// rejected rows.</summary>
public sealed class Overview(IIngestionLedger ledger, IModelRegistry registry, IRejectedRows rejectedRows, TimeProvider time)
{
    public const int DefaultDays = 14;
    public const int MaxDays = 90;

    /// <summary>Drop reports read per overview at most (newest first), so the cost stays bounded on a busy store.</summary>
    public const int MaxReports = 2000;

    public const int MaxRejectedSample = 100;

    [Function("GetOverview")]
    [RequiresRole(ApiRole.Reader, ApiRole.Admin)]
    [Tags("Overview")]
    [EndpointSummary("The CRM at a glance: drops of the last days (accepted, rejected, duplicates, by day and by rejection reason), profiles created and merged by them, the models and alerts.")]
    [EndpointDescription($"Reads the newest drop reports back to `days` ago (at most 2,000; `truncated` says when more exist). " +
        "Alerts: drops that failed or were rejected, and model kinds whose newest trained version was not promoted (the champion was kept).")]
    [QueryParameter("days", typeof(int), "How many days back, 1-90 (default 14).")]
    [ProducesResponseType<OverviewReport>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    public async Task<IResult> GetOverview(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "overview")] HttpRequest req, CancellationToken ct)
    {
        if (QueryParameters.Int(req, "days", out var daysValue) is { } typeError)
        {
            return typeError;
        }
        var days = daysValue ?? DefaultDays;
        if (days is < 1 or > MaxDays)
        {
            return ApiProblems.BadRequest($"days must be between 1 and {MaxDays}.");
        }
        var now = time.GetUtcNow();
        var since = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1 - days), TimeSpan.Zero);

        var reports = new List<IngestionReport>();
        var truncated = false;
        var done = false;
        string? token = null;
        do
        {
            // Newest first, so the first report older than the window ends the walk.
            var page = await ledger.ListAsync(200, token, ct);
            foreach (var report in page.Items)
            {
                if (report.StartedAt < since)
                {
                    done = true;
                    break;
                }
                if (reports.Count == MaxReports)
                {
                    truncated = done = true;
                    break;
                }
                reports.Add(report);
            }
            token = page.ContinuationToken;
        }
        while (!done && token is not null);

        var byDay = Enumerable.Range(0, days).Select(d => DateOnly.FromDateTime(since.UtcDateTime.AddDays(d)))
            .ToDictionary(d => d, d => new DropDay(d, 0, 0, 0, 0));
        var reasons = new Dictionary<string, long>(StringComparer.Ordinal);
        var alerts = new List<OverviewAlert>();
        foreach (var report in reports)
        {
            var day = DateOnly.FromDateTime(report.StartedAt.UtcDateTime);
            if (byDay.TryGetValue(day, out var totals))
            {
                byDay[day] = totals with
                {
                    Drops = totals.Drops + 1,
                    RowsAccepted = totals.RowsAccepted + report.RowsAccepted,
                    RowsRejected = totals.RowsRejected + report.RowsRejected,
                    DuplicatesSkipped = totals.DuplicatesSkipped + report.DuplicatesSkipped,
                };
            }
            foreach (var (reason, count) in report.RejectedByReason)
            {
                reasons[reason] = reasons.GetValueOrDefault(reason) + count;
            }
            if (report.Status is IngestionStatus.Failed or IngestionStatus.Rejected)
            {
                // The blob path names source, entity and file: operational names, not personal data.
                alerts.Add(new OverviewAlert("drop", report.Status == IngestionStatus.Failed ? "error" : "warning",
                    $"Drop {report.BlobPath} {(report.Status == IngestionStatus.Failed ? $"failed (attempt {report.Attempts})" : "was rejected")}" +
                    (report.Error is { Length: > 0 } error ? $": {PersonalDataMask.MaskMessage(error)}" : "."), report.Id));
            }
        }

        var models = new List<OverviewModel>();
        foreach (var kind in ModelKinds.All)
        {
            var champion = (await registry.GetChampionAsync(kind, ct))?.Value;
            var versions = await registry.ListVersionsAsync(kind, ct);
            var newest = versions.Count > 0 ? versions[^1] : null;
            models.Add(new OverviewModel(kind, champion?.Version, champion?.PromotedAt, champion?.Metric, champion?.Value, versions.Count, newest));
            if (champion is not null && newest is not null && string.CompareOrdinal(newest, champion.Version) > 0)
            {
                alerts.Add(new OverviewAlert("model", "warning",
                    $"The newest {kind} model ({newest}) was not promoted: the champion {champion.Version} was kept.", kind));
            }
        }

        return Results.Ok(new OverviewReport(
            now, days, since, truncated,
            new DropTotals(reports.Count,
                reports.Count(r => r.Status == IngestionStatus.Completed),
                reports.Count(r => r.Status == IngestionStatus.Running),
                reports.Count(r => r.Status == IngestionStatus.Failed),
                reports.Count(r => r.Status == IngestionStatus.Rejected),
                reports.Sum(r => r.RowsRead), reports.Sum(r => r.RowsAccepted), reports.Sum(r => r.RowsRejected),
                reports.Sum(r => r.DuplicatesSkipped), reports.Sum(r => r.RowsFlagged),
                reports.Sum(r => r.CustomersCreated), reports.Sum(r => r.CustomersMerged)),
            [.. byDay.Values.OrderBy(d => d.Day)],
            reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal).ToDictionary(),
            models, alerts));
    }

    [Function("GetRejectedRows")]
    [RequiresRole(ApiRole.Reader, ApiRole.Admin)]
    [Tags("Ingestion")]
    [EndpointSummary("A sample of a drop's rejected rows with the reason, personal data masked.")]
    [EndpointDescription("The first `top` rows of `quarantine/{id}/rejected.jsonl`. Emails keep their first character and domain " +
        "(`j***@example.com`), phone-like numbers their last two digits, words their first letter; dates and short numbers stay, " +
        "and each row is cut to 160 characters. The full file stays in the quarantine container for people allowed to read it.")]
    [QueryParameter("top", typeof(int), "How many rows, 1-100 (default 20).")]
    [ProducesResponseType<RejectedRowSample>(StatusCodes.Status200OK)]
    [ProducesProblem(StatusCodes.Status400BadRequest)]
    [ProducesProblem(StatusCodes.Status404NotFound)]
    public async Task<IResult> GetRejectedRows(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ingestions/{id}/rejected")] HttpRequest req, string id, CancellationToken ct)
    {
        if (!CustomerLookup.IsValidId(id))
        {
            return ApiProblems.InvalidId(id);
        }
        if (QueryParameters.Int(req, "top", out var topValue) is { } typeError)
        {
            return typeError;
        }
        var top = topValue ?? 20;
        if (top is < 1 or > MaxRejectedSample)
        {
            return ApiProblems.BadRequest($"top must be between 1 and {MaxRejectedSample}.");
        }
        var report = await ledger.GetAsync(id, ct);
        if (report is null)
        {
            return ApiProblems.NotFound($"No drop with id '{id}'.");
        }
        var rows = await rejectedRows.ReadAsync(id, top, ct) ?? [];
        return Results.Ok(new RejectedRowSample(id, report.Value.RowsRejected,
            [.. rows.Select(r => new MaskedRejectedRow(r.Line, r.Field, r.Reason, PersonalDataMask.MaskMessage(r.Message), PersonalDataMask.Mask(r.RawText)))]));
    }
}

public sealed record OverviewReport(DateTimeOffset GeneratedAt, int Days, DateTimeOffset Since, bool Truncated, DropTotals Drops,
    IReadOnlyList<DropDay> DropsByDay, IReadOnlyDictionary<string, long> RejectedByReason, IReadOnlyList<OverviewModel> Models,
    IReadOnlyList<OverviewAlert> Alerts);

public sealed record DropTotals(int Drops, int Completed, int Running, int Failed, int Rejected, long RowsRead, long RowsAccepted,
    long RowsRejected, long DuplicatesSkipped, long RowsFlagged, long ProfilesCreated, long ProfilesMerged);

public sealed record DropDay(DateOnly Day, int Drops, long RowsAccepted, long RowsRejected, long DuplicatesSkipped);

public sealed record OverviewModel(string Kind, string? ChampionVersion, DateTimeOffset? PromotedAt, string? Metric, double? Value,
    int Versions, string? NewestVersion);

/// <summary>Something a person should look at: <c>Subject</c> is <c>drop</c> (Ref = drop id) or <c>model</c> (Ref = kind).</summary>
public sealed record OverviewAlert(string Subject, string Severity, string Message, string Ref);

public sealed record RejectedRowSample(string DropId, long RowsRejected, IReadOnlyList<MaskedRejectedRow> Items);

public sealed record MaskedRejectedRow(long Line, string? Field, string Reason, string Message, string Raw);
