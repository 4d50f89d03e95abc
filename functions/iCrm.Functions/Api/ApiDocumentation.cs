using System.Reflection;
using System.Text.Json.Serialization;
using iCrm.Functions.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace iCrm.Functions.Api;

/// <summary>
/// The OpenAPI document (<c>/api/openapi.json</c>) and the browsable reference page (<c>/api/reference</c>, Scalar, with
/// its script served by the app). Both come from a small in-process ASP.NET Core pipeline that maps the HTTP functions
/// exactly as local runs do (routes from their trigger attributes, descriptions from their attributes) and ASP.NET Core's
/// OpenAPI generator describes; the documentation functions below forward their request into it, under the Functions
/// host and locally alike.
/// </summary>
public sealed class ApiDocumentation : IAsyncDisposable
{
    public const string DocumentPath = "/api/openapi.json";
    public const string ReferencePath = "/api/reference";

    /// <summary>Descriptions of the tags the functions use.</summary>
    public static readonly IReadOnlyDictionary<string, string> Tags = new Dictionary<string, string>
    {
        ["Customers"] = "Unified 360° customer profiles: lists filtered by the last training run's predictions, lookup by id or by a source system's id, live scores and recommendations.",
        ["Scores"] = "Scoring on demand: stored customers in batches, what-if documents, and sentiment of texts.",
        ["Segments"] = "RFM segments and behavioural clusters with their size, value and churn rate.",
        ["Models"] = "The model registry: champions, model cards and versions per model kind.",
        ["Ingestion"] = "Reports of the data drops ingested from the drops container.",
        ["Audit"] = "The audit trail (privacy role): who read, changed, merged, exported or erased which customer, when and for what purpose; no personal data.",
        ["Overview"] = "The CRM at a glance for the dashboard: drops by day and by rejection reason, models and alerts.",
        ["Identity"] = "Identity resolution: candidate pairs the matcher held back for review instead of merging, with their evidence.",
        ["Training"] = "Training runs: start one (admin) and follow its progress.",
        ["Health"] = "Readiness of the customer store and the model registry.",
    };

    private readonly Lazy<(WebApplication App, RequestDelegate Pipeline)> _pipeline = new(Build);

    /// <summary>Serves a documentation request (the document, the page or one of its assets) from the documentation pipeline.</summary>
    public async Task ServeAsync(HttpContext context)
    {
        var (app, pipeline) = _pipeline.Value;
        var services = context.RequestServices;
        var endpoint = context.GetEndpoint();
        await using var scope = app.Services.CreateAsyncScope();
        context.RequestServices = scope.ServiceProvider;
        // Routing skips matching when an endpoint is already set (the function's own).
        context.SetEndpoint(null);
        context.Request.RouteValues.Clear();
        try
        {
            await pipeline(context);
        }
        finally
        {
            context.RequestServices = services;
            context.SetEndpoint(endpoint);
        }
    }

