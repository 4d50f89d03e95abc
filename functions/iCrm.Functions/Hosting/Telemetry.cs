using Azure.Monitor.OpenTelemetry.AspNetCore;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using OpenTelemetry.Instrumentation.AspNetCore;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace iCrm.Functions.Hosting;

/// <summary>
/// OpenTelemetry for iCrm's own sources and meters (<c>iCrm.*</c>: drops, scoring) and the API's requests. Exporters:
/// Azure Monitor when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (in Azure, with host.json
/// <c>telemetryMode: OpenTelemetry</c>), OTLP when <c>Telemetry__OtlpEndpoint</c> is set, the console when
/// <c>Telemetry__Console=true</c>; with none of them nothing is collected. Request spans carry the route template in
/// <c>url.path</c>, never the path a caller sent (ids may be emails) nor its query. Under the Functions host (a
/// <see cref="FunctionsApplicationBuilder"/>) the worker's defaults are added too: the host then leaves the invocation
/// telemetry to the worker, and the resource names the function app.
/// </summary>
public static class Telemetry
{
    public const string Section = "Telemetry";

    public static IHostApplicationBuilder AddIcrmTelemetry(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var appInsights = !string.IsNullOrWhiteSpace(config["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        var otlp = config[$"{Section}:OtlpEndpoint"] is { Length: > 0 } endpoint ? new Uri(endpoint) : null;
        var console = config.GetValue($"{Section}:Console", false);
        if (!appInsights && otlp is null && !console && !config.GetValue($"{Section}:Enabled", false))
        {
            return builder;
        }

        builder.Services.Configure<AspNetCoreTraceInstrumentationOptions>(o =>
        {
            o.RecordException = false; // exception messages can quote request paths
            o.EnrichWithHttpResponse = (activity, response) =>
            {
                var route = (response.HttpContext.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
                activity.SetTag("url.path", route ?? "(no route)");
                activity.SetTag("url.query", null);
                activity.SetTag("url.full", null);
            };
        });
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithTracing(t =>
            {
                t.AddSource("iCrm.*");
                if (!appInsights)
                {
                    t.AddAspNetCoreInstrumentation(); // UseAzureMonitor adds it itself
                }
                if (otlp is not null)
                {
                    t.AddOtlpExporter(o => o.Endpoint = otlp);
                }
                if (console)
                {
                    t.AddConsoleExporter();
                }
            })
            .WithMetrics(m =>
            {
                m.AddMeter("iCrm.*");
                if (otlp is not null)
                {
                    m.AddOtlpExporter(o => o.Endpoint = otlp);
                }
                if (console)
                {
                    m.AddConsoleExporter();
                }
            });
        if (appInsights)
        {
            telemetry.UseAzureMonitor();
        }
        if (builder is FunctionsApplicationBuilder)
        {
            telemetry.UseFunctionsWorkerDefaults();
        }
        return builder;
    }
}
