using iCrm.Ml.Churn;
using iCrm.Ml.Lifetime;
using iCrm.Ml.Recommendations;
using iCrm.Ml.Scoring;
using iCrm.Ml.Segments;
using iCrm.Ml.Sentiment;
using iCrm.Ml.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace iCrm.Ml;

public static class ModelRegistration
{
    /// <summary>
    /// Registers every model kind (trainer + loader), the champion cache, the training runner and live scoring. Sentiment
    /// is trained first so that churn, trained later in the same run, reads fresh feedback sentiment.
    /// Settings: <c>ICRM_CHURN_WINDOW_DAYS</c> (default 90), <c>ICRM_CLV_HOLDOUT_DAYS</c> (182),
    /// <c>ICRM_CLV_MIN_HOLDOUT_CUSTOMERS</c> (100), <c>ICRM_RECOMMENDATIONS_TUNING_SECONDS</c> (120). The stores, registry, lease and run log are registered by the caller.
    /// </summary>
    public static IServiceCollection AddIcrmModels(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        var churnWindow = Int(configuration, "ICRM_CHURN_WINDOW_DAYS", 90);
        var clvHoldout = Int(configuration, "ICRM_CLV_HOLDOUT_DAYS", 182);
        var clvMinimumHoldout = Int(configuration, "ICRM_CLV_MIN_HOLDOUT_CUSTOMERS", 100);
        var recommendationTuning = Int(configuration, "ICRM_RECOMMENDATIONS_TUNING_SECONDS", 120);
        // Sentiment scores feedback with the configured provider when it is an external one (Azure AI Language).
        services.AddSingleton(sp => new SentimentKind(provider: sp.GetService<ISentimentProvider>()));
        services.AddSingleton<IModelTrainer>(sp => sp.GetRequiredService<SentimentKind>());
        services.AddSingleton<IModelLoader>(sp => sp.GetRequiredService<SentimentKind>());
        Add(services, new ChurnKind(labels: new Core.Features.ChurnLabelOptions { WindowDays = churnWindow }));
        Add(services, new LifetimeKind(clvHoldout, minimumHoldoutCustomers: clvMinimumHoldout));
        Add(services, new SegmentsKind());
        Add(services, new RecommendationsKind(new RecommenderOptions { TuningSeconds = recommendationTuning }));
        services.AddSingleton<ChampionModels>();
        services.AddSingleton<TrainingRunner>();
        services.AddSingleton<ICustomerScoring, ChampionScoring>();
        return services;
    }

    /// <summary>All model kinds with default options, in training order (sentiment first).</summary>
    public static IReadOnlyList<(IModelTrainer Trainer, IModelLoader Loader)> DefaultKinds()
    {
        var sentiment = new SentimentKind();
        var churn = new ChurnKind();
        var clv = new LifetimeKind();
        var segments = new SegmentsKind();
        var recommendations = new RecommendationsKind();
        return [(sentiment, sentiment), (churn, churn), (clv, clv), (segments, segments), (recommendations, recommendations)];
    }

    private static int Int(IConfiguration configuration, string name, int fallback) =>
        int.TryParse(configuration[name], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;

    private static void Add<T>(IServiceCollection services, T kind)
        where T : class, IModelTrainer, IModelLoader
    {
        services.AddSingleton<IModelTrainer>(kind);
        services.AddSingleton<IModelLoader>(kind);
    }
}
