namespace iCrm.Azure.Connections;

/// <summary>Section <c>Security</c>: the HMAC secret behind match keys and the local API keys.</summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";
    public const int MinimumPiiKeyLength = 16;

    /// <summary><c>Security__PiiKey</c>: HMAC secret for match keys (a Key Vault reference in Azure). Changing it changes every key.</summary>
    public string? PiiKey { get; set; }

    /// <summary><c>Security__ApiKey</c>: local API key (header <c>x-api-key</c>); empty = off. In Azure, function keys guard the routes.</summary>
    public string? ApiKey { get; set; }

    /// <summary><c>Security__AdminKey</c>: local admin key (header <c>x-admin-key</c>) for training; empty = off.</summary>
    public string? AdminKey { get; set; }

    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(PiiKey) || PiiKey.Length < MinimumPiiKeyLength)
        {
            yield return $"Setting '{SettingNames.PiiKey}' must hold a secret of at least {MinimumPiiKeyLength} characters (match keys are HMACs under it). " +
                "Locally, local.settings.json from local.settings.sample.json sets a development value; in Azure it is a Key Vault reference.";
        }
    }
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
