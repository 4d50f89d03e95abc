using iCrm.Functions.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.Functions.Tests;

/// <summary>The HTTP function classes called directly, as the isolated worker calls them: created from the app's
/// services, given an HttpRequest and the route values, answering an IResult.</summary>
public sealed class HttpFunctionClassTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private (T Function, HttpRequest Request, AsyncServiceScope Scope) Create<T>(string? query = null) where T : class
    {
        _ = _app.Server;
        var scope = _app.Services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.QueryString = new QueryString(query);
        return (ActivatorUtilities.CreateInstance<T>(scope.ServiceProvider), context.Request, scope);
    }

    private static int Status(IResult result) => Assert.IsAssignableFrom<IStatusCodeHttpResult>(result).StatusCode ?? 200;

    [Fact]
    public async Task Customers_answers_404_for_an_unknown_id_and_400_for_a_malformed_one()
    {
        var (customers, request, scope) = Create<Customers>();
        await using var _ = scope;

        Assert.Equal(404, Status(await customers.GetCustomer(request, "c-unknown", CancellationToken.None)));
        Assert.Equal(400, Status(await customers.GetCustomer(request, "not an id!", CancellationToken.None)));
    }

    [Fact]
    public async Task Customers_reads_its_query_parameters_from_the_request_and_rejects_a_value_of_the_wrong_type()
    {
        var (customers, request, scope) = Create<Customers>("?pageSize=ten");
        await using var _ = scope;

        var result = await customers.ListCustomers(request, CancellationToken.None);

        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(400, problem.StatusCode);
        Assert.Contains("pageSize", problem.ProblemDetails.Detail);
    }

    [Fact]
    public async Task Models_lists_every_kind_without_a_champion_before_training()
    {
        var (models, request, scope) = Create<Models>();
        await using var _ = scope;

        var list = Assert.IsType<Ok<ModelList>>(await models.ListModels(request, CancellationToken.None));

        Assert.Equal(iCrm.Ml.Registry.ModelKinds.All.Count, list.Value!.Items.Count);
        Assert.All(list.Value.Items, k => Assert.Null(k.Champion));
    }

    [Fact]
    public async Task Ingestions_and_Training_answer_404_for_unknown_ids()
    {
        var (ingestions, request, scope) = Create<Ingestions>();
        await using var _ = scope;
        var training = ActivatorUtilities.CreateInstance<Training>(scope.ServiceProvider);

        Assert.Equal(404, Status(await ingestions.GetIngestion(request, "0123456789abcdef", CancellationToken.None)));
        Assert.Equal(404, Status(await training.GetTrainingRun(request, "run-1", CancellationToken.None)));
    }

    [Fact]
    public async Task Scores_refuses_a_body_that_is_not_JSON_with_415()
    {
        var (scores, request, scope) = Create<Scores>();
        await using var _ = scope;
        request.Method = "POST";
        request.ContentType = "text/plain";
        request.Body = new MemoryStream("hello"u8.ToArray());
        request.ContentLength = 5;

        Assert.Equal(415, Status(await scores.ScoreProfile(request, CancellationToken.None)));
    }

    [Fact]
    public async Task ApiReference_serves_the_OpenAPI_document_into_the_functions_response()
    {
        var (reference, request, scope) = Create<ApiReference>();
        await using var _ = scope;
        request.Method = "GET";
        request.Path = ApiDocumentation.DocumentPath;
        var body = new MemoryStream();
        request.HttpContext.Response.Body = body;

        await reference.OpenApi(request).ExecuteAsync(request.HttpContext);

        Assert.Equal(200, request.HttpContext.Response.StatusCode);
        var document = System.Text.Json.Nodes.JsonNode.Parse(body.ToArray())!;
        Assert.NotNull(document["paths"]!["/api/customers/{id}"]);
        Assert.Same(scope.ServiceProvider, request.HttpContext.RequestServices);
    }
}
