using iCrm.Ml.Training;
using Azure.Core;
using iCrm.Ml.Sentiment;
using Microsoft.Extensions.Configuration;

namespace iCrm.Azure.Language;

/// <summary>Chooses the sentiment provider: <c>ICRM_SENTIMENT_PROVIDER</c> = <c>local</c> (default) or <c>azure</c>
/// (Azure AI Language at <c>IcrmLanguage__endpoint</c>, identity-based).</summary>
public static class SentimentProviders
{
    /// <param name="champions">For the local provider: the champion cache, resolved lazily (it depends on the model kinds).</param>
    /// <param name="credential">The identity for Azure AI Language (built only when that provider is chosen).</param>
    public static ISentimentProvider Create(IConfiguration config, Func<TokenCredential> credential, Func<ChampionModels>? champions = null)
    {
        var choice = config[SettingNames.SentimentProvider];
        if (string.IsNullOrWhiteSpace(choice) || string.Equals(choice, "local", StringComparison.OrdinalIgnoreCase))
        {
            return champions is null ? new LocalSentimentProvider() : new LocalSentimentProvider(champions);
        }
        if (!string.Equals(choice, "azure", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{SettingNames.SentimentProvider} must be 'local' or 'azure', not '{choice}'.");
        }
        var prefix = SettingNames.LanguagePrefix;
        var endpoint = config[$"{prefix}:endpoint"] ?? config[$"{prefix}__endpoint"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            throw new InvalidOperationException($"{SettingNames.SentimentProvider}=azure needs {prefix}__endpoint (the Language resource's custom subdomain endpoint).");
        }
        return new LanguageSentimentClient(new Uri(endpoint), credential());
    }
}
