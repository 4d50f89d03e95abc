using iCrm.Functions.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;

if (args is ["--openapi", var documentPath])
{
    // The OpenAPI document from the code, without settings or a host (CI lints it).
    await using var documentation = new iCrm.Functions.Api.ApiDocumentation();
    await using var file = File.Create(documentPath);
    await documentation.WriteDocumentAsync(file);
}
else if (LocalHostSettings.StartedByFunctionsHost(args, Environment.GetEnvironmentVariable))
{
    // Under the Functions host (Azure, or Core Tools): the isolated worker with ASP.NET Core integration.
    var functions = FunctionsApplication.CreateBuilder(args);
    functions.ConfigureFunctionsWebApplication();
    // After the ASP.NET Core integration's middleware, so that the HttpContext is known: outages answer 503 as locally.
    functions.UseMiddleware<HttpFailureMiddleware>();
    // Roles: the same check as the local host's, before any function body runs.
    functions.UseMiddleware<iCrm.Functions.Api.ApiAccessMiddleware>();
    functions.AddIcrmFunctions();
    await functions.Build().RunAsync();
}
else
{
    // No host (local runs, tests): a plain ASP.NET Core app serving the same function classes.
    var builder = WebApplication.CreateBuilder(args);
    builder.AddIcrmLocalHost();
    var app = builder.Build();
    app.MapIcrmLocalHost();
    await app.RunAsync();
}

/// <summary>The app's entry point (public for WebApplicationFactory tests).</summary>
public partial class Program;
