namespace iCrm.Functions.Api;

/// <summary>The API's one error shape: RFC 9457 ProblemDetails. Details name the field and the limit, never the value a
/// caller sent (it may be personal data).</summary>
public static class ApiProblems
{
    public static IResult BadRequest(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid request", detail: detail);

    public static IResult NotFound(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);

    public static IResult Conflict(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail);

    public static IResult TooLarge(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large", detail: detail);

    public static IResult UnsupportedMediaType() =>
        Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
            detail: "Send the body as JSON with 'Content-Type: application/json'.");

    public static IResult Unavailable(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not available yet", detail: detail);

    public static IResult InvalidId(string id) =>
        BadRequest($"'{Truncate(id)}' is not a valid id: use 1-64 letters, digits, '-' or '_'.");

    private static string Truncate(string value) => value.Length <= 70 ? value : value[..70] + "…";
}
