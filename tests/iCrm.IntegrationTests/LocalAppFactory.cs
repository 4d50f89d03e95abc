using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.IntegrationTests;

/// <summary>The whole app against the local stack, with the local triggers on (drop watcher, queue runner, scheduler).</summary>
public sealed class LocalAppFactory : WebApplicationFactory<Program>
{
    public Dictionary<string, string?> Settings { get; } = new(LocalStack.Settings())
    {
        ["LocalTriggers:Enabled"] = "true",
        ["LocalTriggers:DropPollInterval"] = "00:00:00.5",
        ["LocalTriggers:RetryDelay"] = "00:00:00.5",
        // Far away: tests start training over HTTP.
        ["TRAIN_SCHEDULE"] = "0 0 2 1 1 *",
    };

    /// <summary>Replaces services after the app registered its own (fault injection).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
        if (ConfigureServices is { } configure)
        {
            builder.ConfigureTestServices(configure);
        }
    }
}
