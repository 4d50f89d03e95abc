using System.Text.Json.Serialization;
using iCrm.Azure;
using iCrm.Functions.Api;
using iCrm.Functions.Invocation;
using iCrm.Functions.LocalTriggers;

namespace iCrm.Functions.Hosting;

public static class FunctionsRegistration
{
    /// <summary>Settings, the custom-handler port, iCrm's services, the HTTP API and (locally) the trigger runner.</summary>
    public static WebApplicationBuilder AddIcrmFunctions(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddLocalSettings(builder.Environment.ContentRootPath);
        // The Functions host tells a custom handler which port to listen on.
        if (builder.Configuration["FUNCTIONS_CUSTOMHANDLER_PORT"] is { Length: > 0 } port)
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }

        builder.AddIcrmServices();
        builder.AddRequestLogging();
        builder.AddIcrmTelemetry();
        var services = builder.Services;
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // Parameter binding failures reach the client as a bare 400 (the framework logs them at Debug, without values).
            if (context.ProblemDetails.Status == StatusCodes.Status400BadRequest && context.ProblemDetails.Detail is null)
            {
                context.ProblemDetails.Detail = "A route or query parameter has the wrong type, or a required one is missing: see /api/openapi.json.";
            }
        });
        // Same answer in every environment: a bad parameter is the caller's 400, not an exception (and not a 500 in Development).
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = false);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddApiDocumentation();
        services.AddDependencyOutageAnswers();
        services.AddSingleton<FunctionInvoker>();
        services.AddSingleton<CustomerLookup>();
        services.AddSingleton<CustomerQuery>();
        services.AddSingleton<TrainingJobs>();

        var config = builder.Configuration;
        services.AddOptions<LocalTriggerOptions>().BindConfiguration(LocalTriggerOptions.Section)
            .PostConfigure<IConfiguration>((o, c) => o.TrainSchedule = c[SettingNames.TrainSchedule] is { Length: > 0 } schedule ? schedule : o.TrainSchedule)
            .Validate(o => o.DropPollInterval > TimeSpan.Zero && o.RetryDelay >= TimeSpan.Zero && o.MaxDequeueCount > 0,
                "LocalTriggers__DropPollInterval must be positive, LocalTriggers__RetryDelay not negative, LocalTriggers__MaxDequeueCount at least 1.")
            .ValidateOnStart();
        if (config.GetSection(LocalTriggerOptions.Section).GetValue(nameof(LocalTriggerOptions.Enabled), false))
        {
            services.AddHostedService<DropWatcher>();
            services.AddHostedService<IngestQueueRunner>();
            services.AddHostedService<TrainScheduler>();
        }
        return builder;
    }

    public static WebApplication MapIcrmFunctions(this WebApplication app)
    {
        app.UseRequestLogging();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestBodyLimit();

        // The host's readiness probe: any answer to GET / will do.
        app.MapGet("/", () => Results.Ok(new { service = "iCrm", status = "ready" })).ExcludeFromDescription();

        // Non-HTTP triggers, posted by the Functions host per the custom-handler contract.
        foreach (var name in new[] { FunctionNames.Ingest, FunctionNames.Train })
        {
            app.MapPost($"/{name}", async (InvocationRequest request, FunctionInvoker invoker, CancellationToken ct) =>
            {
                var result = await invoker.InvokeAsync(name, request, ct);
                return Results.Json(result.Response, statusCode: result.Succeeded ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError);
            }).ExcludeFromDescription();
        }

        app.MapApiDocumentation();
        var api = app.MapGroup("/api");
        api.MapHealthEndpoint();
        var secured = api.MapGroup("").RequireApiKey();
        secured.MapCustomerEndpoints();
        secured.MapScoringEndpoints();
        secured.MapOperationsEndpoints();
        return app;
    }
}
