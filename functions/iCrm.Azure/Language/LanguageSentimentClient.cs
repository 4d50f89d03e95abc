using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using iCrm.Ml.Sentiment;

namespace iCrm.Azure.Language;

/// <summary>Options of the Azure AI Language client (Azure.Core retries: 429 and 5xx, honouring Retry-After).</summary>
public sealed class LanguageClientOptions : ClientOptions
{
    public const string ApiVersion = "2023-04-01";

    /// <summary>The service accepts at most 10 documents per synchronous sentiment request.</summary>
    public const int MaxDocumentsPerRequest = 10;

    public string Language { get; set; } = "en";

    /// <summary>Send the Entra ID token over plain http too (only for the local replay server in tests).</summary>
    internal bool AllowHttp { get; set; }
}

/// <summary>
/// A typed client for Azure AI Language sentiment analysis over REST
/// (<c>POST {endpoint}/language/:analyze-text?api-version=2023-04-01</c>, kind <c>SentimentAnalysis</c>), on the
/// Azure.Core pipeline with Entra ID tokens for <c>https://cognitiveservices.azure.com/.default</c>. Texts are sent
/// in batches of ≤ 10; a document the service rejects scores 0.5 (neutral) rather than failing the batch.
/// Score = P(positive) + ½ P(neutral), so it reads like the local model's P(positive).
/// </summary>
public sealed class LanguageSentimentClient : ISentimentProvider
{
    public const string Scope = "https://cognitiveservices.azure.com/.default";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly Uri _endpoint;
    private readonly HttpPipeline _pipeline;
    private readonly LanguageClientOptions _options;

    public LanguageSentimentClient(Uri endpoint, TokenCredential credential, LanguageClientOptions? options = null)
    {
        _options = options ?? new LanguageClientOptions();
        _endpoint = endpoint;
        HttpPipelinePolicy auth = _options.AllowHttp
            ? new TokenPolicy(credential)
            : new BearerTokenAuthenticationPolicy(credential, Scope);
        _pipeline = HttpPipelineBuilder.Build(_options, auth);
    }

    public bool IsEnabled => true;

    public async Task<IReadOnlyList<SentimentResult>> ScoreAsync(IReadOnlyList<string> texts, CancellationToken ct)
    {
        var results = new SentimentResult[texts.Count];
        for (var start = 0; start < texts.Count; start += LanguageClientOptions.MaxDocumentsPerRequest)
        {
            var count = Math.Min(LanguageClientOptions.MaxDocumentsPerRequest, texts.Count - start);
            var batch = await AnalyzeAsync([.. Enumerable.Range(start, count).Select(i => new InputDocument(i.ToString(System.Globalization.CultureInfo.InvariantCulture), _options.Language, texts[i]))], ct);
            for (var i = start; i < start + count; i++)
            {
                results[i] = batch.TryGetValue(i.ToString(System.Globalization.CultureInfo.InvariantCulture), out var r) ? r : SentimentResult.FromScore(0.5);
            }
        }
        return results;
    }

    private async Task<Dictionary<string, SentimentResult>> AnalyzeAsync(IReadOnlyList<InputDocument> documents, CancellationToken ct)
    {
        using var message = _pipeline.CreateMessage();
        var request = message.Request;
        request.Method = RequestMethod.Post;
        var uri = new RequestUriBuilder();
        uri.Reset(_endpoint);
        uri.AppendPath("/language/:analyze-text", escape: false);
        uri.AppendQuery("api-version", LanguageClientOptions.ApiVersion);
        request.Uri = uri;
        request.Headers.Add("Content-Type", "application/json");
        request.Headers.Add("Accept", "application/json");
        var body = new AnalyzeRequest("SentimentAnalysis", new AnalysisInput(documents), new AnalyzeParameters("latest", false));
        request.Content = RequestContent.Create(JsonSerializer.SerializeToUtf8Bytes(body, Json));
        await _pipeline.SendAsync(message, ct);
        var response = message.Response;
        if (response.IsError)
        {
            throw new RequestFailedException(response);
        }
        var parsed = await JsonSerializer.DeserializeAsync<AnalyzeResponse>(response.ContentStream!, Json, ct)
            ?? throw new InvalidDataException("Azure AI Language returned an empty body.");
        var map = new Dictionary<string, SentimentResult>(StringComparer.Ordinal);
        foreach (var d in parsed.Results?.Documents ?? [])
        {
            var c = d.ConfidenceScores;
            map[d.Id] = SentimentResult.FromScore(c is null ? 0.5 : c.Positive + 0.5 * c.Neutral);
        }
        return map;
    }

    private sealed record InputDocument(string Id, string Language, string Text);

    private sealed record AnalysisInput(IReadOnlyList<InputDocument> Documents);

    private sealed record AnalyzeParameters(string ModelVersion, bool OpinionMining);

    private sealed record AnalyzeRequest(string Kind, AnalysisInput AnalysisInput, AnalyzeParameters Parameters);

    private sealed record Confidence(double Positive, double Neutral, double Negative);

    private sealed record OutputDocument(string Id, string? Sentiment, Confidence? ConfidenceScores);

    private sealed record Results(List<OutputDocument>? Documents, JsonElement? Errors, string? ModelVersion);

    private sealed record AnalyzeResponse(string? Kind, Results? Results);

    /// <summary>Bearer token without the TLS check (the local replay server speaks http); tokens are cached until shortly before expiry.</summary>
    private sealed class TokenPolicy(TokenCredential credential) : HttpPipelinePolicy
    {
        private AccessToken _token;

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (_token.ExpiresOn < DateTimeOffset.UtcNow.AddMinutes(5))
            {
                _token = await credential.GetTokenAsync(new TokenRequestContext([Scope]), message.CancellationToken);
            }
            message.Request.Headers.SetValue("Authorization", "Bearer " + _token.Token);
            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();
    }
}
