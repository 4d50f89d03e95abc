using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using iCrm.Azure.Language;
using iCrm.Ml.Sentiment;

namespace iCrm.IntegrationTests.Language;

/// <summary>
/// The Azure AI Language client against a local server on 127.0.0.1 that replays the documented shapes of
/// <c>POST /language/:analyze-text?api-version=2023-04-01</c> (kind SentimentAnalysis), including a 429 with Retry-After.
/// </summary>
public sealed class LanguageSentimentClientTests : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Path, string? Query, string? Authorization, JsonNode Body)> _requests = new();
    private readonly Task _serving;
    private int _throttleNext;
    private readonly HashSet<string> _rejectIds = [];

    public LanguageSentimentClientTests()
    {
        var port = FreePort();
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    private Uri Endpoint { get; }

    [Fact]
    public async Task Texts_are_sent_in_batches_of_at_most_ten_with_a_token_for_the_cognitive_services_scope()
    {
        var credential = new RecordingCredential();
        var client = Client(credential);
        var texts = Enumerable.Range(0, 23).Select(i => i % 2 == 0 ? $"good product {i}" : $"bad service {i}").ToList();

        var results = await client.ScoreAsync(texts, CancellationToken.None);

        Assert.Equal(23, results.Count);
        var requests = _requests.ToList();
        Assert.Equal([10, 10, 3], requests.Select(r => r.Body["analysisInput"]!["documents"]!.AsArray().Count));
        Assert.All(requests, r =>
        {
            Assert.Equal("/language/:analyze-text", r.Path);
            Assert.Equal("?api-version=2023-04-01", r.Query);
            Assert.Equal("SentimentAnalysis", r.Body["kind"]!.GetValue<string>());
            Assert.Equal("Bearer token-1", r.Authorization);
        });
        Assert.Contains("https://cognitiveservices.azure.com/.default", credential.Scopes);
        for (var i = 0; i < texts.Count; i++)
        {
            Assert.Equal(i % 2 == 0 ? SentimentLabel.Positive : SentimentLabel.Negative, results[i].Label);
        }
    }

    [Fact]
    public async Task A_429_with_Retry_After_is_retried_and_the_batch_then_succeeds()
    {
        _throttleNext = 1;
        var results = await Client(new RecordingCredential()).ScoreAsync(["good", "bad"], CancellationToken.None);

        Assert.Equal(2, _requests.Count); // the throttled request and its retry
        Assert.Equal(0, _throttleNext);
        Assert.Equal([SentimentLabel.Positive, SentimentLabel.Negative], results.Select(r => r.Label));
    }

    [Fact]
    public async Task A_document_the_service_rejects_scores_neutral_without_failing_the_others()
    {
        _rejectIds.Add("1");
        var results = await Client(new RecordingCredential()).ScoreAsync(["good", "", "bad"], CancellationToken.None);

        Assert.Equal(0.5, results[1].Score);
        Assert.Equal(SentimentLabel.Positive, results[0].Label);
        Assert.Equal(SentimentLabel.Negative, results[2].Label);
    }

    private LanguageSentimentClient Client(TokenCredential credential)
    {
        var options = new LanguageClientOptions { AllowHttp = true };
        options.Retry.Delay = TimeSpan.FromMilliseconds(50);
        return new LanguageSentimentClient(Endpoint, credential, options);
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            var body = JsonNode.Parse(await new StreamReader(context.Request.InputStream).ReadToEndAsync())!;
            _requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.Url.Query, context.Request.Headers["Authorization"], body));
            var response = context.Response;
            if (Interlocked.CompareExchange(ref _throttleNext, 0, 1) == 1)
            {
                response.StatusCode = 429;
                response.Headers["Retry-After"] = "1";
                await Write(response, """{"error":{"code":"429","message":"Rate limit is exceeded. Try again in 1 seconds."}}""");
                continue;
            }
            var documents = new JsonArray();
            var errors = new JsonArray();
            foreach (var d in body["analysisInput"]!["documents"]!.AsArray())
            {
                var id = d!["id"]!.GetValue<string>();
                if (_rejectIds.Contains(id))
                {
                    errors.Add(new JsonObject { ["id"] = id, ["error"] = new JsonObject { ["code"] = "InvalidArgument", ["message"] = "Invalid document in request.", ["innererror"] = new JsonObject { ["code"] = "InvalidDocument", ["message"] = "Document text is empty." } } });
                    continue;
                }
                var positive = d["text"]!.GetValue<string>().Contains("good", StringComparison.Ordinal);
                var (p, n) = positive ? (0.9, 0.02) : (0.03, 0.95);
                var scores = new JsonObject { ["positive"] = p, ["neutral"] = Math.Round(1 - p - n, 2), ["negative"] = n };
                documents.Add(new JsonObject
                {
                    ["id"] = id,
                    ["sentiment"] = positive ? "positive" : "negative",
                    ["confidenceScores"] = scores,
                    ["sentences"] = new JsonArray(new JsonObject { ["sentiment"] = positive ? "positive" : "negative", ["confidenceScores"] = scores.DeepClone(), ["offset"] = 0, ["length"] = d["text"]!.GetValue<string>().Length, ["text"] = d["text"]!.GetValue<string>() }),
                    ["warnings"] = new JsonArray(),
                });
            }
            var result = new JsonObject
            {
                ["kind"] = "SentimentAnalysisResults",
                ["results"] = new JsonObject { ["documents"] = documents, ["errors"] = errors, ["modelVersion"] = "2022-11-01" },
            };
            response.StatusCode = 200;
            await Write(response, result.ToJsonString());
        }
    }

    private static async Task Write(HttpListenerResponse response, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }

    private sealed class RecordingCredential : TokenCredential
    {
        private int _issued;

        public ConcurrentBag<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var s in requestContext.Scopes)
            {
                Scopes.Add(s);
            }
            return new AccessToken($"token-{Interlocked.Increment(ref _issued)}", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
