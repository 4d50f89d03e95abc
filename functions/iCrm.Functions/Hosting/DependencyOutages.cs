using iCrm.Azure.Health;
using Microsoft.AspNetCore.Diagnostics;

namespace iCrm.Functions.Hosting;

/// <summary>
/// While a dependency is down (store refused, throttled past its retries, timed out, database missing), every API call
/// answers 503 ProblemDetails with the reason and a Retry-After, instead of a 500 or a misleading 404. Any other
/// exception answers 500 ProblemDetails without its message. One mapping (<see cref="AnswerFor"/>) serves both hosts:
/// the local host's exception handler and, under the Functions host, <see cref="HttpFailureMiddleware"/>.
/// </summary>
public static class DependencyOutages
{
    /// <summary>Seconds a client is asked to wait before trying again.</summary>
    public const int RetryAfterSeconds = 10;

    public static IServiceCollection AddDependencyOutageAnswers(this IServiceCollection services) =>
        services.AddExceptionHandler<UnavailableExceptionHandler>();

    /// <summary>What an HTTP call answers when its function threw <paramref name="exception"/>.</summary>
    public static FailureAnswer AnswerFor(Exception exception) =>
        DependencyFailures.IsUnavailable(exception, out var reason)
            ? new FailureAnswer(StatusCodes.Status503ServiceUnavailable, "A dependency is unavailable",
                $"{reason}. Try again in a few seconds; GET /api/health shows when it is back.", RetryAfterSeconds, reason)
            // Title and type come from the ProblemDetails defaults, as ASP.NET Core's own 500 answer has them; no detail:
            // an exception's message can quote request paths, and with them ids.
            : new FailureAnswer(StatusCodes.Status500InternalServerError, null, null, null, null);

    /// <summary>Sets the status and Retry-After of <paramref name="answer"/> and writes its ProblemDetails; false when
    /// the client accepts no ProblemDetails format (the status and headers stay set).</summary>
    public static async ValueTask<bool> WriteAsync(HttpContext context, Exception exception, FailureAnswer answer, IProblemDetailsService problems)
    {
        context.Response.StatusCode = answer.Status;
        if (answer.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = answer.Status, Title = answer.Title, Detail = answer.Detail },
        });
    }

    /// <summary>Logs an outage by its reason only: exception messages can carry request paths, and with them ids.</summary>
    internal static void LogOutage(ILogger logger, FailureAnswer answer) =>
        logger.LogWarning("Dependency unavailable ({Reason}): answered 503", answer.Reason);

    /// <summary>The local host's handler: answers outages; anything else is left to the exception handler middleware,
    /// which logs it and answers 500 ProblemDetails.</summary>
    internal sealed class UnavailableExceptionHandler(IProblemDetailsService problems, ILogger<UnavailableExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            var answer = AnswerFor(exception);
            if (!answer.IsOutage)
            {
                return false;
            }
            LogOutage(logger, answer);
            return await WriteAsync(context, exception, answer, problems);
        }
    }
}

/// <summary>The answer to a failed HTTP call: status, ProblemDetails title and detail (null: the defaults), the
/// Retry-After in seconds, and the outage's reason in words that carry no request data.</summary>
public sealed record FailureAnswer(int Status, string? Title, string? Detail, int? RetryAfterSeconds, string? Reason)
{
    public bool IsOutage => Status == StatusCodes.Status503ServiceUnavailable;
}
