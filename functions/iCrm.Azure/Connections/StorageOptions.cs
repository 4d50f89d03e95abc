namespace iCrm.Azure.Connections;

/// <summary>
/// Settings of section <c>IcrmStorage</c>, the Functions connection convention: the section's own value is a connection
/// string (local), otherwise <c>IcrmStorage__blobServiceUri</c> / <c>__queueServiceUri</c> with <c>__credential</c> and
/// <c>__clientId</c> (managed identity, Azure).
/// </summary>
public sealed class StorageOptions
{
    public const string Section = SettingNames.StoragePrefix;

    public string? ConnectionString { get; set; }

    public Uri? BlobServiceUri { get; set; }

    public Uri? QueueServiceUri { get; set; }

    public string? Credential { get; set; }

    public string? ClientId { get; set; }

    public IEnumerable<string> Problems()
    {
        if (!string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield break;
        }
        if (BlobServiceUri is null)
        {
            yield return $"Set '{Section}' to a connection string (local) or '{Section}__blobServiceUri' (Azure).";
        }
        if (QueueServiceUri is null)
        {
            yield return $"Set '{Section}' to a connection string (local) or '{Section}__queueServiceUri' (Azure).";
        }
    }
}
