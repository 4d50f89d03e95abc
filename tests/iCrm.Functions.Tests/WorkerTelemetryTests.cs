using System.Diagnostics;
using iCrm.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace iCrm.Functions.Tests;

/// <summary>Under the Functions host (host.json <c>telemetryMode: OpenTelemetry</c>) the worker sends the invocation
/// telemetry itself, with the Functions worker defaults; the local host's telemetry is unchanged.</summary>
public sealed class WorkerTelemetryTests
{
    private const string WorkerSource = "Microsoft.Azure.Functions.Worker";

    [Fact]
    public void Under_the_Functions_host_the_worker_traces_its_invocations_and_tells_the_host_it_does()
    {
        var functions = FunctionsApplication.CreateBuilder([]);
        functions.Configuration["Telemetry:Enabled"] = "true";
        var spans = new List<Activity>();

        functions.AddIcrmTelemetry();
        functions.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(spans));

        using var services = functions.Services.BuildServiceProvider();
        Assert.Equal(bool.TrueString, services.GetRequiredService<IOptions<WorkerOptions>>().Value.Capabilities["WorkerOpenTelemetryEnabled"]);
        Assert.Contains(WorkerSpans(services, spans), s => s.Source.Name == WorkerSource);
        var resource = services.GetRequiredService<TracerProvider>().GetResource();
        // The worker's resource detector (cloud.* attributes come from the app settings Azure sets).
        Assert.Contains(resource.Attributes, a => a.Key == "ai.sdk.prefix" && a.Value is string prefix && prefix.StartsWith("dotnetiso:", StringComparison.Ordinal));
    }

    [Fact]
    public void The_local_host_adds_no_Functions_worker_telemetry()
    {
        var local = Host.CreateApplicationBuilder();
        local.Configuration["Telemetry:Enabled"] = "true";
        var spans = new List<Activity>();

        local.AddIcrmTelemetry();
        local.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(spans));

        using var services = local.Services.BuildServiceProvider();
        Assert.DoesNotContain(WorkerSpans(services, spans), s => s.Source.Name == WorkerSource);
        Assert.Contains(spans, s => s.Source.Name == "iCrm.Test");
        Assert.DoesNotContain(services.GetRequiredService<TracerProvider>().GetResource().Attributes, a => a.Key == "ai.sdk.prefix");
    }

    /// <summary>Starts one span on the worker's source and one on an iCrm source, and returns what was exported.</summary>
    private static List<Activity> WorkerSpans(IServiceProvider services, List<Activity> spans)
    {
        var tracer = services.GetRequiredService<TracerProvider>();
        using (var worker = new ActivitySource(WorkerSource))
        using (var icrm = new ActivitySource("iCrm.Test"))
        {
            worker.StartActivity("Invoke")?.Dispose();
            icrm.StartActivity("step")?.Dispose();
        }
        tracer.ForceFlush();
        return spans;
    }
}
