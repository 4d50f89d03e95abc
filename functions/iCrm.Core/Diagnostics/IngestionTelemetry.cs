using System.Diagnostics;
using System.Diagnostics.Metrics;
using iCrm.Core.Ingestion;

namespace iCrm.Core.Diagnostics;

/// <summary>
/// Traces and metrics of ingestion, with System.Diagnostics only (the host picks them up by name, <c>iCrm.*</c>).
/// Attributes name the drop id (a hash), the source channel, the entity, the status and rejection reasons: never a
/// value from a row.
/// </summary>
public static class IngestionTelemetry
{
    public const string Name = "iCrm.Ingestion";

    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> RowsRead = Meter.CreateCounter<long>("icrm.ingestion.rows.read", "{row}", "Rows read from drops.");
    private static readonly Counter<long> RowsAccepted = Meter.CreateCounter<long>("icrm.ingestion.rows.accepted", "{row}", "Rows applied to profiles.");
    private static readonly Counter<long> RowsRejected = Meter.CreateCounter<long>("icrm.ingestion.rows.rejected", "{row}", "Rows quarantined, by reason.");
    private static readonly Histogram<double> DropDuration = Meter.CreateHistogram<double>("icrm.ingestion.drop.duration", "s", "Time to ingest one drop.");

    /// <summary>The span of one drop (read, validate, resolve and write happen inside it).</summary>
    public static Activity? StartDrop(string blobPath) =>
        Source.StartActivity("ingest drop", ActivityKind.Internal)?.SetTag("icrm.drop.entity", EntityOf(blobPath));

    /// <summary>
    /// A child span of the drop for one phase of one batch or chunk: <see cref="Read"/> and <see cref="Validate"/> per batch
    /// read, <see cref="Resolve"/> and <see cref="Write"/> per chunk applied. Never per row: a drop of a million rows in
    /// chunks of thousands makes hundreds of spans. Without a listener this returns null and costs a flag check.
    /// </summary>
    public static Activity? StartPhase(string phase, int rows, int? chunk = null)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var activity = Source.StartActivity(phase, ActivityKind.Internal)?.SetTag("icrm.rows", rows);
        if (chunk is { } index)
        {
            activity?.SetTag("icrm.chunk", index);
        }
        return activity;
    }

    public const string Read = "ingest read";
    public const string Validate = "ingest validate";
    public const string Resolve = "ingest resolve";
    public const string Write = "ingest write";

    /// <summary>Records a finished drop's figures on the current span and the meters.</summary>
    public static void Record(IngestionReport report)
    {
        var entity = new KeyValuePair<string, object?>("icrm.drop.entity", report.Entity);
        var status = new KeyValuePair<string, object?>("icrm.drop.status", report.Status.ToString());
        RowsRead.Add(report.RowsRead, entity);
        RowsAccepted.Add(report.RowsAccepted, entity);
        foreach (var (reason, count) in report.RejectedByReason)
        {
            RowsRejected.Add(count, entity, new KeyValuePair<string, object?>("icrm.rejection.reason", reason));
        }
        DropDuration.Record(report.DurationSeconds, entity, status);
        if (Activity.Current is { } activity && activity.Source == Source)
        {
            activity.SetTag("icrm.drop.id", report.Id)
                .SetTag("icrm.drop.source", report.Source)
                .SetTag("icrm.drop.status", report.Status.ToString())
                .SetTag("icrm.rows.read", report.RowsRead)
                .SetTag("icrm.rows.accepted", report.RowsAccepted)
                .SetTag("icrm.rows.rejected", report.RowsRejected);
            if (report.Status is IngestionStatus.Failed)
            {
                activity.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    // drops/{source}/{entity}/{file}: the entity folder only (file names are the sender's and may say anything).
    private static string EntityOf(string blobPath) =>
        blobPath.Split('/') is { Length: >= 3 } parts ? parts[^2] : "unknown";
}
