using System.Security.Cryptography;
using System.Text;
using iCrm.Azure.Connections;
using iCrm.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Api;

/// <summary>
/// Local API keys. In Azure, function keys (each function's auth level) guard the routes before requests reach the
/// worker; locally, <c>Security__ApiKey</c> (header <c>x-api-key</c>) guards every function above anonymous and
/// <c>Security__AdminKey</c> (header <c>x-admin-key</c>) the admin ones, each only when set. The level comes from the
/// function's trigger attribute, so both hosts guard the same functions.
/// </summary>
public static class ApiKeys
{
    public const string ApiKeyHeader = "x-api-key";
    public const string AdminKeyHeader = "x-admin-key";

    /// <summary>Checks the keys of the matched function (after routing).</summary>
    public static IApplicationBuilder UseLocalKeys(this IApplicationBuilder app)
    {
        var keys = app.ApplicationServices.GetRequiredService<IOptionsMonitor<SecurityOptions>>();
        return app.Use(async (context, next) =>
        {
            var level = context.GetEndpoint()?.Metadata.GetMetadata<HttpFunction>()?.AuthLevel ?? AuthorizationLevel.Anonymous;
            if (level != AuthorizationLevel.Anonymous && !Matches(keys.CurrentValue.ApiKey, context.Request.Headers[ApiKeyHeader]))
            {
                await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Missing or wrong API key",
                    detail: $"Send the key in the '{ApiKeyHeader}' header.").ExecuteAsync(context);
                return;
            }
            if (level == AuthorizationLevel.Admin && !Matches(keys.CurrentValue.AdminKey, context.Request.Headers[AdminKeyHeader]))
            {
                await Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Admin key required",
                    detail: $"This operation needs the admin key in the '{AdminKeyHeader}' header.").ExecuteAsync(context);
                return;
            }
            await next(context);
        });
    }

    private static bool Matches(string? expected, string? supplied) =>
        string.IsNullOrEmpty(expected) || (supplied is not null &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(supplied)));
}
