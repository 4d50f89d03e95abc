using System.Diagnostics;
using iCrm.Core.Ingestion;
using iCrm.Functions.Tests.Api;
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
    public async Task Spans_and_metrics_of_api_calls_and_drops_carry_no_personal_data()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        _app.Settings["Telemetry:Enabled"] = "true";
        var app = _app.With(s => s.AddOpenTelemetry()
            .WithTracing(t => t.AddInMemoryExporter(spans))
            .WithMetrics(m => m.AddInMemoryExporter(metrics)));
        var client = app.CreateClient();

        await client.GetAsync($"/api/customers/{Uri.EscapeDataString(Email)}?name={Surname}");
        await client.GetAsync($"/api/customers/by-source/web/{Uri.EscapeDataString(Phone)}");
        _app.Drops.Put("web/customers/people.csv",
            $"customer_id,first_name,last_name,email,phone\nC1,Zebulonia,{Surname},{Email},{Phone}\nC2,Bad,Row,not-an-email,x\n");
        var report = await app.Services.GetRequiredService<IngestionPipeline>().IngestAsync("web/customers/people.csv");
        app.Services.GetRequiredService<TracerProvider>().ForceFlush();
        app.Services.GetRequiredService<MeterProvider>().ForceFlush();

        Assert.Equal(2, report.RowsRead);
        Assert.Contains(spans, s => s.GetTagItem("url.path") as string == "/api/customers/{id}");
        Assert.Contains(spans, s => s.Source.Name == "iCrm.Ingestion" && (long?)s.GetTagItem("icrm.rows.read") == 2);
        Assert.Contains(metrics, m => m.Name == "icrm.ingestion.rows.read");
        Assert.Contains(metrics, m => m.Name == "icrm.ingestion.rows.rejected");
        var texts = spans.SelectMany(s => s.TagObjects.Select(t => $"{t.Key}={t.Value}").Append(s.DisplayName).Concat(s.Events.Select(e => e.Name)))
            .Concat(metrics.SelectMany(MetricTags))
            .ToList();
        foreach (var secret in new[] { Email, Uri.EscapeDataString(Email), Phone, Uri.EscapeDataString(Phone), Surname, "Zebulonia", "people.csv" })
        {
            Assert.DoesNotContain(texts, t => t.Contains(secret, StringComparison.OrdinalIgnoreCase));
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
