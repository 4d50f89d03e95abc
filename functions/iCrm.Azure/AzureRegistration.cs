using iCrm.Azure.Connections;
using iCrm.Azure.Health;
using iCrm.Azure.Storage;
using iCrm.Azure.Store;
using iCrm.Core.Identity;
using iCrm.Core.Ingestion;
using iCrm.Core.Privacy;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Azure.Language;
using iCrm.Ml;
using iCrm.Ml.Registry;
using iCrm.Ml.Sentiment;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace iCrm.Azure;

public static class AzureRegistration
{
    /// <summary>Registers iCrm's domain services with their Azure adapters: the one place that decides what talks to what.</summary>
    public static IHostApplicationBuilder AddIcrmServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<IngestionOptions>().BindConfiguration("Ingestion").ValidateOnStart();
        services.AddSingleton<IValidateOptions<IngestionOptions>, IngestionSettingsCheck>();
        services.AddOptions<ProfileHistoryOptions>().BindConfiguration("Profiles").ValidateOnStart();

        services.AddIcrmAzureClients();
        services.AddSingleton<CosmosContainers>();
        services.AddSingleton<DependencyHealth>();
        services.AddSingleton<ICustomerStore, CosmosCustomerStore>();
        services.AddSingleton<IIdentityStore, CosmosIdentityStore>();
        services.AddSingleton<IIngestionLedger, CosmosIngestionLedger>();
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>>(new OptionsProblems<AuditOptions>(o => o.Problems()));
        services.AddSingleton<IAuditLog, CosmosAuditLog>();
        services.AddSingleton<IMergeReviewStore, CosmosMergeReviewStore>();
        services.AddSingleton<IDropSource, BlobDropSource>();
        services.AddSingleton<BlobQuarantine>();
        services.AddSingleton<IQuarantine>(sp => sp.GetRequiredService<BlobQuarantine>());
        services.AddSingleton<IQuarantineEraser>(sp => sp.GetRequiredService<BlobQuarantine>());
        services.AddSingleton<IRejectedRows>(sp => sp.GetRequiredService<BlobQuarantine>());
        services.AddSingleton<ISubjectErasureStore, CosmosSubjectErasureStore>();
        services.AddSingleton<SubjectErasure>();
        services.AddOptions<PrivacyOptions>().BindConfiguration(PrivacyOptions.Section).ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<PrivacyOptions>>().Value);
        services.AddSingleton<BlobModelRegistry>();
        services.AddSingleton<IModelRegistry>(sp => sp.GetRequiredService<BlobModelRegistry>());
        services.AddSingleton<ITrainingLease>(sp => sp.GetRequiredService<BlobModelRegistry>());
        services.AddSingleton<ITrainingRunLog>(sp => sp.GetRequiredService<BlobModelRegistry>());

        services.AddSingleton(sp => new ProfileHistory(sp.GetRequiredService<IOptions<ProfileHistoryOptions>>().Value));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<IngestionOptions>>().Value);
        services.AddOptions<MatchOptions>().BindConfiguration("Matching").ValidateOnStart();
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecurityOptions>>(new OptionsProblems<SecurityOptions>(o => o.Problems()));
        services.AddSingleton(sp => new MatchKeyHasher(PiiKey.Read(sp.GetRequiredService<IOptions<SecurityOptions>>().Value)));
        services.AddSingleton(sp => new IdentityResolver(new ProbabilisticMatcher(sp.GetRequiredService<IOptions<MatchOptions>>().Value)));
        services.AddSingleton<CustomerResolver>();
        services.AddSingleton<IIdentityResolver>(sp => sp.GetRequiredService<CustomerResolver>());
        services.AddSingleton<IngestionPipeline>();

        services.AddOptions<ModelOptions>().BindConfiguration(ModelOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelOptions>>(new OptionsProblems<ModelOptions>(o => o.Problems()));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ModelOptions>>().Value);
        // The write-back fans out over the score-slices queue; slices report to blobs in the registry container.
        services.AddSingleton<iCrm.Ml.Scoring.IScoringResults, iCrm.Azure.Storage.BlobScoringResults>();
        services.AddSingleton<iCrm.Ml.Scoring.IScoreSliceQueue, iCrm.Azure.Storage.StorageQueueScoreSlices>();
        services.AddIcrmModels();
        services.AddOptions<SentimentOptions>().BindConfiguration(SentimentOptions.Section)
            .PostConfigure<IConfiguration>((o, c) => o.LanguageEndpoint ??= c.GetSection(SettingNames.LanguagePrefix).GetValue<Uri?>("endpoint"))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SentimentOptions>>(new OptionsProblems<SentimentOptions>(o => o.Problems()));
        services.AddSingleton<ISentimentProvider>(sp => SentimentProviders.Create(sp.GetRequiredService<IOptions<SentimentOptions>>().Value,
            () => sp.GetRequiredService<IcrmCredentials>().For(SettingNames.LanguagePrefix), () => sp.GetRequiredService<iCrm.Ml.Training.ChampionModels>()));
        return builder;
    }
}

/// <summary>The HMAC secret for match keys (<c>Security__PiiKey</c>; a Key Vault reference in Azure).</summary>
public static class PiiKey
{
    public static byte[] Read(SecurityOptions options) =>
        options.Problems().FirstOrDefault() is { } problem
            ? throw new InvalidOperationException(problem)
            : System.Text.Encoding.UTF8.GetBytes(options.PiiKey!);
}

/// <summary>Refuses to start with ingestion settings no drop could be read with (a chunk size of 0, a two-letter separator…).</summary>
internal sealed class IngestionSettingsCheck : IValidateOptions<IngestionOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestionOptions options) =>
        options.Problems().ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
