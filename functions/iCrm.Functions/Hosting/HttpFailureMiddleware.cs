using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace iCrm.Functions.Hosting;

/// <summary>
/// Under the Functions host, ASP.NET Core exception handlers do not run: an HTTP function that throws would leave the
/// host to answer a bare 500. This worker middleware gives such calls the local host's answers
/// (<see cref="DependencyOutages.AnswerFor"/>): 503 ProblemDetails with Retry-After for an outage, 500 ProblemDetails
/// otherwise. Exceptions of other triggers propagate untouched, so the blob extension still retries and poisons drops.
/// Register it after <c>ConfigureFunctionsWebApplication()</c>, inside the middleware that provides the HttpContext.
/// </summary>
public sealed class HttpFailureMiddleware(ILogger<HttpFailureMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        // A response already started cannot be replaced: the exception goes to the host, which ends the call.
        catch (Exception exception) when (context.GetHttpContext() is { Response.HasStarted: false } http)
        {
            if (exception is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
            {
                // The caller left: nobody reads an answer (ASP.NET Core's exception handler does the same).
                http.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
                return;
            }
            var answer = DependencyOutages.AnswerFor(exception);
            if (answer.IsOutage)
            {
                DependencyOutages.LogOutage(logger, answer);
            }
            else
            {
                logger.LogError(exception, "Function {Function} failed: answered 500", context.FunctionDefinition.Name);
            }
            http.Response.Clear();
            await DependencyOutages.WriteAsync(http, exception, answer, context.InstanceServices.GetRequiredService<IProblemDetailsService>());
        }
    }
}
