using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Api;

/// <summary>The API's input limits in one place, so the OpenAPI descriptions, the checks and the tests agree.</summary>
public static class RequestLimits
{
    public const int MaxBodyBytes = 1024 * 1024;
    public const int MinPageSize = 1;
    public const int MaxPageSize = 500;
    public const int DefaultPageSize = 50;
    public const int MaxBatchIds = 1_000;
    public const int MinTop = 1;
    public const int MaxTop = 100;
    public const int MaxSentimentTexts = 100;
    public const int MaxSentimentTextLength = 5_000;

    /// <summary>Answers 413 before reading an API body whose declared length is over the limit, and caps what Kestrel will
    /// read of a body without a declared length (local host; under the Functions host, JsonBody enforces the same limit).</summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/api"))
            {
                await next(context);
                return;
            }
            if (context.Request.ContentLength > MaxBodyBytes)
            {
                await ApiProblems.TooLarge($"The body may be at most {MaxBodyBytes:N0} bytes.").ExecuteAsync(context);
                return;
            }
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = MaxBodyBytes;
            }
            await next(context);
        });

    public static string? CheckPageSize(int size) =>
        size is < MinPageSize or > MaxPageSize ? $"pageSize must be between {MinPageSize} and {MaxPageSize}." : null;
}

/// <summary>
/// Reads a JSON request body with the limits above: 413 over 1 MB (also without a Content-Length), 415 for another
/// content type, 400 for an empty or malformed body naming where it broke (the JSON path, never the value).
/// </summary>
public static class JsonBody
{
    public readonly record struct Read<T>(T? Value, IResult? Problem);

    public static async Task<Read<T>> ReadAsync<T>(HttpRequest request, bool optional = false) where T : class
    {
        if (request.ContentLength == 0 || request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false)
        {
            return optional ? new(null, null) : new(null, ApiProblems.BadRequest("The request body is empty: send a JSON document."));
        }
        if (!request.HasJsonContentType())
        {
            return new(null, ApiProblems.UnsupportedMediaType());
        }
        if (request.ContentLength > RequestLimits.MaxBodyBytes)
        {
            return new(null, ApiProblems.TooLarge($"The body may be at most {RequestLimits.MaxBodyBytes:N0} bytes."));
        }
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is { } declared ? (int)declared : 16 * 1024);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > RequestLimits.MaxBodyBytes)
                    {
                        return new(null, ApiProblems.TooLarge($"The body may be at most {RequestLimits.MaxBodyBytes:N0} bytes."));
                    }
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read;
                try
                {
                    read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    return new(null, ApiProblems.TooLarge($"The body may be at most {RequestLimits.MaxBodyBytes:N0} bytes."));
                }
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > RequestLimits.MaxBodyBytes)
                {
                    return new(null, ApiProblems.TooLarge($"The body may be at most {RequestLimits.MaxBodyBytes:N0} bytes."));
                }
            }
            if (length == 0)
            {
                return optional ? new(null, null) : new(null, ApiProblems.BadRequest("The request body is empty: send a JSON document."));
            }
            var options = request.HttpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            try
            {
                var value = JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), options);
                return value is null
                    ? new(null, ApiProblems.BadRequest("The request body is JSON null: send a JSON object."))
                    : new(value, null);
            }
            catch (JsonException e)
            {
                // The serializer's message names the JSON path and position (not the value), which is what the caller needs.
                return new(null, ApiProblems.BadRequest($"The body is not valid JSON for this operation: {e.Message}"));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
