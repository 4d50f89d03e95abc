using System.Net;
using System.Net.Sockets;
using Azure;
using Microsoft.Azure.Cosmos;
using Polly.Timeout;

namespace iCrm.Azure.Health;

/// <summary>
/// Tells an outage of a dependency (the caller should try again later: 503) from a bug (500), and names it in words
/// that carry no request data: the reason goes into health answers, ProblemDetails and logs.
/// </summary>
public static class DependencyFailures
{
    public const string StoreMissing = "customer store: database or container missing";

    /// <summary>True when <paramref name="e"/> means a dependency is down, throttling or unreachable.</summary>
    public static bool IsUnavailable(Exception e, out string reason)
    {
        reason = Describe(e);
        return Classify(e);
    }

    private static bool Classify(Exception e) => e switch
    {
        DependencyUnavailableException => true,
        CosmosException ce => IsTransient(ce.StatusCode) || (ce.StatusCode == HttpStatusCode.NotFound && ce.SubStatusCode == 1003),
        RequestFailedException rf => rf.Status is 0 or 408 or 429 or 500 or 502 or 503 or 504,
        HttpRequestException or SocketException or TimeoutRejectedException or TimeoutException => true,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(Classify),
        _ => e.InnerException is { } inner && Classify(inner),
    };

    public static string Describe(Exception e) => e switch
    {
        DependencyUnavailableException d => d.Reason,
        CosmosException { StatusCode: HttpStatusCode.NotFound, SubStatusCode: 1003 } => StoreMissing,
        CosmosException ce => Describe(ce.StatusCode),
        RequestFailedException { Status: 0 } rf => rf.InnerException is { } inner ? "storage: " + Transport(inner) : "storage: no response",
        RequestFailedException rf => $"storage: answered {rf.Status}",
        AggregateException { InnerExceptions.Count: > 0 } a => Describe(a.InnerExceptions[^1]),
        TimeoutRejectedException or TimeoutException => "customer store: request timed out",
        OperationCanceledException => "customer store: request timed out",
        HttpRequestException or SocketException or IOException => "customer store: " + Transport(e),
        _ => e.InnerException is { } inner ? Describe(inner) : e.GetType().Name,
    };

    public static string Describe(HttpStatusCode status) => status switch
    {
        HttpStatusCode.TooManyRequests => "customer store: throttled (429)",
        HttpStatusCode.ServiceUnavailable => "customer store: service unavailable (503)",
        HttpStatusCode.RequestTimeout => "customer store: request timed out (408)",
        _ => $"customer store: answered {(int)status}",
    };

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.Gone;

    private static string Transport(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.ConnectionReset => "connection reset",
                    SocketError.TimedOut => "connection timed out",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    var code => $"network error ({code})",
                };
            }
        }
        return e is HttpRequestException { HttpRequestError: var kind } ? $"connection failed ({kind})" : "connection failed";
    }
}

/// <summary>A dependency cannot serve the request right now; the reason names it and carries no request data.</summary>
public sealed class DependencyUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner)
{
    public string Reason { get; } = reason;
}
