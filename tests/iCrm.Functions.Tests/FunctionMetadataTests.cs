using System.Text.Json;
using System.Text.RegularExpressions;
using iCrm.Functions.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.Functions.Tests;

/// <summary>
/// The functions.metadata the Worker SDK generates from the [Function] attributes (what the Functions host loads) and the
/// routes the app serves without a host must agree: same functions, routes, methods and auth levels (all anonymous: the
/// app checks roles), every route of the local app reachable through a function, and the non-HTTP triggers bound as Azure
/// needs them.
/// </summary>
public sealed partial class FunctionMetadataTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private sealed record Trigger(string Function, JsonElement Binding);

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "iCrm.Functions.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Repository root (iCrm.Functions.sln) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The app's build output of the same configuration as this test assembly (bin/{Configuration}/net10.0).</summary>
    private static string AppOutput()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        return Path.Combine(RepositoryRoot(), "functions", "iCrm.Functions", "bin", configuration, "net10.0");
    }

    private static List<Trigger> Triggers()
    {
        var path = Path.Combine(AppOutput(), "functions.metadata");
        Assert.True(File.Exists(path), $"The Worker SDK writes {path} when it builds the app");
        using var metadata = JsonDocument.Parse(File.ReadAllText(path));
        return [.. metadata.RootElement.EnumerateArray().Select(f => new Trigger(f.GetProperty("name").GetString()!,
            f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "In"
                && b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal)).Clone()))];
    }

    private static List<(string Name, string Method, string Route, string AuthLevel)> MetadataRoutes() =>
    [
        .. Triggers().Where(t => t.Binding.GetProperty("type").GetString() == "httpTrigger")
            .SelectMany(t => t.Binding.GetProperty("methods").EnumerateArray().Select(m => (t.Function, m.GetString()!.ToUpperInvariant(),
                Normalize($"{HttpFunctions.RoutePrefix}/{t.Binding.GetProperty("route").GetString()}"), t.Binding.GetProperty("authLevel").GetString()!.ToLowerInvariant()))),
    ];

    /// <summary>Every route the local app serves, with the function (and its auth level) each endpoint calls.</summary>
    private List<(string Name, string Method, string Route, string AuthLevel)> LocalRoutes()
    {
        _ = _app.CreateClient();
        return
        [
            .. _app.Services.GetRequiredService<IEnumerable<EndpointDataSource>>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
                .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m =>
                    (e.Metadata.GetMetadata<HttpFunction>()?.Name ?? "(not a function)", m.ToUpperInvariant(), Normalize(e.RoutePattern.RawText!),
                        e.Metadata.GetMetadata<HttpFunction>()?.AuthLevel.ToString().ToLowerInvariant() ?? "?"))),
        ];
    }

    [Fact]
    public void The_generated_metadata_and_the_local_routes_list_the_same_http_functions()
    {
        var metadata = MetadataRoutes().Order().ToList();
        var local = LocalRoutes().Order().ToList();

        Assert.Equal(metadata, local);
        Assert.Equal(33, Triggers().Count);
    }

    [Fact]
    public void Every_route_is_under_api_and_anonymous_at_the_host_so_that_the_app_decides_who_may_call()
    {
        var routes = MetadataRoutes();

        Assert.All(routes, r => Assert.StartsWith("api/", r.Route, StringComparison.Ordinal));
        // A function or admin level would make the host demand a key before the app's check, refusing people signed in
        // with Entra ID (the host does not let App Service authentication stand in for a key).
        Assert.All(routes, r => Assert.Equal("anonymous", r.AuthLevel));
        // Which of them are open is the app's marker, and these are the same functions as before the move.
        Assert.Equal(["ApiReference", "ApiReferenceConfiguration", "ApiReferenceIcon", "ApiReferenceScript", "Dashboard", "Health", "OpenApi"],
            HttpFunctions.All.Where(f => f.IsPublic).Select(f => f.Name).Order());
        Assert.Equal(HttpFunctions.All.Select(f => f.Name).Order(), routes.Select(r => r.Name).Distinct().Order());
    }

    [Fact]
    public void Ingest_is_an_Event_Grid_blob_trigger_on_drops_through_IcrmStorage_and_Train_a_timer_on_TRAIN_SCHEDULE()
    {
        var triggers = Triggers().ToDictionary(t => t.Function, t => t.Binding);

        var ingest = triggers["Ingest"];
        Assert.Equal("blobTrigger", ingest.GetProperty("type").GetString());
        Assert.Equal("drops/{source}/{entity}/{name}", ingest.GetProperty("path").GetString());
        Assert.Equal("EventGrid", ingest.GetProperty("source").GetString());
        Assert.Equal(iCrm.Azure.SettingNames.StoragePrefix, ingest.GetProperty("connection").GetString());
        var train = triggers["Train"];
        Assert.Equal("timerTrigger", train.GetProperty("type").GetString());
        Assert.Equal("%TRAIN_SCHEDULE%", train.GetProperty("schedule").GetString());
    }

    [Fact]
    public void ScoreSlice_is_a_queue_trigger_on_score_slices_through_IcrmStorage_with_five_attempts()
    {
        var slice = Triggers().Single(t => t.Function == nameof(ScoreSlice)).Binding;

        Assert.Equal("queueTrigger", slice.GetProperty("type").GetString());
        Assert.Equal(iCrm.Azure.ResourceNames.ScoreSlicesQueue, slice.GetProperty("queueName").GetString());
        Assert.Equal(iCrm.Azure.SettingNames.StoragePrefix, slice.GetProperty("connection").GetString());
        Assert.Equal(ScoreSlice.MaxAttempts, Ingest.MaxAttempts); // one host.json maxDequeueCount serves both
    }

    [Fact]
    public void Host_json_is_an_isolated_worker_host_with_the_api_prefix_and_five_attempts_before_poison()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppOutput(), "host.json")));
        var root = host.RootElement;

        Assert.False(root.TryGetProperty("customHandler", out _), "a custom handler section would make the host start the app as a custom handler");
        Assert.False(root.TryGetProperty("extensionBundle", out _), "the isolated worker's extensions come from its build, not a bundle");
        Assert.Equal(HttpFunctions.RoutePrefix, root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.Equal(Ingest.MaxAttempts, root.GetProperty("extensions").GetProperty("queues").GetProperty("maxDequeueCount").GetInt32());
    }

    /// <summary>Route templates compared by shape: parameter names and constraints do not matter.</summary>
    private static string Normalize(string route) => ParameterPattern().Replace(route.Trim('/').ToLowerInvariant(), "{}");

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex ParameterPattern();
}
