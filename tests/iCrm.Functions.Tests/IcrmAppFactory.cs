using iCrm.Core.Storage;
using iCrm.Ml.Registry;
using iCrm.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace iCrm.Functions.Tests;

/// <summary>The real app over HTTP, with the store ports backed by memory so contract tests need no servers.</summary>
public sealed class IcrmAppFactory : WebApplicationFactory<Program>
{
    public InMemoryCustomerStore Customers { get; } = new();
    public InMemoryIdentityStore Identities { get; } = new();
    public InMemoryIngestionLedger Ledger { get; } = new();
    public InMemoryQuarantine Quarantine { get; } = new();
    public InMemoryAuditLog Audit { get; } = new();
    public InMemoryMergeReviewStore Reviews { get; } = new();
    public InMemoryDropSource Drops { get; } = new();
    public InMemoryModelRegistry Registry { get; } = new();
    public InMemorySubjectErasureStore Erasures { get; }
    public iCrm.Ml.Scoring.InProcessScoringResults Scoring { get; } = new();

    public IcrmAppFactory() => Erasures = new InMemorySubjectErasureStore(Customers, Identities);

    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Security:PiiKey"] = "contract-test-pii-key-0123456789",
        ["IcrmStorage"] = "UseDevelopmentStorage=true",
        ["IcrmCosmos"] = "AccountEndpoint=https://127.0.0.1:1/;AccountKey=bG9jYWw=;",
        ["LocalTriggers:Enabled"] = "false",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureServices(services =>
        {
            services.RemoveAll<ICustomerStore>().AddSingleton<ICustomerStore>(Customers);
            services.RemoveAll<IIdentityStore>().AddSingleton<IIdentityStore>(Identities);
            services.RemoveAll<IIngestionLedger>().AddSingleton<IIngestionLedger>(Ledger);
            services.RemoveAll<IQuarantine>().AddSingleton<IQuarantine>(Quarantine);
            services.RemoveAll<IRejectedRows>().AddSingleton<IRejectedRows>(Quarantine);
            services.RemoveAll<IAuditLog>().AddSingleton<IAuditLog>(Audit);
            services.RemoveAll<IMergeReviewStore>().AddSingleton<IMergeReviewStore>(Reviews);
            services.RemoveAll<IDropSource>().AddSingleton<IDropSource>(Drops);
            services.RemoveAll<IModelRegistry>().AddSingleton<IModelRegistry>(Registry);
            services.RemoveAll<ITrainingLease>().AddSingleton<ITrainingLease>(Registry);
            services.RemoveAll<ITrainingRunLog>().AddSingleton<ITrainingRunLog>(Registry);
            services.RemoveAll<iCrm.Ml.Scoring.IScoringResults>().AddSingleton<iCrm.Ml.Scoring.IScoringResults>(Scoring);
            services.RemoveAll<iCrm.Core.Privacy.ISubjectErasureStore>().AddSingleton<iCrm.Core.Privacy.ISubjectErasureStore>(Erasures);
            services.RemoveAll<iCrm.Core.Privacy.IQuarantineEraser>().AddSingleton<iCrm.Core.Privacy.IQuarantineEraser>(new InMemoryQuarantineEraser(Quarantine));
        });
    }
}
