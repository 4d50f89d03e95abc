using iCrm.Ml.Churn;
using iCrm.Ml.Lifetime;
using iCrm.Ml.Recommendations;
using iCrm.Ml.Scoring;
using iCrm.Ml.Segments;
using iCrm.Ml.Sentiment;
using iCrm.Ml.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace iCrm.Ml;

public static class ModelRegistration
{
    /// <summary>
    /// Registers every model kind (trainer + loader), the champion cache, the training runner and live scoring. Sentiment
    /// is trained first so that churn, trained later in the same run, reads fresh feedback sentiment. The kinds read
    /// <see cref="ModelOptions"/> (section <c>Models</c>, bound and validated by the host) when it is registered.
    /// The stores, registry, lease and run log are registered by the caller.
    /// </summary>
    public static IServiceCollection AddIcrmModels(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        // Sentiment scores feedback with the configured provider when it is an external one (Azure AI Language).
        services.AddSingleton(sp => new SentimentKind(provider: sp.GetService<ISentimentProvider>()));
        services.AddSingleton<IModelTrainer>(sp => sp.GetRequiredService<SentimentKind>());
        services.AddSingleton<IModelLoader>(sp => sp.GetRequiredService<SentimentKind>());
        Add(services, sp => new ChurnKind(labels: new Core.Features.ChurnLabelOptions { WindowDays = Options(sp).ChurnWindowDays }));
        Add(services, sp => new LifetimeKind(Options(sp).ClvHoldoutDays, minimumHoldoutCustomers: Options(sp).ClvMinHoldoutCustomers));
        Add(services, _ => new SegmentsKind());
        Add(services, sp => new RecommendationsKind(new RecommenderOptions { TuningSeconds = Options(sp).RecommendationsTuningSeconds }));
        services.AddSingleton<ChampionModels>();
        services.AddSingleton<TrainingRunner>();
        services.AddSingleton<ICustomerScoring, ChampionScoring>();
        return services;
    }

    private static ModelOptions Options(IServiceProvider services) => services.GetService<ModelOptions>() ?? new ModelOptions();

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

    private static void Add<T>(IServiceCollection services, Func<IServiceProvider, T> create)
        where T : class, IModelTrainer, IModelLoader
    {
        services.AddSingleton(create);
        services.AddSingleton<IModelTrainer>(sp => sp.GetRequiredService<T>());
        services.AddSingleton<IModelLoader>(sp => sp.GetRequiredService<T>());
    }
}

/// <summary>Section <c>Models</c>: the horizons the model kinds learn over.</summary>
public sealed class ModelOptions
{
    public const string Section = "Models";

    /// <summary><c>Models__ChurnWindowDays</c>: a customer without an order for this many days has churned.</summary>
    public int ChurnWindowDays { get; set; } = 90;

    /// <summary><c>Models__ClvHoldoutDays</c>: days of orders held out to measure lifetime-value models.</summary>
    public int ClvHoldoutDays { get; set; } = 182;

    /// <summary><c>Models__ClvMinHoldoutCustomers</c>: a lifetime-value holdout with fewer customers is "not comparable"
    /// and cannot promote a model over the champion.</summary>
    public int ClvMinHoldoutCustomers { get; set; } = 100;

    /// <summary><c>Models__RecommendationsTuningSeconds</c>: time budget of the recommenders' hyperparameter search.</summary>
    public int RecommendationsTuningSeconds { get; set; } = 120;

    public IEnumerable<string> Problems()
    {
        if (ChurnWindowDays is < 1 or > 3650)
        {
            yield return "'Models__ChurnWindowDays' must be between 1 and 3650.";
        }
        if (ClvHoldoutDays is < 1 or > 3650)
        {
            yield return "'Models__ClvHoldoutDays' must be between 1 and 3650.";
        }
        if (ClvMinHoldoutCustomers is < 1 or > 1_000_000)
        {
            yield return "'Models__ClvMinHoldoutCustomers' must be between 1 and 1000000.";
        }
        if (RecommendationsTuningSeconds is < 1 or > 86_400)
        {
            yield return "'Models__RecommendationsTuningSeconds' must be between 1 and 86400.";
        }
    }
}
