using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using iCrm.Azure.Connections;
using iCrm.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Api;

/// <summary>One configured API key: its name (what the audit trail records), the SHA-256 digest of its secret, its roles.</summary>
public sealed record ApiKeyEntry(string Name, byte[] Digest, IReadOnlyList<ApiRole> Roles);

/// <summary>
/// The API keys of <c>Security__Keys__*</c> (plus the two keys from before roles), hashed once at start so that a request's
/// key is compared digest to digest in constant time and the secrets themselves are not kept in memory longer than binding.
/// </summary>
public sealed partial class ApiKeyRing
{
    public const string LegacyApiKeyName = "api-key";
    public const string LegacyAdminKeyName = "admin-key";

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex KeyName();

    public IReadOnlyList<ApiKeyEntry> Keys { get; }

    public ApiKeyRing(SecurityOptions options)
    {
        var keys = new List<ApiKeyEntry>();
        foreach (var (name, key) in options.Keys)
        {
            if (!string.IsNullOrEmpty(key.Secret))
            {
                keys.Add(new ApiKeyEntry(name, Digest(key.Secret), ParseRoles(name, key.Roles, out _)));
            }
        }
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            keys.Add(new ApiKeyEntry(LegacyApiKeyName, Digest(options.ApiKey), [ApiRole.Reader, ApiRole.Marketer]));
        }
        if (!string.IsNullOrEmpty(options.AdminKey))
        {
            keys.Add(new ApiKeyEntry(LegacyAdminKeyName, Digest(options.AdminKey), [ApiRole.Admin]));
        }
        Keys = keys;
    }

    public bool IsEmpty => Keys.Count == 0;

    /// <summary>The keys whose secret is <paramref name="supplied"/>: every digest is compared, so the time taken does not
    /// tell which key (if any) matched.</summary>
    public IEnumerable<ApiKeyEntry> Match(string supplied)
    {
        var digest = Digest(supplied);
        var matches = new List<ApiKeyEntry>(1);
        foreach (var key in Keys)
        {
            if (CryptographicOperations.FixedTimeEquals(key.Digest, digest))
            {
                matches.Add(key);
            }
        }
        return matches;
    }

    private static byte[] Digest(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static IReadOnlyList<ApiRole> ParseRoles(string keyName, string? roles, out string? problem)
    {
        problem = null;
        var names = string.IsNullOrWhiteSpace(roles) ? [keyName] : roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var parsed = new List<ApiRole>();
        foreach (var name in names)
        {
            if (Enum.TryParse<ApiRole>(name, ignoreCase: true, out var role) && Enum.IsDefined(role) && !char.IsDigit(name[0]))
            {
                parsed.Add(role);
            }
            else
            {
                problem = string.IsNullOrWhiteSpace(roles)
                    ? $"'Security__Keys__{keyName}__Roles' is empty and '{keyName}' is not a role: set the roles (reader, marketer, admin, privacy)."
                    : $"'Security__Keys__{keyName}__Roles' names '{name}', which is not a role (reader, marketer, admin, privacy).";
            }
        }
        return parsed;
    }

    /// <summary>What is wrong with the key settings (checked when the app starts).</summary>
    public static IEnumerable<string> Problems(SecurityOptions options)
    {
        foreach (var (name, key) in options.Keys)
        {
            if (!KeyName().IsMatch(name))
            {
                yield return $"API key name '{(name.Length > 64 ? name[..64] : name)}' must be 1-64 letters, digits, '-' or '_' (it is recorded in the audit trail).";
            }
            if (string.IsNullOrEmpty(key.Secret))
            {
                // An empty secret is no key (the sample settings list one, empty): nothing else to check.
                continue;
            }
            if (key.Secret.Length < 16)
            {
                yield return $"'Security__Keys__{name}__Secret' must be at least 16 characters.";
            }
            ParseRoles(name, key.Roles, out var problem);
            if (problem is not null)
            {
                yield return problem;
            }
        }
    }
}

