using iCrm.Azure.Store;
using iCrm.Ml.Registry;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Api;

/// <summary>Readiness of what the API depends on (anonymous, for probes).</summary>
public sealed class Health(CosmosContainers cosmos, IModelRegistry registry)
{
    [Function("Health")]
    [PublicEndpoint]
    [Tags("Health")]
    [EndpointSummary("Readiness of the customer store and the model registry (anonymous).")]
    [ProducesResponseType<HealthReport>(StatusCodes.Status200OK)]
    [ProducesResponseType<HealthReport>(StatusCodes.Status503ServiceUnavailable)]
    public async Task<IResult> Check(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest req, CancellationToken ct)
    {
        var checks = new Dictionary<string, string>();
        try
        {
            await cosmos.EnsureCreatedAsync(ct);
            await cosmos.Database.ReadAsync(cancellationToken: ct);
            checks["store"] = "ok";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            checks["store"] = $"unavailable: {e.GetType().Name}";
        }
        try
        {
            await registry.ListVersionsAsync(ModelKinds.Churn, ct);
            checks["registry"] = "ok";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            checks["registry"] = $"unavailable: {e.GetType().Name}";
        }
        var healthy = checks.Values.All(v => v == "ok");
        return Results.Json(new HealthReport(healthy ? "healthy" : "unhealthy", checks),
            statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
