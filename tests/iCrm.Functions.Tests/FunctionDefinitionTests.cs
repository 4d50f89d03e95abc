using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.Functions.Tests;

/// <summary>function.json files and the app's routes must agree: every API route reachable through a function, and no
/// function naming something the app does not serve.</summary>
public sealed partial class FunctionDefinitionTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private sealed record FunctionDefinition(string Name, JsonElement Trigger);

    private static List<FunctionDefinition> Definitions()
    {
        // The build output is laid out like the publish folder: host.json at the root, one folder per function.
        var root = AppContext.BaseDirectory;
        Assert.True(File.Exists(Path.Combine(root, "host.json")), "host.json must be at the root of the function app folder");
        return Directory.GetDirectories(root)
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .Select(d => new FunctionDefinition(Path.GetFileName(d),
                JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "function.json"))).RootElement.GetProperty("bindings")[0].Clone()))
            .ToList();
    }

    private List<(string Name, string Method, string Route)> AppRoutes()
    {
        _ = _app.CreateClient();
        var sources = _app.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        return sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.TrimStart('/').StartsWith("api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m =>
                (e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "OpenApi", m.ToUpperInvariant(), Normalize(e.RoutePattern.RawText!))))
            .ToList();
    }

    private static List<(string Name, string Method, string Route)> FunctionRoutes() =>
        Definitions().Where(d => d.Trigger.GetProperty("type").GetString() == "httpTrigger")
            .SelectMany(d => d.Trigger.GetProperty("methods").EnumerateArray().Select(m =>
                (d.Name, m.GetString()!.ToUpperInvariant(), Normalize("api/" + d.Trigger.GetProperty("route").GetString()))))
            .ToList();

    [Fact]
    public void Every_API_route_is_reachable_through_a_function()
    {
        var functions = FunctionRoutes();
        var missing = AppRoutes().Where(r => !functions.Any(f => f.Method == r.Method && f.Route == r.Route)).ToList();
        Assert.True(missing.Count == 0, "Routes without a function.json: " + string.Join(", ", missing.Select(m => $"{m.Method} {m.Route}")));
    }

    [Fact]
    public void Every_http_function_names_a_route_and_endpoint_the_app_serves()
    {
        var app = AppRoutes();
        var unserved = FunctionRoutes().Where(f => !app.Any(r => r.Method == f.Method && r.Route == f.Route && r.Name == f.Name)).ToList();
        Assert.True(unserved.Count == 0, "Functions the app does not serve: " + string.Join(", ", unserved.Select(u => $"{u.Name} {u.Method} {u.Route}")));
    }

    [Fact]
    public void Every_non_http_function_is_served_by_the_invocation_endpoint()
    {
        var others = Definitions().Where(d => d.Trigger.GetProperty("type").GetString() != "httpTrigger").Select(d => d.Name).Order().ToList();
        Assert.Equal(["Ingest", "Train"], others);
        _ = _app.CreateClient();
        var posted = _app.Services.GetRequiredService<IEnumerable<EndpointDataSource>>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText!.Trim('/')).ToHashSet();
        Assert.All(others, name => Assert.Contains(name, posted));
    }

    [Fact]
    public void Ingest_listens_on_ingest_events_through_the_IcrmStorage_connection_and_Train_on_the_schedule_setting()
    {
        var definitions = Definitions().ToDictionary(d => d.Name);
        var ingest = definitions["Ingest"].Trigger;
        Assert.Equal("queueTrigger", ingest.GetProperty("type").GetString());
        Assert.Equal(iCrm.Azure.ResourceNames.IngestQueue, ingest.GetProperty("queueName").GetString());
        Assert.Equal(iCrm.Azure.SettingNames.StoragePrefix, ingest.GetProperty("connection").GetString());
        var train = definitions["Train"].Trigger;
        Assert.Equal("timerTrigger", train.GetProperty("type").GetString());
        Assert.Equal("%TRAIN_SCHEDULE%", train.GetProperty("schedule").GetString());
    }

    [Fact]
    public void Host_json_configures_the_custom_handler_and_queue_settings()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json")));
        var root = host.RootElement;
        Assert.Equal("iCrm.Functions", root.GetProperty("customHandler").GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.True(root.GetProperty("customHandler").GetProperty("enableProxyingHttpRequest").GetBoolean());
        Assert.Equal("[4.*, 5.0.0)", root.GetProperty("extensionBundle").GetProperty("version").GetString());
        var queues = root.GetProperty("extensions").GetProperty("queues");
        Assert.Equal("none", queues.GetProperty("messageEncoding").GetString());
        Assert.Equal(1, queues.GetProperty("batchSize").GetInt32());
        Assert.Equal(5, queues.GetProperty("maxDequeueCount").GetInt32());
    }

    /// <summary>Route templates compared by shape: parameter names and constraints do not matter.</summary>
    private static string Normalize(string route) => ParameterPattern().Replace(route.Trim('/').ToLowerInvariant(), "{}");

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex ParameterPattern();
}
