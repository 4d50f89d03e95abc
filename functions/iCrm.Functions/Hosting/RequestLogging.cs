using System.Diagnostics;

namespace iCrm.Functions.Hosting;

/// <summary>
/// Request logging that cannot leak personal data: one line per request with the method, the matched route
/// <em>template</em> (<c>/api/customers/by-source/{source}/{sourceId}</c>, never the values in it), the status and the
/// duration; no query string, no body. It is logged at Information under <see cref="Category"/>, which is off
/// (Warning) by default, and ASP.NET Core's own request logs, which write the raw path and query, are held at Warning
/// unless a setting names them.
/// </summary>
public static partial class RequestLogging
{
    public const string Category = "iCrm.Requests";

    public static IHostApplicationBuilder AddRequestLogging(this IHostApplicationBuilder builder)
    {
        var levels = builder.Configuration.GetSection("Logging:LogLevel");
        foreach (var category in new[] { Category, "Microsoft.AspNetCore" })
        {
            // A category named in Logging__LogLevel keeps its configured level; the default is quiet.
            if (levels[category] is null)
            {
                builder.Logging.AddFilter(category, LogLevel.Warning);
            }
        }
        return builder;
    }

    public static IApplicationBuilder UseRequestLogging(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            if (!logger.IsEnabled(LogLevel.Information))
            {
                await next(context);
                return;
            }
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
                Served(logger, context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Route} answered {Status} in {ElapsedMs:0.0} ms")]
    private static partial void Served(ILogger logger, string method, string route, int status, double elapsedMs);
}
