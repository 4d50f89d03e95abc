using System.Security.Cryptography;
using System.Text;
using iCrm.Azure.Connections;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Api;

/// <summary>
/// Local API keys. In Azure, function keys (authLevel function/admin) guard the routes before requests reach the app;
/// locally, <c>Security__ApiKey</c> (header <c>x-api-key</c>) and <c>Security__AdminKey</c> (header <c>x-admin-key</c>) do,
/// each only when set.
/// </summary>
public static class ApiKeys
{
    public const string ApiKeyHeader = "x-api-key";
    public const string AdminKeyHeader = "x-admin-key";

    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var keys = context.HttpContext.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value;
            return Matches(keys.ApiKey, context.HttpContext.Request.Headers[ApiKeyHeader])
                ? await next(context)
                : Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Missing or wrong API key",
                    detail: $"Send the key in the '{ApiKeyHeader}' header.");
        });

    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var keys = context.HttpContext.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value;
            return Matches(keys.AdminKey, context.HttpContext.Request.Headers[AdminKeyHeader])
                ? await next(context)
                : Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Admin key required",
                    detail: $"This operation needs the admin key in the '{AdminKeyHeader}' header.");
        });

    private static bool Matches(string? expected, string? supplied) =>
        string.IsNullOrEmpty(expected) || (supplied is not null &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(supplied)));
}
