namespace iCrm.Azure;

/// <summary>Names shared by the app, the tests and the Bicep templates (ARCHITECTURE.md, "Names shared...").</summary>
public static class ResourceNames
{
    public const string DropsContainer = "drops";
    public const string QuarantineContainer = "quarantine";
    public const string ModelsContainer = "models";
    public const string EventGridDeadLetterContainer = "eventgrid-deadletter";
    public const string TrainLockBlob = "train.lock";

    /// <summary>One message per slice of the store after a training run: the ScoreSlice function writes its predictions back.</summary>
    public const string ScoreSlicesQueue = "score-slices";

    /// <summary>Where the queue extension moves a slice that failed every attempt (<c>{queue}-poison</c>, fixed by the extension).</summary>
    public const string ScoreSlicesPoisonQueue = ScoreSlicesQueue + "-poison";

    public const string CosmosDatabase = "icrm";
    public const string CustomersContainer = "customers";
    public const string IdentitiesContainer = "identities";
    public const string IngestionsContainer = "ingestions";
    public const string AuditContainer = "audit";

    /// <summary>Pairs the matcher held back for a person to review (<c>GET /api/merges?status=review</c>).</summary>
    public const string ReviewsContainer = "reviews";

    /// <summary>Cosmos containers and their partition key paths.</summary>
    public static readonly IReadOnlyDictionary<string, string> CosmosContainers = new Dictionary<string, string>
    {
        [CustomersContainer] = "/id",
        [IdentitiesContainer] = "/id",
        [IngestionsContainer] = "/id",
        [AuditContainer] = "/customerId",
        [ReviewsContainer] = "/id",
    };

    public static readonly IReadOnlyList<string> BlobContainers = [DropsContainer, QuarantineContainer, ModelsContainer, EventGridDeadLetterContainer];
}

/// <summary>
/// App setting names (as environment variables / app settings: <c>Section__Key</c>), one section per area; every
/// setting with its default is in docs/settings.md. Connection prefixes are read as <c>{prefix}</c> or <c>{prefix}__*</c>.
/// </summary>
public static class SettingNames
{
    public const string StoragePrefix = "IcrmStorage";
    public const string CosmosPrefix = "IcrmCosmos";
    public const string LanguagePrefix = "IcrmLanguage";
    public const string TrainSchedule = "TRAIN_SCHEDULE";
    public const string PiiKey = "Security__PiiKey";
    public const string LocalTriggers = "LocalTriggers__Enabled";
    public const string ApiKey = "Security__ApiKey";
    public const string AdminKey = "Security__AdminKey";
    public const string SentimentProvider = "Sentiment__Provider";
    public const string CreateStore = "IcrmCosmos__createIfMissing";

    /// <summary>Settings the app reads in Azure; the Bicep consistency test checks each is set by the template.</summary>
    public static readonly IReadOnlyList<string> RequiredInAzure =
    [
        "IcrmStorage__blobServiceUri",
        "IcrmStorage__queueServiceUri",
        "IcrmStorage__credential",
        "IcrmStorage__clientId",
        "IcrmCosmos__accountEndpoint",
        "IcrmCosmos__credential",
        "IcrmCosmos__clientId",
        "IcrmLanguage__endpoint",
        TrainSchedule,
        PiiKey,
        SentimentProvider,
    ];
}
