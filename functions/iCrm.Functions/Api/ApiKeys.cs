using iCrm.Functions.Hosting;

namespace iCrm.Functions.Api;

/// <summary>
/// The headers API keys arrive in, and the local host's role check. Keys are named and carry roles
/// (<c>Security__Keys__{name}__Secret</c> / <c>__Roles</c>); <see cref="ApiAccess"/> decides. A function's
/// <see cref="PublicEndpointAttribute"/> or <see cref="RequiresRoleAttribute"/> says who may call it, so both hosts guard
/// the same functions the same way.
/// </summary>
public static class ApiKeys
{
    public const string ApiKeyHeader = "x-api-key";

    /// <summary>The header of the admin key from before roles; still read, so old clients keep working.</summary>
    public const string AdminKeyHeader = "x-admin-key";

    /// <summary>The Functions host's key header, still read for role keys: clients written for function keys keep working
    /// once their secret is configured as a role key (the host itself checks no key on the API's anonymous routes).</summary>
    public const string FunctionKeyHeader = "x-functions-key";

    /// <summary>Checks the caller's roles for the matched function (after routing).</summary>
    public static IApplicationBuilder UseLocalKeys(this IApplicationBuilder app)
    {
        var access = app.ApplicationServices.GetRequiredService<ApiAccess>();
        return app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<HttpFunction>() is { } function && access.Check(context, function) is { } refusal)
            {
                await refusal.ExecuteAsync(context);
                return;
            }
            await next(context);
        });
    }
}
