using iCrm.Ml.Training;
using Azure.Core;
using iCrm.Ml.Sentiment;
using iCrm.Azure.Connections;

namespace iCrm.Azure.Language;

/// <summary>Chooses the sentiment provider: <c>Sentiment__Provider</c> = <c>local</c> (default) or <c>azure</c>
/// (Azure AI Language at <c>IcrmLanguage__endpoint</c>, identity-based).</summary>
public static class SentimentProviders
{
    /// <param name="credential">The identity for Azure AI Language (built only when that provider is chosen).</param>
    /// <param name="champions">For the local provider: the champion cache, resolved lazily (it depends on the model kinds).</param>
    public static ISentimentProvider Create(SentimentOptions options, Func<TokenCredential> credential, Func<ChampionModels>? champions = null)
    {
        if (options.Problems().FirstOrDefault() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
        if (!options.UsesAzure)
        {
            return champions is null ? new LocalSentimentProvider() : new LocalSentimentProvider(champions);
        }
        return new LanguageSentimentClient(options.LanguageEndpoint!, credential());
    }
}