    /// <summary>Writes the OpenAPI document (as served at <see cref="DocumentPath"/>) to a stream, without a host: the
    /// app's <c>--openapi FILE</c> switch, which scripts/test.sh lints.</summary>
    public async Task WriteDocumentAsync(Stream output)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Path = DocumentPath;
        context.Response.Body = output;
        await ServeAsync(context);
        if (context.Response.StatusCode != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException($"The OpenAPI document could not be generated (status {context.Response.StatusCode}).");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_pipeline.IsValueCreated)
        {
            await _pipeline.Value.App.DisposeAsync();
        }
    }

    private static (WebApplication, RequestDelegate) Build()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(ApiDocumentation).Assembly.GetName().Name });
        // Never started: requests come in through ServeAsync. WebApplication still asks for a server's features.
        builder.Services.AddSingleton<IServer, NoServer>();
        builder.Services.AddRouting();
        builder.Services.AddApiJson();
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            Describe(document);
            return Task.CompletedTask;
        }));
        var app = builder.Build();
        app.UseRouting();
        app.MapHttpFunctions(HttpFunctions.All.Where(f => f.Method.GetCustomAttribute<ExcludeFromDescriptionAttribute>() is null));
        app.MapOpenApi(DocumentPath);
        // Scalar serves its script (scalar.js) from the package itself; the default web fonts would come from Scalar's CDN,
        // so they are turned off and the page works offline with system fonts.
        app.MapScalarApiReference(ReferencePath, options => options
            .WithTitle("iCrm API")
            .WithOpenApiRoutePattern(DocumentPath)
            .DisableDefaultFonts());
        app.UseEndpoints(_ => { });
        return (app, ((IApplicationBuilder)app).Build());
    }

    /// <summary>Info, security schemes applied per operation from each function's public marker or roles, query
    /// parameters the functions read, and tag descriptions.</summary>
    private static void Describe(OpenApiDocument document)
    {
        document.Info = new OpenApiInfo
        {
            Title = "iCrm API",
            Version = "v1",
            Description = "Unified customer profiles, live scores with reasons, recommendations, segments, sentiment, model cards, " +
                "ingestion reports and the audit trail. Errors are RFC 9457 ProblemDetails. Every operation except `/api/health` " +
                "needs one of the roles named in its description and in `x-icrm-roles` (reader, marketer, admin, privacy). A " +
                "service sends a role key (`Security__Keys__{name}__Secret`, holding the roles of `Security__Keys__{name}__Roles`) " +
                "in the `x-api-key` header, the `x-functions-key` header or the `code` query parameter; the app checks it (the " +
                "Functions host checks no key on these routes). In Azure with App Service authentication, a person signed in with " +
                "Microsoft Entra ID (browser session or a bearer token for the app registration) holding the app role needs no key. " +
                "401 without a valid key or sign-in (also for every call when a deployment in Azure has neither configured), " +
                "403 without the role. Readers and admins see contact fields masked. With no keys configured, a local run is open. " +
                "`purpose=` on a request is recorded in the audit trail.",
            License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" },
        };
        document.Servers = [new OpenApiServer { Url = "/", Description = "This app (Azure: https://<app>.azurewebsites.net; locally http://127.0.0.1:7071)" }];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        const string roleKey = "A role key of Security__Keys__{name}__Secret; its Security__Keys__{name}__Roles decide what it may call.";
        document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeys.ApiKeyHeader, Description = roleKey,
        };
        document.Components.SecuritySchemes["functionsKeyHeader"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeys.FunctionKeyHeader,
            Description = $"{roleKey} Same key as `x-api-key`, in the header clients of Azure Functions keys send (the app checks it, not the host).",
        };
        document.Components.SecuritySchemes["codeQuery"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Query, Name = ApiAccess.KeyQueryParameter,
            Description = $"{roleKey} Same key as `x-api-key`, as a query parameter (URLs end up in logs and histories: prefer a header).",
        };
        document.Components.SecuritySchemes["entraId"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
            Description = "In Azure only, where App Service authentication is configured: a Microsoft Entra ID access token for " +
                "the app registration (`api://<client id>`), or the browser session of `/.auth/login/aad`. The signed-in " +
                "principal's app roles (reader, marketer, admin, privacy) are the caller's roles.",
        };
        OpenApiSecurityRequirement Requirement(string scheme) =>
            new() { [new OpenApiSecuritySchemeReference(scheme, document)] = [] };

        var functions = HttpFunctions.All.ToDictionary(f => f.Name);
        foreach (var (_, path) in document.Paths)
        {
            foreach (var (_, operation) in path.Operations ?? [])
            {
                if (operation.OperationId is null || !functions.TryGetValue(operation.OperationId, out var function))
                {
                    continue;
                }
                // Any one scheme satisfies an operation (alternatives); an empty requirement means public.
                operation.Security = function.IsPublic
                    ? [new OpenApiSecurityRequirement()]
                    : [Requirement("apiKey"), Requirement("functionsKeyHeader"), Requirement("codeQuery"), Requirement("entraId")];
                if (!function.IsPublic)
                {
                    var roles = ApiAccess.RolesOf(function);
                    operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
                    operation.Extensions["x-icrm-roles"] = new JsonNodeExtension(new System.Text.Json.Nodes.JsonArray([.. roles.Select(r => (System.Text.Json.Nodes.JsonNode)ApiAccess.Name(r))]));
                    var line = $"Roles: {string.Join(", ", roles.Select(ApiAccess.Name))}.";
                    operation.Description = string.IsNullOrEmpty(operation.Description) ? line : $"{operation.Description}\n\n{line}";
                }
                // Route values bind to the function's string parameters by name (as the Functions host binds them).
                foreach (var routeValue in function.Method.GetParameters().Where(p => p.ParameterType == typeof(string) && function.Route.Contains('{' + p.Name + '}', StringComparison.Ordinal)))
                {
                    operation.Parameters ??= [];
                    if (operation.Parameters.Any(p => p.Name == routeValue.Name && p.In == ParameterLocation.Path))
                    {
                        continue;
                    }
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = routeValue.Name,
                        In = ParameterLocation.Path,
                        Required = true,
                        Description = PathParameterDescription(routeValue.Name!),
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                    });
                }
                foreach (var query in function.Method.GetCustomAttributes<QueryParameterAttribute>())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = query.Name,
                        In = ParameterLocation.Query,
                        Description = query.Description,
                        Schema = SchemaFor(query.Type),
                    });
                }
            }
        }
        document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Key, Description = t.Value }));
    }

    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull =>
            throw new NotSupportedException("The documentation pipeline is not a server.");

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }

    private static string PathParameterDescription(string name) => name switch
    {
        "source" => "The source system (1-64 letters, digits, '-' or '_').",
        "sourceId" => "The source system's own customer id (1-128 characters).",
        "kind" => "A model kind: churn, clv, segments, recommendations or sentiment.",
        _ => "1-64 letters, digits, '-' or '_'.",
    };

    private static OpenApiSchema SchemaFor(Type type) =>
        type == typeof(int) ? new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" }
        : type == typeof(double) ? new OpenApiSchema { Type = JsonSchemaType.Number, Format = "double" }
        : type == typeof(bool) ? new OpenApiSchema { Type = JsonSchemaType.Boolean }
        : new OpenApiSchema { Type = JsonSchemaType.String };
}

