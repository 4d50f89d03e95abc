namespace iCrm.Testing;

/// <summary>
/// Connection settings of the local stack (infra/local/start.sh) for tests and benchmarks: the environment variables
/// <c>IcrmStorage</c> and <c>IcrmCosmos</c> (as the app reads them), else the standard local ports.
/// </summary>
public static class LocalStackSettings
{
    public static string Storage => Environment.GetEnvironmentVariable("IcrmStorage") is { Length: > 0 } s ? s : "UseDevelopmentStorage=true";

    /// <summary>The local Cosmos server accepts any key; <c>bG9jYWw=</c> is "local" in base64, not a secret.</summary>
    public static string Cosmos => Environment.GetEnvironmentVariable("IcrmCosmos") is { Length: > 0 } c ? c
        : "AccountEndpoint=https://127.0.0.1:8081/;AccountKey=bG9jYWw=;";
}
