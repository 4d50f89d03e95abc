using System.Collections.ObjectModel;
using System.Diagnostics;
using iCrm.Core.Diagnostics;
using iCrm.Core.Ingestion;
using iCrm.Functions.Tests.Api;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace iCrm.Functions.Tests;

/// <summary>Traces and metrics name routes, drops and reasons, never a value a caller or a drop sent.</summary>
public sealed class TelemetryTests : IDisposable
{
    private const string Email = "zebulonia.quist@example.test";
    private const string Phone = "+447700900123";
    private const string Surname = "Quistberg";
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_drop_and_a_training_run_trace_their_phases_and_record_promotion_metrics_without_personal_data()
    {
        var exported = new Captured<Activity>();
        var exportedMetrics = new Captured<Metric>();
        _app.Settings["Telemetry:Enabled"] = "true";
        // Only the app's own registration (AddIcrmTelemetry) subscribes to iCrm's sources and meters: this test adds exporters.
        var app = _app.With(s => s.AddOpenTelemetry()
            .WithTracing(t => t.AddInMemoryExporter(exported))
            .WithMetrics(m => m.AddInMemoryExporter(exportedMetrics)));
        _ = app.CreateClient();
        var pipeline = app.Services.GetRequiredService<IngestionPipeline>();
        _app.Drops.Put("web/customers/people.csv",
            $"customer_id,first_name,last_name,email,phone\n1,Zebulonia,{Surname},{Email},{Phone}\n2,Bad,Row,not-an-email,x\n");
        _app.Drops.Put("web/orders/history.csv", ApiTestKit.OrderHistoryCsv());

        // Listeners are process-wide and other test classes ingest and train at the same time: this test's spans are
        // told apart by the trace of a root started here (sampled, as the default parent-based sampler follows its parent).
        IngestionReport customers, orders;
        TrainingRunRecord run;
        List<Activity> spans;
        using (var root = new Activity("telemetry test").Start())
        {
            root.ActivityTraceFlags = ActivityTraceFlags.Recorded;
            customers = await pipeline.IngestAsync("web/customers/people.csv");
            orders = await pipeline.IngestAsync("web/orders/history.csv");
            await using var scope = app.Services.CreateAsyncScope();
            run = await ActivatorUtilities.CreateInstance<iCrm.Functions.Training>(scope.ServiceProvider).Train(new TimerInfo(), CancellationToken.None);
            spans = exported.Snapshot(s => s.TraceId == root.TraceId);
        }
        app.Services.GetRequiredService<TracerProvider>().ForceFlush();
        app.Services.GetRequiredService<MeterProvider>().ForceFlush();
        var metrics = exportedMetrics.Snapshot(_ => true);

        Assert.Equal(IngestionStatus.Completed, customers.Status);
        Assert.Equal(IngestionStatus.Completed, orders.Status);
        Assert.Equal(TrainingRunStatus.Succeeded, run.Status);
        var drop = Assert.Single(spans, s => s.DisplayName == "ingest drop" && (string?)s.GetTagItem("icrm.drop.entity") == "orders");
        var phases = spans.Where(s => s.ParentSpanId == drop.SpanId).Select(s => s.DisplayName).ToHashSet();
        Assert.Equal([IngestionTelemetry.Read, IngestionTelemetry.Resolve, IngestionTelemetry.Validate, IngestionTelemetry.Write], phases.Order());
        Assert.Equal(orders.Chunks, spans.Count(s => s.ParentSpanId == drop.SpanId && s.DisplayName == IngestionTelemetry.Write));
        Assert.Equal(orders.RowsRead, spans.Where(s => s.ParentSpanId == drop.SpanId && s.DisplayName == IngestionTelemetry.Validate)
            .Sum(s => (int)s.GetTagItem("icrm.rows")!));

        var trainRun = Assert.Single(spans, s => s.DisplayName == TrainingTelemetry.RunSpan);
        var churn = Assert.Single(spans, s => s.DisplayName == TrainingTelemetry.ModelSpan && (string?)s.GetTagItem("icrm.model.kind") == "churn");
        Assert.Equal(trainRun.SpanId, churn.ParentSpanId);
        Assert.Equal(TrainingTelemetry.Promoted, churn.GetTagItem("icrm.model.outcome"));
        Assert.Equal(
            [TrainingTelemetry.EvaluateSpan, TrainingTelemetry.PromoteSpan, TrainingTelemetry.PublishSpan, TrainingTelemetry.TrainSpan],
            spans.Where(s => s.ParentSpanId == churn.SpanId).Select(s => s.DisplayName).Order());
        var promotion = Assert.Single(metrics, m => m.Name == TrainingTelemetry.PromotionMetricName);
        Assert.Contains(MetricTags(promotion), t => t == $"{TrainingTelemetry.PromotionMetricName}:icrm.model.outcome=promoted");
        Assert.Contains(metrics, m => m.Name == TrainingTelemetry.DurationName);

        AssertNoPersonalData(spans, metrics);
    }

