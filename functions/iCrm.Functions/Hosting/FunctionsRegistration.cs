using iCrm.Azure;
using Microsoft.AspNetCore.Hosting;
using iCrm.Functions.Api;
using iCrm.Functions.LocalTriggers;

namespace iCrm.Functions.Hosting;

public static class FunctionsRegistration
{
    /// <summary>What the functions need under either host: iCrm's services and the API's helpers.</summary>
    public static IHostApplicationBuilder AddIcrmFunctions(this IHostApplicationBuilder builder)
    {
        builder.AddIcrmServices();
        builder.AddRequestLogging();
        builder.AddIcrmTelemetry();
        var services = builder.Services;
        services.AddProblemDetails();
        services.AddApiJson();
        services.AddSingleton<ApiDocumentation>();
        services.AddDependencyOutageAnswers();
        services.AddSingleton<CustomerLookup>();
        services.AddSingleton<CustomerQuery>();
        services.AddSingleton<TrainingJobs>();
        builder.AddApiAccess();
        return builder;
    }

    /// <summary>
    /// The plain ASP.NET Core host for runs without the Functions host: local.settings.json, the port (<c>ICRM_PORT</c>,
    /// default 7071, on 127.0.0.1), the functions, and (with <c>LocalTriggers__Enabled</c>) the drop watcher and the
    /// scheduler in place of Event Grid and the timer.
    /// </summary>
    public static WebApplicationBuilder AddIcrmLocalHost(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddLocalSettings(builder.Environment.ContentRootPath);
        var port = builder.Configuration[LocalHostSettings.Port] is { Length: > 0 } configured ? configured : LocalHostSettings.DefaultPort;
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.AddIcrmFunctions();

        var config = builder.Configuration;
        builder.Services.AddOptions<LocalTriggerOptions>().BindConfiguration(LocalTriggerOptions.Section)
            .PostConfigure<IConfiguration>((o, c) => o.TrainSchedule = c[SettingNames.TrainSchedule] is { Length: > 0 } schedule ? schedule : o.TrainSchedule)
            .Validate(o => o.DropPollInterval > TimeSpan.Zero && o.RetryDelay >= TimeSpan.Zero && o.MaxAttempts > 0,
                "LocalTriggers__DropPollInterval must be positive, LocalTriggers__RetryDelay not negative, LocalTriggers__MaxAttempts at least 1.")
            .Validate(o => o.ScoreWorkers is >= 1 and <= 64 && o.ScorePollInterval > TimeSpan.Zero && o.ScoreVisibilityTimeout > TimeSpan.Zero,
                "LocalTriggers__ScoreWorkers must be between 1 and 64, LocalTriggers__ScorePollInterval and LocalTriggers__ScoreVisibilityTimeout positive.")
            .ValidateOnStart();
        if (config.GetSection(LocalTriggerOptions.Section).GetValue(nameof(LocalTriggerOptions.Enabled), false))
        {
            builder.Services.AddHostedService<DropWatcher>();
            builder.Services.AddHostedService<TrainScheduler>();
            builder.Services.AddHostedService<ScoreSliceRunner>();
        }
        else
        {
            // Nothing would take slices off the score-slices queue: score them in this process after the run instead.
            builder.Services.AddSingleton<iCrm.Ml.Scoring.IScoreSliceQueue>(sp => new iCrm.Ml.Scoring.InProcessScoreSliceQueue(sp.GetRequiredService<iCrm.Ml.Scoring.SliceScorer>()));
        }
        return builder;
    }

    /// <summary>The HTTP functions at the routes their trigger attributes declare, behind the same limits and keys.</summary>
    public static WebApplication MapIcrmLocalHost(this WebApplication app)
    {
        app.UseRequestLogging();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestBodyLimit();
        app.UseRouting();
        app.UseLocalKeys();
        app.MapHttpFunctions(HttpFunctions.All);
        return app;
    }
}

public static class LocalHostSettings
{
    public const string Port = "ICRM_PORT";
    public const string DefaultPort = "7071";

    /// <summary>
    /// True when the Functions host started this process: it passes the worker its gRPC endpoint (command-line
    /// <c>--functions-uri</c> / <c>--host</c>, or <c>Functions__Worker__HostEndpoint</c>) and sets
    /// <c>FUNCTIONS_WORKER_RUNTIME</c>. Without them the isolated worker cannot start, so the app runs its own host.
    /// </summary>
    public static bool StartedByFunctionsHost(string[] args, Func<string, string?> environment) =>
        !string.IsNullOrEmpty(environment("FUNCTIONS_WORKER_RUNTIME"))
        && (args.Any(a => a.StartsWith("--functions-uri", StringComparison.Ordinal) || a.StartsWith("--host", StringComparison.Ordinal))
            || !string.IsNullOrEmpty(environment("Functions__Worker__HostEndpoint"))
            || !string.IsNullOrEmpty(environment("FUNCTIONS_URI")));
}
