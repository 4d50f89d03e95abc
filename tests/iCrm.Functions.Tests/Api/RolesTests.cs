using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using iCrm.Azure.Connections;
using iCrm.Functions.Api;
using iCrm.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Tests.Api;

/// <summary>Roles: a key per role, every operation allowed for its roles and refused (401/403 ProblemDetails) for others.</summary>
public sealed class RolesTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    /// <summary>Every secured function with a request that reaches it.</summary>
    public static TheoryData<string, string, string> Operations() => new()
    {
        { "ListCustomers", "GET", "/api/customers" },
        { "GetCustomer", "GET", "/api/customers/c-1" },
        { "GetCustomerBySource", "GET", "/api/customers/by-source/web/1" },
        { "GetCustomerScores", "GET", "/api/customers/c-1/scores" },
        { "GetCustomerRecommendations", "GET", "/api/customers/c-1/recommendations" },
        { "GetCustomerAudit", "GET", "/api/customers/c-1/audit" },
        { "ListAudit", "GET", "/api/audit" },
        { "ScoreBatch", "POST", "/api/scores:batch" },
        { "ScoreProfile", "POST", "/api/score" },
        { "ScoreSentiment", "POST", "/api/sentiment" },
        { "ListSegments", "GET", "/api/segments" },
        { "ListModels", "GET", "/api/models" },
        { "GetModel", "GET", "/api/models/churn" },
        { "ListIngestions", "GET", "/api/ingestions" },
        { "GetIngestion", "GET", "/api/ingestions/abc" },
        { "GetRejectedRows", "GET", "/api/ingestions/abc/rejected" },
        { "GetOverview", "GET", "/api/overview" },
        { "ListMerges", "GET", "/api/merges?status=review" },
        { "GetTrainingRun", "GET", "/api/train/abc" },
        { "StartTraining", "POST", "/api/train" },
        { "EraseCustomer", "POST", "/api/customers/c-1:erase" },
        { "ExportCustomer", "GET", "/api/customers/c-1/export" },
        { "RecordConsent", "POST", "/api/customers/c-1/consent" },
    };

    [Fact]
    public void Every_function_is_either_public_or_declares_its_roles_and_the_test_covers_the_secured_ones()
    {
        // The host checks no key (every trigger is anonymous), so a function the app does not classify would be guarded
        // only by the admin-only fallback: every function must say which it is, and only one.
        Assert.All(HttpFunctions.All, f => Assert.True(
            f.Method.IsDefined(typeof(PublicEndpointAttribute)) ^ f.Method.IsDefined(typeof(RequiresRoleAttribute)),
            $"{f.Name} must carry exactly one of [PublicEndpoint] and [RequiresRole(...)]"));
        var secured = HttpFunctions.All.Where(f => !f.IsPublic).ToList();

        Assert.All(secured, f => Assert.NotEmpty(f.Method.GetCustomAttribute<RequiresRoleAttribute>()!.Roles));
        Assert.Equal(secured.Select(f => f.Name).Order(), Operations().Select(o => (string)o[0]).Order());
        Assert.Equal(["ApiReference", "ApiReferenceConfiguration", "ApiReferenceIcon", "ApiReferenceScript", "Dashboard", "Health", "OpenApi"],
            HttpFunctions.All.Where(f => f.IsPublic).Select(f => f.Name).Order());
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Each_role_is_allowed_exactly_the_operations_that_declare_it(string function, string method, string url)
    {
        RoleKeys.UseRoleKeys(_app);
        await _app.StoreAsync(ApiTestKit.Profile("c-1"));
        var client = _app.CreateClient();
        var allowed = ApiAccess.RolesOf(HttpFunctions.All.Single(f => f.Name == function));

        foreach (var role in Enum.GetValues<ApiRole>())
        {
            var response = await client.SendAsync(RoleKeys.Request(method, url, RoleKeys.KeyOf(role)));
            if (allowed.Contains(role))
            {
                Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                    $"{role} refused {function}: {(int)response.StatusCode}");
            }
            else
            {
                var problem = await response.ProblemAsync(HttpStatusCode.Forbidden);
                Assert.Contains($"'{ApiAccess.Name(allowed[0])}'", problem.Detail());
                Assert.Contains($"'{ApiAccess.Name(role)}'", problem.Detail());
                Assert.Equal(allowed.Select(ApiAccess.Name), problem["requiredRoles"]!.AsArray().Select(r => r!.GetValue<string>()));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task No_key_or_a_wrong_key_is_401_naming_the_header(string function, string method, string url)
    {
        RoleKeys.UseRoleKeys(_app);
        var client = _app.CreateClient();

        var missing = await (await client.SendAsync(RoleKeys.Request(method, url, key: null))).ProblemAsync(HttpStatusCode.Unauthorized);
        var wrong = await (await client.SendAsync(RoleKeys.Request(method, url, RoleKeys.ReaderKey + "x"))).ProblemAsync(HttpStatusCode.Unauthorized);

        Assert.Contains(ApiKeys.ApiKeyHeader, missing.Detail());
        Assert.Contains(ApiKeys.ApiKeyHeader, wrong.Detail());
        Assert.NotNull(function);
    }

    [Fact]
    public async Task A_key_with_several_roles_holds_them_all_and_is_recorded_by_name()
    {
        _app.Settings["Security:Keys:crm-web:Secret"] = "crm-web-secret-0123456789";
        _app.Settings["Security:Keys:crm-web:Roles"] = "reader, privacy";
        await _app.StoreAsync(ApiTestKit.Profile("c-1"));
        var client = _app.CreateClient();

        var read = await client.SendAsync(RoleKeys.Request("GET", "/api/customers/c-1", "crm-web-secret-0123456789"));
        var audit = await client.SendAsync(RoleKeys.Request("GET", "/api/audit", "crm-web-secret-0123456789"));
        var train = await client.SendAsync(RoleKeys.Request("POST", "/api/train", "crm-web-secret-0123456789"));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        Assert.Contains("'crm-web' holds 'reader' and 'privacy'", (await train.ProblemAsync(HttpStatusCode.Forbidden)).Detail());
    }

    [Fact]
    public async Task The_function_key_header_is_accepted_when_its_secret_is_a_role_key()
    {
        RoleKeys.UseRoleKeys(_app);
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/models");
        request.Headers.Add(ApiKeys.FunctionKeyHeader, RoleKeys.ReaderKey);

        Assert.Equal(HttpStatusCode.OK, (await _app.CreateClient().SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task The_keys_from_before_roles_still_work_as_reader_and_marketer_and_as_admin()
    {
        _app.Settings["Security:ApiKey"] = "old-api-key-0123456789";
        _app.Settings["Security:AdminKey"] = "old-admin-key-0123456789";
        var client = _app.CreateClient();

        var list = await client.SendAsync(RoleKeys.Request("GET", "/api/customers", "old-api-key-0123456789"));
        var audit = await client.SendAsync(RoleKeys.Request("GET", "/api/audit", "old-api-key-0123456789"));
        var train = RoleKeys.Request("POST", "/api/train", "old-api-key-0123456789");
        train.Headers.Add(ApiKeys.AdminKeyHeader, "old-admin-key-0123456789");

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        await audit.ProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(train)).StatusCode);
    }

    [Fact]
    public async Task Without_keys_the_local_caller_holds_every_role()
    {
        var client = _app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/customers")).StatusCode);
    }

    [Fact]
    public void An_unknown_role_or_a_short_secret_stops_the_app_with_the_setting_named()
    {
        _app.Settings["Security:Keys:ops:Secret"] = "short";
        _app.Settings["Security:Keys:ops:Roles"] = "reader,superuser";

        var failure = Assert.ThrowsAny<Exception>(() => _app.CreateClient());
        var message = failure.ToString();

        Assert.Contains("Security__Keys__ops__Roles", message);
        Assert.Contains("superuser", message);
        Assert.Contains("Security__Keys__ops__Secret", message);
    }

    [Fact]
    public async Task A_malformed_purpose_is_400()
    {
        var problem = await (await _app.CreateClient().GetAsync("/api/customers?purpose=Bad%20Purpose")).ProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("purpose", problem.Detail());
    }

    [Fact]
    public void App_Service_principals_are_trusted_only_under_the_Functions_host_and_when_configured()
    {
        var settings = new SecurityOptions { TrustAppServiceAuthentication = true };
        settings.Keys["reader"] = new ApiKeySettings { Secret = RoleKeys.ReaderKey };
        var context = new DefaultHttpContext();
        context.Request.Headers[AppServicePrincipal.Header] = AppServicePrincipal.Encode("0000-oid", "privacy", "Reader", "unrelated");

        var inAzure = new ApiAccess(new StaticOptions(settings), underFunctionsHost: true).Identify(context);
        var local = new ApiAccess(new StaticOptions(settings), underFunctionsHost: false).Identify(context);
        var notTrusted = new ApiAccess(new StaticOptions(new SecurityOptions { Keys = settings.Keys }), underFunctionsHost: true).Identify(context);

        Assert.Equal("entra:0000-oid", inAzure!.Name);
        Assert.Equal([ApiRole.Reader, ApiRole.Privacy], inAzure.Roles);
        Assert.Null(local);
        Assert.Null(notTrusted);
    }

    [Fact]
    public void Public_functions_need_no_caller_even_under_the_Functions_host_with_nothing_configured()
    {
        var access = Access(new SecurityOptions(), underFunctionsHost: true);

        Assert.All(HttpFunctions.All.Where(f => f.IsPublic), f => Assert.Null(access.Check(new DefaultHttpContext(), f)));
    }

    [Fact]
    public void Under_the_Functions_host_with_no_role_key_and_no_trusted_sign_in_every_role_protected_call_is_401_naming_the_settings()
    {
        var access = Access(new SecurityOptions(), underFunctionsHost: true);
        // Even a key (say the host's function key, which the host no longer checks on these routes) identifies nobody.
        var context = new DefaultHttpContext();
        context.Request.Headers[ApiKeys.FunctionKeyHeader] = "some-host-function-key-0123456789";

        Assert.True(access.NoCallerConfigured);
        Assert.All(HttpFunctions.All.Where(f => !f.IsPublic), f =>
        {
            var problem = Refusal(access.Check(context, f), StatusCodes.Status401Unauthorized);
            Assert.Contains("Security__Keys__{name}__Secret", problem.Detail);
            Assert.Contains("Security__Keys__{name}__Roles", problem.Detail);
            Assert.Contains("Security__TrustAppServiceAuthentication", problem.Detail);
        });
        Assert.Equal(ApiCaller.Anonymous, ApiCaller.Of(context));
    }

    [Fact]
    public void A_trusted_Entra_principal_with_the_role_is_let_in_under_the_Functions_host_without_any_key()
    {
        var access = Access(new SecurityOptions { TrustAppServiceAuthentication = true }, underFunctionsHost: true);
        var context = new DefaultHttpContext();
        context.Request.Headers[AppServicePrincipal.Header] = AppServicePrincipal.Encode("0000-oid", "marketer");

        Assert.False(access.NoCallerConfigured);
        Assert.Null(access.Check(context, Function("ListCustomers")));
        Assert.Equal("entra:0000-oid", ApiCaller.Of(context).Name);
        Assert.Equal("marketer", ApiAccess.GrantedRole(context));
        Assert.DoesNotContain(context.Request.Headers, h => h.Key is ApiKeys.ApiKeyHeader or ApiKeys.FunctionKeyHeader or ApiKeys.AdminKeyHeader);
    }

    [Fact]
    public void A_trusted_Entra_principal_without_the_role_is_403_and_without_a_sign_in_401_mentions_Entra_ID()
    {
        var access = Access(new SecurityOptions { TrustAppServiceAuthentication = true }, underFunctionsHost: true);
        var signedIn = new DefaultHttpContext();
        signedIn.Request.Headers[AppServicePrincipal.Header] = AppServicePrincipal.Encode("0000-oid", "reader");

        var forbidden = Refusal(access.Check(signedIn, Function("StartTraining")), StatusCodes.Status403Forbidden);
        var anonymous = Refusal(access.Check(new DefaultHttpContext(), Function("StartTraining")), StatusCodes.Status401Unauthorized);

        Assert.Contains("'entra:0000-oid' holds 'reader'", forbidden.Detail);
        Assert.Contains("Microsoft Entra ID", anonymous.Detail);
    }

    [Fact]
    public void A_forged_principal_header_is_ignored_when_not_trusted_and_in_a_local_run()
    {
        var keys = new SecurityOptions();
        keys.Keys["reader"] = new ApiKeySettings { Secret = RoleKeys.ReaderKey };
        var trustedLocally = new SecurityOptions { Keys = keys.Keys, TrustAppServiceAuthentication = true };
        HttpContext Forged()
        {
            var context = new DefaultHttpContext();
            context.Request.Headers[AppServicePrincipal.Header] = AppServicePrincipal.Encode("forged", "admin");
            return context;
        }

        var notTrusted = Access(keys, underFunctionsHost: true).Check(Forged(), Function("StartTraining"));
        var local = Access(trustedLocally, underFunctionsHost: false).Check(Forged(), Function("StartTraining"));
        var openLocalRun = Forged();
        Assert.Null(Access(new SecurityOptions { TrustAppServiceAuthentication = true }, underFunctionsHost: false).Check(openLocalRun, Function("StartTraining")));

        Refusal(notTrusted, StatusCodes.Status401Unauthorized);
        Refusal(local, StatusCodes.Status401Unauthorized);
        // Nothing configured locally: the open local caller, not the principal the header names.
        Assert.Equal("local", ApiCaller.Of(openLocalRun).Name);
    }

    [Theory]
    [InlineData(ApiKeys.FunctionKeyHeader)]
    [InlineData(ApiKeys.ApiKeyHeader)]
    [InlineData("?code")]
    public void A_role_key_is_accepted_under_the_Functions_host_in_either_header_or_the_code_parameter(string where)
    {
        var settings = new SecurityOptions();
        settings.Keys["crm_web"] = new ApiKeySettings { Secret = RoleKeys.ReaderKey, Roles = "reader" };
        var context = new DefaultHttpContext();
        if (where == "?code")
        {
            context.Request.QueryString = new QueryString($"?code={RoleKeys.ReaderKey}");
        }
        else
        {
            context.Request.Headers[where] = RoleKeys.ReaderKey;
        }

        Assert.Null(Access(settings, underFunctionsHost: true).Check(context, Function("ListModels")));
        Assert.Equal("crm_web", ApiCaller.Of(context).Name);
    }

    [Fact]
    public void A_function_with_neither_marker_is_admin_only()
    {
        var undeclared = new HttpFunction("Undeclared", "undeclared", ["GET"], AuthorizationLevel.Anonymous,
            typeof(RolesTests).GetMethod(nameof(UndeclaredFunction), BindingFlags.NonPublic | BindingFlags.Static)!);
        var settings = new SecurityOptions();
        settings.Keys["reader"] = new ApiKeySettings { Secret = RoleKeys.ReaderKey };
        settings.Keys["admin"] = new ApiKeySettings { Secret = RoleKeys.AdminKey };
        var access = Access(settings, underFunctionsHost: true);
        var reader = new DefaultHttpContext();
        reader.Request.Headers[ApiKeys.ApiKeyHeader] = RoleKeys.ReaderKey;
        var admin = new DefaultHttpContext();
        admin.Request.Headers[ApiKeys.ApiKeyHeader] = RoleKeys.AdminKey;

        Assert.False(undeclared.IsPublic);
        Assert.Contains("'admin'", Refusal(access.Check(reader, undeclared), StatusCodes.Status403Forbidden).Detail);
        Assert.Null(access.Check(admin, undeclared));
    }

    private static void UndeclaredFunction()
    {
    }

    [Theory]
    [InlineData(true, false, false, 1)]
    [InlineData(true, true, false, 0)]
    [InlineData(true, false, true, 0)]
    [InlineData(false, false, false, 0)]
    public async Task The_app_warns_once_at_start_only_under_the_Functions_host_with_no_way_to_identify_a_caller(
        bool underFunctionsHost, bool withKey, bool trustSignIn, int warnings)
    {
        var settings = new SecurityOptions { TrustAppServiceAuthentication = trustSignIn };
        if (withKey)
        {
            settings.Keys["reader"] = new ApiKeySettings { Secret = RoleKeys.ReaderKey };
        }
        var logger = new CapturingLogger();

        await new ApiAccessStartupWarning(Access(settings, underFunctionsHost), logger).StartAsync(CancellationToken.None);

        Assert.Equal(warnings, logger.Warnings.Count);
        Assert.All(logger.Warnings, w => Assert.Contains("Security__Keys__{name}__Secret", w));
    }

    private static ApiAccess Access(SecurityOptions settings, bool underFunctionsHost) => new(new StaticOptions(settings), underFunctionsHost);

    private static HttpFunction Function(string name) => HttpFunctions.All.Single(f => f.Name == name);

    private static ProblemDetails Refusal(IResult? result, int status)
    {
        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(status, problem.StatusCode);
        return problem.ProblemDetails;
    }

    private sealed class CapturingLogger : ILogger<ApiAccessStartupWarning>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("eyJjbGFpbXMiOiA1fQ==")] // {"claims": 5}
    [InlineData("e30=")] // {}: no object id
    public void A_malformed_principal_header_identifies_nobody(string header)
    {
        var headers = new HeaderDictionary { [AppServicePrincipal.Header] = header };
        Assert.Null(AppServicePrincipal.Read(headers));
    }

    private sealed class StaticOptions(SecurityOptions value) : IOptionsMonitor<SecurityOptions>
    {
        public SecurityOptions CurrentValue => value;

        public SecurityOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<SecurityOptions, string?> listener) => null;
    }
}

/// <summary>One API key per role for tests, and requests carrying one.</summary>
internal static class RoleKeys
{
    public const string ReaderKey = "reader-secret-0123456789";
    public const string MarketerKey = "marketer-secret-0123456789";
    public const string AdminKey = "admin-secret-0123456789";
    public const string PrivacyKey = "privacy-secret-0123456789";

    /// <summary>One key per role, named after it (the roles default to the name).</summary>
    public static void UseRoleKeys(IcrmAppFactory app)
    {
        app.Settings["Security:Keys:reader:Secret"] = ReaderKey;
        app.Settings["Security:Keys:marketer:Secret"] = MarketerKey;
        app.Settings["Security:Keys:admin:Secret"] = AdminKey;
        app.Settings["Security:Keys:privacy:Secret"] = PrivacyKey;
    }

    public static string KeyOf(ApiRole role) => role switch
    {
        ApiRole.Reader => ReaderKey,
        ApiRole.Marketer => MarketerKey,
        ApiRole.Admin => AdminKey,
        _ => PrivacyKey,
    };

    public static HttpRequestMessage Request(string method, string url, string? key)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = method == "POST" ? ApiTestKit.Json("{}") : null };
        if (key is not null)
        {
            request.Headers.Add(ApiKeys.ApiKeyHeader, key);
        }
        return request;
    }
}