    [Fact]
    public async Task Spans_and_metrics_of_api_calls_and_drops_carry_no_personal_data()
    {
        // Background work of this and other tests' apps (the audit writer, the drop watcher) ends spans at any time: the
        // exporters write to locked collections, and the assertions read snapshots.
        var exportedSpans = new Captured<Activity>();
        var exportedMetrics = new Captured<Metric>();
        _app.Settings["Telemetry:Enabled"] = "true";
        var app = _app.With(s => s.AddOpenTelemetry()
            .WithTracing(t => t.AddInMemoryExporter(exportedSpans))
            .WithMetrics(m => m.AddInMemoryExporter(exportedMetrics)));
        var client = app.CreateClient();

        await client.GetAsync($"/api/customers/{Uri.EscapeDataString(Email)}?name={Surname}");
        await client.GetAsync($"/api/customers/by-source/web/{Uri.EscapeDataString(Phone)}");
        _app.Drops.Put("web/customers/people.csv",
            $"customer_id,first_name,last_name,email,phone\nC1,Zebulonia,{Surname},{Email},{Phone}\nC2,Bad,Row,not-an-email,x\n");
        var report = await app.Services.GetRequiredService<IngestionPipeline>().IngestAsync("web/customers/people.csv");
        app.Services.GetRequiredService<TracerProvider>().ForceFlush();
        app.Services.GetRequiredService<MeterProvider>().ForceFlush();
        var spans = exportedSpans.Snapshot(_ => true);
        var metrics = exportedMetrics.Snapshot(_ => true);

        Assert.Equal(2, report.RowsRead);
        Assert.Contains(spans, s => s.GetTagItem("url.path") as string == "/api/customers/{id}");
        Assert.Contains(spans, s => s.Source.Name == "iCrm.Ingestion" && (long?)s.GetTagItem("icrm.rows.read") == 2);
        Assert.Contains(metrics, m => m.Name == "icrm.ingestion.rows.read");
        Assert.Contains(metrics, m => m.Name == "icrm.ingestion.rows.rejected");
        AssertNoPersonalData(spans, metrics);
    }

    private static void AssertNoPersonalData(List<Activity> spans, List<Metric> metrics)
    {
        var texts = spans.SelectMany(s => s.TagObjects.Select(t => $"{t.Key}={t.Value}").Append(s.DisplayName).Concat(s.Events.Select(e => e.Name)))
            .Concat(metrics.SelectMany(MetricTags))
            .ToList();
        foreach (var secret in new[] { Email, Uri.EscapeDataString(Email), Phone, Uri.EscapeDataString(Phone), Surname, "Zebulonia", "people.csv" })
        {
            Assert.DoesNotContain(texts, t => t.Contains(secret, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>A collection exporters of other tests' apps may add to while this test reads it.</summary>
    private sealed class Captured<T> : Collection<T>
    {
        protected override void InsertItem(int index, T item)
        {
            lock (this)
            {
                base.InsertItem(index, item);
            }
        }

        public List<T> Snapshot(Func<T, bool> keep)
        {
            lock (this)
            {
                return [.. this.Where(keep)];
            }
        }
    }

    private static List<string> MetricTags(Metric metric)
    {
        var tags = new List<string>();
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            foreach (var tag in point.Tags)
            {
                tags.Add($"{metric.Name}:{tag.Key}={tag.Value}");
            }
        }
        return tags;
    }
}
