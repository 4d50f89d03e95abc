namespace iCrm.Azure.Connections;

/// <summary>Section <c>Security</c>: the HMAC secret behind match keys, the API keys with their roles, and whether the
/// App Service authentication header is trusted (Microsoft Entra ID app roles for people).</summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";
    public const int MinimumPiiKeyLength = 16;

    /// <summary><c>Security__PiiKey</c>: HMAC secret for match keys (a Key Vault reference in Azure). Changing it changes every key.</summary>
    public string? PiiKey { get; set; }

    /// <summary><c>Security__Keys__{name}__Secret</c> and <c>Security__Keys__{name}__Roles</c>: named API keys (header
    /// <c>x-api-key</c>) and the roles each holds (comma-separated; default: the key's name when it names a role). The name
    /// is what the audit trail records as the caller.</summary>
    public Dictionary<string, ApiKeySettings> Keys { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary><c>Security__ApiKey</c> (before roles): still accepted as the key named <c>api-key</c> with roles reader and marketer.</summary>
    public string? ApiKey { get; set; }

    /// <summary><c>Security__AdminKey</c> (before roles): still accepted (header <c>x-api-key</c> or <c>x-admin-key</c>) as the key named
    /// <c>admin-key</c> with role admin.</summary>
    public string? AdminKey { get; set; }

    /// <summary><c>Security__TrustAppServiceAuthentication</c>: read the caller's Entra ID app roles from the
    /// <c>X-MS-CLIENT-PRINCIPAL</c> header that App Service authentication injects. Honoured only under the Functions host,
    /// where App Service strips that header from client requests.</summary>
    public bool TrustAppServiceAuthentication { get; set; }

    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(PiiKey) || PiiKey.Length < MinimumPiiKeyLength)
        {
            yield return $"Setting '{SettingNames.PiiKey}' must hold a secret of at least {MinimumPiiKeyLength} characters (match keys are HMACs under it). " +
                "Locally, local.settings.json from local.settings.sample.json sets a development value; in Azure it is a Key Vault reference.";
        }
    }
}

/// <summary>One named API key: its secret (a Key Vault reference in Azure) and its roles.</summary>
public sealed class ApiKeySettings
{
    public string? Secret { get; set; }

    /// <summary>Comma-separated roles (reader, marketer, admin, privacy); empty: the key's name when it is a role.</summary>
    public string? Roles { get; set; }
}

/// <summary>Section <c>Sentiment</c>: which provider scores feedback text.</summary>
public sealed class SentimentOptions
{
    public const string Section = "Sentiment";

    /// <summary><c>Sentiment__Provider</c>: <c>local</c> (ML.NET model trained on rated feedback) or <c>azure</c> (Azure AI
    /// Language at <c>IcrmLanguage__endpoint</c>).</summary>
    public string Provider { get; set; } = "local";

    /// <summary><c>IcrmLanguage__endpoint</c>: the Language resource's custom-subdomain endpoint (connection section <c>IcrmLanguage</c>).</summary>
    public Uri? LanguageEndpoint { get; set; }

    public bool UsesAzure => string.Equals(Provider, "azure", StringComparison.OrdinalIgnoreCase);

    public IEnumerable<string> Problems()
    {
        if (!UsesAzure && !string.Equals(Provider, "local", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"'{SettingNames.SentimentProvider}' must be 'local' or 'azure', not '{Provider}'.";
        }
        else if (UsesAzure && LanguageEndpoint is null)
        {
            yield return $"'{SettingNames.SentimentProvider}=azure' needs '{SettingNames.LanguagePrefix}__endpoint' (the Language resource's custom subdomain endpoint).";
        }
    }
}
