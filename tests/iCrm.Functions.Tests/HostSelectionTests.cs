using iCrm.Functions.Hosting;

namespace iCrm.Functions.Tests;

/// <summary>Which host Program.cs builds: the isolated worker only when the Functions host started the process.</summary>
public sealed class HostSelectionTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Without_the_host_settings_the_app_runs_its_own_ASP_NET_Core_host()
    {
        Assert.False(LocalHostSettings.StartedByFunctionsHost([], Environment()));
        // A worker runtime setting alone (local.settings.json copied into the environment) names no host to talk to.
        Assert.False(LocalHostSettings.StartedByFunctionsHost([], Environment(("FUNCTIONS_WORKER_RUNTIME", "dotnet-isolated"))));
    }

    [Fact]
    public void Started_by_the_Functions_host_with_its_gRPC_endpoint_the_app_is_the_isolated_worker()
    {
        Assert.True(LocalHostSettings.StartedByFunctionsHost([], Environment(("FUNCTIONS_WORKER_RUNTIME", "dotnet-isolated"),
            ("Functions__Worker__HostEndpoint", "http://127.0.0.1:50051"))));
        Assert.True(LocalHostSettings.StartedByFunctionsHost(["--functions-uri", "http://127.0.0.1:50051/"],
            Environment(("FUNCTIONS_WORKER_RUNTIME", "dotnet-isolated"))));
    }
}