/// <summary>The documentation as functions: each forwards into <see cref="ApiDocumentation"/>.</summary>
public sealed class ApiReference(ApiDocumentation documentation)
{
    [Function("OpenApi")]
    [PublicEndpoint]
    [ExcludeFromDescription]
    public IResult OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest req) => Serve();

    [Function("ApiReference")]
    [PublicEndpoint]
    [ExcludeFromDescription]
    public IResult Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "reference/{documentName?}")] HttpRequest req) => Serve();

    [Function("ApiReferenceScript")]
    [PublicEndpoint]
    [ExcludeFromDescription]
    public IResult Script([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "reference/scalar.js")] HttpRequest req) => Serve();

    [Function("ApiReferenceConfiguration")]
    [PublicEndpoint]
    [ExcludeFromDescription]
    public IResult Configuration([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "reference/scalar.aspnetcore.js")] HttpRequest req) => Serve();

    [Function("ApiReferenceIcon")]
    [PublicEndpoint]
    [ExcludeFromDescription]
    public IResult Icon([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "reference/favicon.svg")] HttpRequest req) => Serve();

    private IResult Serve() => new Forwarded(documentation);

    private sealed class Forwarded(ApiDocumentation documentation) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => documentation.ServeAsync(httpContext);
    }
}

public static class ApiJson
{
    /// <summary>The API's JSON: camelCase enums, nulls left out.</summary>
    public static IServiceCollection AddApiJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase));
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
}
