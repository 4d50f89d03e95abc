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
        Add(services, sp => new RecommendationsKind(Recommender(Options(sp))));
        services.AddSingleton<ChampionModels>();
        // Without a queue (tests, a single process) the write-back's slices are scored in this process; the Azure
        // registration puts the score-slices queue and blob reports in their place.
        services.TryAddSingleton<IScoringResults, InProcessScoringResults>();
        services.AddSingleton(sp => new SliceScorer(sp.GetRequiredService<Core.Storage.ICustomerStore>(), sp.GetRequiredService<ChampionModels>(),
            sp.GetServices<IModelLoader>(), sp.GetRequiredService<IScoringResults>(), sp.GetRequiredService<Registry.ITrainingRunLog>(),
            sp.GetRequiredService<TimeProvider>(), Options(sp).ScoreConcurrency));
        services.TryAddSingleton<IScoreSliceQueue>(sp => new InProcessScoreSliceQueue(sp.GetRequiredService<SliceScorer>()));
        services.AddSingleton(sp => new TrainingRunner(sp.GetRequiredService<Core.Storage.ICustomerStore>(), sp.GetRequiredService<Registry.IModelRegistry>(),
            sp.GetRequiredService<Registry.ITrainingLease>(), sp.GetRequiredService<Registry.ITrainingRunLog>(), sp.GetServices<IModelTrainer>(),
            sp.GetServices<IModelLoader>(), sp.GetRequiredService<ChampionModels>(), sp.GetRequiredService<TimeProvider>(), Options(sp),
            sp.GetRequiredService<IScoreSliceQueue>()));
        services.AddSingleton<ICustomerScoring, ChampionScoring>();
        return services;
    }

    private static RecommenderOptions Recommender(ModelOptions options) =>
        new() { TuningSeconds = options.RecommendationsTuningSeconds, MaxEaseItems = options.RecommendationsMaxItemsForEase };

    private static ModelOptions Options(IServiceProvider services) => services.GetService<ModelOptions>() ?? new ModelOptions();

    /// <summary>All model kinds with default options (or those of <paramref name="options"/>), in training order (sentiment first).</summary>
    public static IReadOnlyList<(IModelTrainer Trainer, IModelLoader Loader)> DefaultKinds(ModelOptions? options = null)
    {
        options ??= new ModelOptions();
        var sentiment = new SentimentKind();
        var churn = new ChurnKind(labels: new Core.Features.ChurnLabelOptions { WindowDays = options.ChurnWindowDays });
        var clv = new LifetimeKind(options.ClvHoldoutDays, minimumHoldoutCustomers: options.ClvMinHoldoutCustomers);
        var segments = new SegmentsKind();
        var recommendations = new RecommendationsKind(Recommender(options));
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

    /// <summary><c>Models__MaxTrainingCustomers</c>: customers kept for fitting (a stratified sample when the store holds
    /// more), so a training instance's memory does not grow with the store.</summary>
    public int MaxTrainingCustomers { get; set; } = 200_000;

    /// <summary><c>Models__TrainingSampleSeed</c>: the seed of that sample (same store, same seed: same sample).</summary>
    public int TrainingSampleSeed { get; set; } = 17;

    /// <summary><c>Models__TrainingReadParallelism</c>: slices of the store read at once while sampling.</summary>
    public int TrainingReadParallelism { get; set; } = 4;

    /// <summary><c>Models__ScoreSlices</c>: slices of the store the write-back fans out to (one queue message each).</summary>
    public int ScoreSlices { get; set; } = 64;

    /// <summary><c>Models__ScoreConcurrency</c>: profiles scored and written at once within one slice.</summary>
    public int ScoreConcurrency { get; set; } = 16;

    /// <summary><c>Models__RecommendationsMaxItemsForEase</c>: EASE (a dense items × items inverse) is a candidate only
    /// while the catalogue has at most this many items; beyond it the sparse item-similarity recommender is used.</summary>
    public int RecommendationsMaxItemsForEase { get; set; } = 2_000;

    public IEnumerable<string> Problems()
    {
        if (MaxTrainingCustomers is < 100 or > 10_000_000)
        {
            yield return "'Models__MaxTrainingCustomers' must be between 100 and 10000000.";
        }
        if (TrainingReadParallelism is < 1 or > 64)
        {
            yield return "'Models__TrainingReadParallelism' must be between 1 and 64.";
        }
        if (ScoreSlices is < 1 or > iCrm.Core.Storage.CustomerSlice.MaxCount)
        {
            yield return $"'Models__ScoreSlices' must be between 1 and {iCrm.Core.Storage.CustomerSlice.MaxCount}.";
        }
        if (ScoreConcurrency is < 1 or > 256)
        {
            yield return "'Models__ScoreConcurrency' must be between 1 and 256.";
        }
        if (RecommendationsMaxItemsForEase is < 0 or > 20_000)
        {
            yield return "'Models__RecommendationsMaxItemsForEase' must be between 0 (never EASE) and 20000.";
        }
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
