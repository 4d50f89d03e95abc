using iCrm.Azure;
using iCrm.Azure.Connections;
using iCrm.Functions.Hosting;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Api;

public static class ApiAccessRegistration
{
    /// <summary>Roles, masking and the audit trail of reads: the API's privacy plumbing under either host.</summary>
    public static IHostApplicationBuilder AddApiAccess(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<IValidateOptions<SecurityOptions>>(new OptionsProblems<SecurityOptions>(ApiKeyRing.Problems));
        services.AddSingleton<ApiAccess>();
        services.AddHostedService<ApiAccessStartupWarning>();
        services.AddSingleton<AuditTrail>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditTrail>());
        services.AddSingleton<ReadAudit>();
        return builder;
    }
}
