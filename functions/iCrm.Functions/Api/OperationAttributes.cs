using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;

namespace iCrm.Functions.Api;

/// <summary>Declares a query parameter a function reads from its request, for the OpenAPI document (functions bind only
/// route values to method parameters, so query parameters are read in the body and described here).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class QueryParameterAttribute(string name, Type type, string description) : Attribute
{
    public string Name { get; } = name;
    public Type Type { get; } = type;
    public string Description { get; } = description;
}

/// <summary>Typed query values; a value of the wrong type is the caller's 400 naming the parameter.</summary>
public static class QueryParameters
{
    public static IResult? Int(HttpRequest request, string name, out int? value)
    {
        value = null;
        if (Raw(request, name) is not { } raw)
        {
            return null;
        }
        if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
            return null;
        }
        return ApiProblems.BadRequest($"Query parameter '{name}' must be an integer.");
    }

    public static IResult? Double(HttpRequest request, string name, out double? value)
    {
        value = null;
        if (Raw(request, name) is not { } raw)
        {
            return null;
        }
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
            return null;
        }
        return ApiProblems.BadRequest($"Query parameter '{name}' must be a number.");
    }

    public static IResult? Bool(HttpRequest request, string name, out bool? value)
    {
        value = null;
        if (Raw(request, name) is not { } raw)
        {
            return null;
        }
        if (bool.TryParse(raw, out var parsed))
        {
            value = parsed;
            return null;
        }
        return ApiProblems.BadRequest($"Query parameter '{name}' must be true or false.");
    }

    /// <summary>The value as sent (an empty value stays empty, so validation can reject it).</summary>
    public static string? String(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    private static string? Raw(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) && values.Count > 0 && values[0] is { Length: > 0 } value ? value : null;
}

/// <summary>An operation description held in a static string property, for descriptions that quote the limits in code
/// (attribute arguments must be constants).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DescriptionFromAttribute(Type holder, string property) : Attribute, IEndpointDescriptionMetadata
{
    public string Description { get; } = (string)holder.GetProperty(property, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
}

/// <summary>A ProblemDetails response (<c>application/problem+json</c>) the operation can answer with.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class ProducesProblemAttribute(int statusCode) : Attribute, IProducesResponseTypeMetadata
{
    private static readonly string[] ProblemContentTypes = ["application/problem+json"];

    public int StatusCode { get; } = statusCode;
    public Type? Type => typeof(Microsoft.AspNetCore.Mvc.ProblemDetails);
    public string? Description => null;
    public IEnumerable<string> ContentTypes => ProblemContentTypes;
}
