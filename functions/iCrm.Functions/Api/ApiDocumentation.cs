using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace iCrm.Functions.Api;

/// <summary>The OpenAPI document (<c>/api/openapi.json</c>, generated from the endpoints' metadata) and the browsable
/// reference page (<c>/api/reference</c>, Scalar, served with its script from the app itself).</summary>
public static class ApiDocumentation
{
    public const string DocumentPath = "/api/openapi.json";
    public const string ReferencePath = "/api/reference";

    public static IServiceCollection AddApiDocumentation(this IServiceCollection services) =>
        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "iCrm API",
                Version = "v1",
                Description = "Unified customer profiles, live scores with reasons, recommendations, segments, sentiment, model cards and " +
                    "ingestion reports. Errors are RFC 9457 ProblemDetails. In Azure every function except `/api/health` needs a function " +
                    "key (`x-functions-key` header or `code` query parameter; `/api/train` the admin key); locally `Security__ApiKey` " +
                    "(header `x-api-key`) and `Security__AdminKey` (header `x-admin-key`) guard the API when set.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["functionKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "x-functions-key",
                Description = "Azure Functions function key (or the `code` query parameter).",
            };
            document.Components.SecuritySchemes["localApiKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeys.ApiKeyHeader,
                Description = "Local runs: the value of Security__ApiKey, when set.",
            };
            document.Components.SecuritySchemes["localAdminKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = ApiKeys.AdminKeyHeader,
                Description = "Local runs: the value of Security__AdminKey, when set (POST /api/train).",
            };
            return Task.CompletedTask;
        }));

    public static void MapApiDocumentation(this WebApplication app)
    {
        app.MapOpenApi(DocumentPath);
        // Scalar serves its script (scalar.js) from the package itself; the default web fonts would come from Scalar's CDN,
        // so they are turned off and the page works offline with system fonts.
        app.MapScalarApiReference(ReferencePath, options => options
            .WithTitle("iCrm API")
            .WithOpenApiRoutePattern(DocumentPath)
            .DisableDefaultFonts())
            .Add(endpoint =>
            {
                // Each route needs its own function.json, and function names must match endpoint names.
                if (endpoint is RouteEndpointBuilder route && route.RoutePattern.RawText is { } raw)
                {
                    var name = raw.EndsWith(".aspnetcore.js", StringComparison.Ordinal) ? "ApiReferenceConfiguration"
                        : raw.EndsWith(".js", StringComparison.Ordinal) ? "ApiReferenceScript"
                        : raw.EndsWith(".svg", StringComparison.Ordinal) ? "ApiReferenceIcon"
                        : "ApiReference";
                    route.Metadata.Add(new EndpointNameMetadata(name));
                }
            });
    }
}
