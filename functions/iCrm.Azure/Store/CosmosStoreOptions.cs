namespace iCrm.Azure.Store;

/// <summary>
/// Settings of section <c>IcrmCosmos</c>: the connection (a connection string as the section's own value locally, or
/// <c>IcrmCosmos__accountEndpoint</c> with the identity settings in Azure) and how the store is used.
/// </summary>
public sealed class CosmosStoreOptions
{
    public const string Section = SettingNames.CosmosPrefix;

    /// <summary>The section's own value (<c>IcrmCosmos</c>): a connection string. Local runs only.</summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>IcrmCosmos__accountEndpoint</c>: the account URI, reached with the managed identity (Azure).</summary>
    public string? AccountEndpoint { get; set; }

    /// <summary><c>IcrmCosmos__credential</c> (<c>managedidentity</c>) and <c>IcrmCosmos__clientId</c> (user-assigned identity).</summary>
    public string? Credential { get; set; }

    public string? ClientId { get; set; }

    /// <summary>Create database <c>icrm</c> and its containers when missing, also when the server comes back empty. Local
    /// server only: in Azure, Bicep creates them and data-plane RBAC cannot (<c>IcrmCosmos__createIfMissing</c>).</summary>
    public bool CreateIfMissing { get; set; }

    /// <summary>Cosmos bulk execution (on in Azure; the local server cannot parse bulk requests). <c>IcrmCosmos__allowBulk</c>.</summary>
    public bool AllowBulk { get; set; }

    /// <summary>Retries of a transient failure (connection refused, 408, 429 after the SDK's own retries, 503) before the
    /// caller sees it (<c>IcrmCosmos__maxRetries</c>).</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>First backoff delay, doubled per retry with jitter, capped at 30 s; a 429's retry-after wins when longer
    /// (<c>IcrmCosmos__retryBaseDelay</c>).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Time limit of one request to the store (<c>IcrmCosmos__requestTimeout</c>).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString) && string.IsNullOrWhiteSpace(AccountEndpoint))
        {
            yield return $"Set '{Section}' to a connection string (local) or '{Section}__accountEndpoint' with '{Section}__credential=managedidentity' (Azure).";
        }
        else if (!string.IsNullOrWhiteSpace(AccountEndpoint) && !Uri.TryCreate(AccountEndpoint, UriKind.Absolute, out _))
        {
            yield return $"'{Section}__accountEndpoint' must be an absolute URI.";
        }
        if (MaxRetries is < 0 or > 20)
        {
            yield return $"'{Section}__maxRetries' must be between 0 and 20.";
        }
        if (RetryBaseDelay < TimeSpan.Zero || RetryBaseDelay > TimeSpan.FromSeconds(30))
        {
            yield return $"'{Section}__retryBaseDelay' must be between 00:00:00 and 00:00:30.";
        }
        if (RequestTimeout <= TimeSpan.Zero)
        {
            yield return $"'{Section}__requestTimeout' must be positive.";
        }
    }
}
