using System.Net;
using iCrm.Azure.Health;
using Microsoft.Azure.Cosmos;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace iCrm.Azure.Store;

/// <summary>
/// The outermost handler of the Cosmos pipeline: retries transient failures (connection refused or reset, 408, 429,
/// 449, 503, a request that hangs past <see cref="CosmosStoreOptions.RequestTimeout"/>) with exponential backoff and
/// jitter, honouring a 429's retry-after; records outages and recoveries in <see cref="StoreState"/>; and, when the
/// store answers that the database or a container is gone (404 with sub-status 1003, e.g. a local server restarted
/// empty), lets <see cref="CosmosContainers"/> create them again and retries once.
/// </summary>
internal sealed class TransientRetryHandler : RequestHandler
{
    /// <summary>Request property that asks for a single attempt (health probes answer quickly instead of waiting out an outage).</summary>
    public const string SingleAttempt = "icrm.single-attempt";

    internal const string OwnerMissing = "1003";
    private static readonly AsyncLocal<bool> Recreating = new();
    private readonly ResiliencePipeline<Attempt> _retrying;
    private readonly ResiliencePipeline<Attempt> _once;
    private readonly StoreState _state;

    public TransientRetryHandler(CosmosStoreOptions options, StoreState state, TimeProvider time)
    {
        _state = state;
        var builder = new ResiliencePipelineBuilder<Attempt> { TimeProvider = time };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<Attempt>
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result.Response is { StatusCode: HttpStatusCode.TooManyRequests } throttled ? RetryAfter(throttled) : null),
                OnRetry = args =>
                {
                    Record(args.Outcome);
                    // Only the body: disposing a ResponseMessage disposes its request too, whose content the retry sends again.
                    args.Outcome.Result.Response?.Content?.Dispose();
                    return default;
                },
            });
        }
        _retrying = builder.AddTimeout(options.RequestTimeout).Build();
        _once = new ResiliencePipelineBuilder<Attempt> { TimeProvider = time }.AddTimeout(options.RequestTimeout).Build();
    }

    public override async Task<ResponseMessage> SendAsync(RequestMessage request, CancellationToken cancellationToken)
    {
        var pipeline = request.Properties.ContainsKey(SingleAttempt) ? _once : _retrying;
        // The transport disposes the body it sent: a write keeps a copy so each attempt sends a fresh stream of it.
        var body = request.Content is { } content ? await CopyAsync(content, cancellationToken) : null;
        for (var recreated = false; ; recreated = true)
        {
            ResponseMessage response;
            try
            {
                response = (await pipeline.ExecuteAsync(async (message, token) =>
                {
                    if (body is not null)
                    {
                        message.Content = new MemoryStream(body, writable: false);
                    }
                    return new Attempt(await base.SendAsync(message, token));
                }, request, cancellationToken)).Response;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsTransient(e))
            {
                _state.RecordFailure(DependencyFailures.Describe(e), transport: true);
                throw;
            }
            if (IsTransient(response.StatusCode))
            {
                _state.RecordFailure(DependencyFailures.Describe(response.StatusCode), transport: false);
                return response;
            }
            if (response.StatusCode == HttpStatusCode.NotFound && response.Headers["x-ms-substatus"] == OwnerMissing && !Recreating.Value)
            {
                if (!recreated && _state.Recreate is { } recreate)
                {
                    response.Content?.Dispose();
                    await RecreateAsync(recreate, cancellationToken);
                    continue;
                }
                _state.RecordFailure(DependencyFailures.StoreMissing, transport: false);
                return response;
            }
            _state.RecordSuccess();
            return response;
        }
    }

    private static async Task<byte[]> CopyAsync(Stream content, CancellationToken cancellationToken)
    {
        if (content is MemoryStream memory)
        {
            return memory.ToArray();
        }
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy, cancellationToken);
        return copy.ToArray();
    }

    private static async Task RecreateAsync(Func<CancellationToken, Task> recreate, CancellationToken cancellationToken)
    {
        // The creation's own requests pass through this handler: they must not try to re-create in turn.
        Recreating.Value = true;
        try
        {
            await recreate(cancellationToken);
        }
        finally
        {
            Recreating.Value = false;
        }
    }

    /// <summary>An attempt's response, wrapped: Polly disposes a disposable result it retries, and disposing a
    /// ResponseMessage disposes the request the next attempt sends.</summary>
    private readonly record struct Attempt(ResponseMessage Response);

    /// <summary>A 429's <c>x-ms-retry-after-ms</c>: how long the service asked us to wait.</summary>
    internal static TimeSpan? RetryAfter(ResponseMessage response) =>
        double.TryParse(response.Headers["x-ms-retry-after-ms"], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms >= 0
            ? TimeSpan.FromMilliseconds(Math.Min(ms, 60_000))
            : null;

    private void Record(Outcome<Attempt> outcome)
    {
        if (outcome.Exception is { } e)
        {
            _state.RecordFailure(DependencyFailures.Describe(e), transport: true);
        }
        else if (outcome.Result.Response is { } response)
        {
            _state.RecordFailure(DependencyFailures.Describe(response.StatusCode), transport: false);
        }
    }

    private static bool IsTransient(Outcome<Attempt> outcome, CancellationToken cancellationToken) =>
        outcome.Exception is { } e
            ? !cancellationToken.IsCancellationRequested && IsTransient(e)
            : outcome.Result.Response is { } response && IsTransient(response.StatusCode);

    internal static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
            or (HttpStatusCode)449 /* retry with: a conflicting write on the same item */ or HttpStatusCode.Gone;

    private static bool IsTransient(Exception e) => e switch
    {
        CosmosException ce => IsTransient(ce.StatusCode),
        HttpRequestException or TimeoutRejectedException or TimeoutException or IOException => true,
        // The SDK reports a request that ran past its own timeout as a cancellation without the caller asking for one.
        OperationCanceledException => true,
        AggregateException { InnerExceptions: [var inner] } => IsTransient(inner),
        _ => e.InnerException is { } inner && IsTransient(inner),
    };
}