/// <summary>
/// Who may call which HTTP function. Every HTTP function is anonymous at the Functions host (the host cannot let an Entra
/// ID sign-in stand in for its function key), so the app alone decides: a function marked
/// <see cref="PublicEndpointAttribute"/> is open, any other needs a caller holding one of its
/// <see cref="RequiresRoleAttribute"/> roles (admin when it declares none: fail closed). The caller is identified by a role
/// key (<c>x-api-key</c>, <c>x-functions-key</c> or <c>?code=</c>) or, when trusted, by the Entra ID principal App Service
/// authentication passes in <c>X-MS-CLIENT-PRINCIPAL</c>. With nothing configured, a local run is open (caller
/// <c>local</c> with every role) while a run under the Functions host refuses every role-protected call. The same check
/// runs on both hosts (ASP.NET Core middleware locally, worker middleware under the Functions host).
/// </summary>
public sealed partial class ApiAccess
{
    public const string PurposeParameter = "purpose";

    /// <summary>The query parameter a key may also arrive in (the Functions host's convention, kept for old clients).</summary>
    public const string KeyQueryParameter = "code";

    private static readonly IReadOnlyList<ApiRole> AllRoles = Enum.GetValues<ApiRole>();

    private readonly IOptionsMonitor<SecurityOptions> _options;
    private readonly bool _underFunctionsHost;
    private SecurityOptions? _ringSource;
    private ApiKeyRing _ring = new(new SecurityOptions());

    public ApiAccess(IOptionsMonitor<SecurityOptions> options)
        : this(options, LocalHostSettings.StartedByFunctionsHost(Environment.GetCommandLineArgs(), Environment.GetEnvironmentVariable))
    {
    }

