using iCrm.Azure.Health;
using Microsoft.AspNetCore.Diagnostics;

namespace iCrm.Functions.Hosting;

/// <summary>
/// While a dependency is down (store refused, throttled past its retries, timed out, database missing), every API call
/// answers 503 ProblemDetails with the reason and a Retry-After, instead of a 500 or a misleading 404.
/// </summary>
public static class DependencyOutages
{
    /// <summary>Seconds a client is asked to wait before trying again.</summary>
    public const int RetryAfterSeconds = 10;

    public static IServiceCollection AddDependencyOutageAnswers(this IServiceCollection services) =>
        services.AddExceptionHandler<UnavailableExceptionHandler>();

    internal sealed class UnavailableExceptionHandler(IProblemDetailsService problems, ILogger<UnavailableExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            if (!DependencyFailures.IsUnavailable(exception, out var reason))
            {
                return false;
            }
            // The reason only: exception messages can carry request paths, and with them ids.
            logger.LogWarning("Dependency unavailable ({Reason}): answered 503", reason);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                Exception = exception,
                ProblemDetails =
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "A dependency is unavailable",
                    Detail = $"{reason}. Try again in a few seconds; GET /api/health shows when it is back.",
                },
            });
        }
    }
}