    public ApiAccess(IOptionsMonitor<SecurityOptions> options, bool underFunctionsHost)
    {
        _options = options;
        _underFunctionsHost = underFunctionsHost;
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    public static partial Regex PurposeFormat();

    /// <summary>The roles a function requires: declared with <see cref="RequiresRoleAttribute"/>; a function without one
    /// is treated as admin-only (a test keeps every function declared).</summary>
    public static IReadOnlyList<ApiRole> RolesOf(HttpFunction function) =>
        function.Method.GetCustomAttribute<RequiresRoleAttribute>()?.Roles ?? [ApiRole.Admin];

    /// <summary>The hashed key ring for the current settings (rebuilt only when the settings object changes).</summary>
    private ApiKeyRing Ring
    {
        get
        {
            var current = _options.CurrentValue;
            if (!ReferenceEquals(current, _ringSource))
            {
                _ring = new ApiKeyRing(current);
                _ringSource = current;
            }
            return _ring;
        }
    }

    private bool TrustsPrincipal => _underFunctionsHost && _options.CurrentValue.TrustAppServiceAuthentication;

    /// <summary>Under the Functions host with no role key and App Service authentication not trusted: nobody can be
    /// identified, so every role-protected call is refused (the host no longer asks for a key on these routes).</summary>
    public bool NoCallerConfigured => _underFunctionsHost && Ring.IsEmpty && !TrustsPrincipal;

    /// <summary>What to configure so that callers can be identified (the 401 detail and the start-up warning).</summary>
    public const string ConfigureCallers =
        "Configure role keys (app settings Security__Keys__{name}__Secret and Security__Keys__{name}__Roles) or App Service " +
        "authentication with Microsoft Entra ID plus Security__TrustAppServiceAuthentication=true (infra/README.md, 'Roles in Azure').";

    /// <summary>Identifies the caller; null when credentials are missing or wrong, or when none can be configured here.</summary>
    public ApiCaller? Identify(HttpContext context)
    {
        var ring = Ring;
        if (TrustsPrincipal && AppServicePrincipal.Read(context.Request.Headers) is { } principal)
        {
            return principal;
        }
        if (ring.IsEmpty)
        {
            // Nothing to compare with. Locally that is today's open API with every role; under the Functions host the
            // routes are anonymous at the host, so opening them would open the API to the internet: nobody.
            return _underFunctionsHost ? null : new ApiCaller("local", AllRoles);
        }
        var supplied = new[]
        {
            context.Request.Headers[ApiKeys.ApiKeyHeader].ToString(),
            context.Request.Headers[ApiKeys.AdminKeyHeader].ToString(),
            context.Request.Headers[ApiKeys.FunctionKeyHeader].ToString(),
            context.Request.Query[KeyQueryParameter].ToString(),
        }.Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var matched = supplied.SelectMany(ring.Match).DistinctBy(k => k.Name).ToList();
        return matched.Count == 0
            ? null
            : new ApiCaller(string.Join('+', matched.Select(k => k.Name)), [.. matched.SelectMany(k => k.Roles).Distinct().Order()]);
    }

    /// <summary>Checks a call to <paramref name="function"/>: null when it may go ahead (the caller is attached to the
    /// context), else the 401/403/400 ProblemDetails to answer.</summary>
    public IResult? Check(HttpContext context, HttpFunction function)
    {
        if (function.IsPublic)
        {
            return null;
        }
        var caller = Identify(context);
        if (caller is null)
        {
            return NoCallerConfigured
                ? Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "No caller can be identified",
                    detail: $"This deployment has no role key and does not trust App Service authentication, so it refuses every call that needs a role. {ConfigureCallers}")
                : Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Missing or wrong API key",
                    detail: $"Send a role key in the '{ApiKeys.ApiKeyHeader}' header (or '{ApiKeys.FunctionKeyHeader}', or the '{KeyQueryParameter}' query parameter)" +
                            (TrustsPrincipal ? ", or sign in with Microsoft Entra ID." : "."));
        }
        var required = RolesOf(function);
        if (!caller.Roles.Any(required.Contains))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Role required",
                detail: $"This operation needs the role {Describe(required)}; the caller '{caller.Name}' holds " +
                        (caller.Roles.Count == 0 ? "no role." : $"{Describe(caller.Roles, "and")}."),
                extensions: new Dictionary<string, object?> { ["requiredRoles"] = required.Select(Name).ToArray() });
        }
        if (context.Request.Query[PurposeParameter].ToString() is { Length: > 0 } purpose && !PurposeFormat().IsMatch(purpose))
        {
            return ApiProblems.BadRequest("purpose must be 1-32 lowercase letters, digits or '-', starting with a letter (e.g. 'support', 'marketing').");
        }
        caller.AttachTo(context);
        context.Items[GrantedRoleKey] = string.Join('+', required.Where(caller.Roles.Contains).Select(Name));
        return null;
    }

    private static readonly object GrantedRoleKey = new();

    /// <summary>The roles of the caller that let the current call in, e.g. <c>reader+marketer</c> (recorded in audit entries).</summary>
    public static string? GrantedRole(HttpContext context) =>
        context.Items.TryGetValue(GrantedRoleKey, out var role) ? role as string : null;

    public static string Name(ApiRole role) => role.ToString().ToLowerInvariant();

    public static string Describe(IEnumerable<ApiRole> roles, string conjunction = "or") =>
        roles.Select(r => $"'{Name(r)}'").ToList() is var names && names.Count > 1
            ? string.Join(", ", names[..^1]) + $" {conjunction} " + names[^1]
            : string.Join("", names);
}

/// <summary>Warns once at start when the app runs under the Functions host with no way to identify a caller: every
/// role-protected call will get 401 until role keys or App Service authentication are configured.</summary>
public sealed partial class ApiAccessStartupWarning(ApiAccess access, ILogger<ApiAccessStartupWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (access.NoCallerConfigured)
        {
            LogNoCallerConfigured(logger, ApiAccess.ConfigureCallers);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "No role key is configured and App Service authentication is not trusted: every API call that needs a role gets 401. {Remedy}")]
    private static partial void LogNoCallerConfigured(ILogger logger, string remedy);
}

/// <summary>The role check under the Functions host: the same <see cref="ApiAccess.Check"/> as locally, on the
/// HttpContext of the ASP.NET Core integration.</summary>
public sealed class ApiAccessMiddleware : IFunctionsWorkerMiddleware
{
    private static readonly Dictionary<string, HttpFunction> Functions = HttpFunctions.All.ToDictionary(f => f.Name);

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (Functions.TryGetValue(context.FunctionDefinition.Name, out var function) && context.GetHttpContext() is { } http)
        {
            var access = context.InstanceServices.GetRequiredService<ApiAccess>();
            if (access.Check(http, function) is { } refusal)
            {
                await refusal.ExecuteAsync(http);
                return;
            }
        }
        await next(context);
    }
}
