using System.Collections.Immutable;
using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using iCrm.Azure.Health;
using iCrm.Core.Storage;
using iCrm.Functions.Hosting;
using iCrm.Functions.Tests.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Cosmos;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;

namespace iCrm.Functions.Tests;

/// <summary>
/// Under the Functions host an HTTP function that throws answers as it does locally: 503 ProblemDetails with the reason
/// and a Retry-After for an outage, 500 ProblemDetails without the exception's text for a bug; other triggers' exceptions
/// reach the host, which retries and poisons them.
/// </summary>
public sealed class HttpFailureMiddlewareTests : IDisposable
{
    private const string PersonalPath = "/api/customers/jane.doe@example.test";
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private static Exception Outage() => new CosmosException("Service is currently unavailable", HttpStatusCode.ServiceUnavailable, 0, "a", 1);

    private static Exception Bug() => new InvalidOperationException("bug near " + PersonalPath);

    [Fact]
    public void An_outage_maps_to_503_with_its_reason_and_a_retry_after_and_a_bug_to_a_bare_500()
    {
        var outage = DependencyOutages.AnswerFor(new AggregateException(Outage()));
        Assert.True(outage.IsOutage);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, outage.Status);
        Assert.Equal(DependencyOutages.RetryAfterSeconds, outage.RetryAfterSeconds);
        Assert.Equal("customer store: service unavailable (503)", outage.Reason);
        Assert.StartsWith(outage.Reason, outage.Detail);

        var bug = DependencyOutages.AnswerFor(Bug());
        Assert.False(bug.IsOutage);
        Assert.Equal(new FailureAnswer(StatusCodes.Status500InternalServerError, null, null, null, null), bug);
    }

    [Fact]
    public async Task An_http_function_that_hits_an_outage_answers_503_problem_details_with_retry_after()
    {
        var (context, http) = HttpInvocation();

        await new HttpFailureMiddleware(NullLogger<HttpFailureMiddleware>.Instance).Invoke(context, _ => throw Outage());

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, http.Response.StatusCode);
        Assert.Equal("10", http.Response.Headers.RetryAfter.ToString());
        Assert.StartsWith("application/problem+json", http.Response.ContentType);
        var problem = Body(http);
        Assert.Equal(503, (int)problem["status"]!);
        Assert.Equal("A dependency is unavailable", (string?)problem["title"]);
        Assert.StartsWith("customer store: service unavailable (503).", (string?)problem["detail"]);
    }

    [Fact]
    public async Task An_http_function_with_a_bug_answers_the_same_500_problem_details_as_the_local_host()
    {
        var local = await _app.With(s => s.RemoveAll<ICustomerStore>().AddSingleton(Failing<ICustomerStore>(Bug())))
            .CreateClient().GetAsync("/api/customers/c-1");
        var expected = await local.ProblemAsync(HttpStatusCode.InternalServerError);
        var (context, http) = HttpInvocation();
        http.Response.Headers["X-Half-Written"] = "yes";

        await new HttpFailureMiddleware(NullLogger<HttpFailureMiddleware>.Instance).Invoke(context, _ => throw Bug());

        Assert.Equal(StatusCodes.Status500InternalServerError, http.Response.StatusCode);
        Assert.False(http.Response.Headers.ContainsKey("X-Half-Written"), "what the function set before it threw is cleared");
        Assert.False(http.Response.Headers.ContainsKey("Retry-After"));
        Assert.StartsWith("application/problem+json", http.Response.ContentType);
        var problem = Body(http);
        Assert.Equal(500, (int)problem["status"]!);
        Assert.Equal((string?)expected["title"], (string?)problem["title"]);
        Assert.Equal((string?)expected["type"], (string?)problem["type"]);
        Assert.Null(problem["detail"]);
        Assert.DoesNotContain("jane.doe", problem.ToJsonString());
    }

    [Fact]
    public async Task A_successful_http_function_passes_through_untouched()
    {
        var (context, http) = HttpInvocation();

        await new HttpFailureMiddleware(NullLogger<HttpFailureMiddleware>.Instance).Invoke(context, c =>
        {
            c.GetHttpContext()!.Response.StatusCode = StatusCodes.Status202Accepted;
            return Task.CompletedTask;
        });

        Assert.Equal(StatusCodes.Status202Accepted, http.Response.StatusCode);
        Assert.Equal(0, http.Response.Body.Length);
    }

    [Fact]
    public async Task Exceptions_of_other_triggers_reach_the_host_so_drops_are_retried_and_poisoned()
    {
        var blobInvocation = new TestFunctionContext("Ingest", _app.Services);
        var failure = Outage();

        var thrown = await Assert.ThrowsAsync<CosmosException>(() =>
            new HttpFailureMiddleware(NullLogger<HttpFailureMiddleware>.Instance).Invoke(blobInvocation, _ => throw failure));

        Assert.Same(failure, thrown);
    }

    [Fact]
    public async Task A_caller_that_left_gets_no_problem_written()
    {
        var (context, http) = HttpInvocation();
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        http.RequestAborted = aborted.Token;

        await new HttpFailureMiddleware(NullLogger<HttpFailureMiddleware>.Instance).Invoke(context, _ => throw new OperationCanceledException(aborted.Token));

        Assert.Equal(StatusCodes.Status499ClientClosedRequest, http.Response.StatusCode);
        Assert.Equal(0, http.Response.Body.Length);
    }

    /// <summary>An HTTP invocation as the ASP.NET Core integration hands it to later middleware: the HttpContext in the
    /// function context's items, under the extension's own key (read from it, so a rename fails here).</summary>
    private (TestFunctionContext Context, DefaultHttpContext Http) HttpInvocation()
    {
        var http = new DefaultHttpContext { RequestServices = _app.Services };
        http.Request.Method = "GET";
        http.Request.Path = PersonalPath;
        http.Response.Body = new MemoryStream();
        var context = new TestFunctionContext("GetCustomer", _app.Services);
        context.Items[HttpContextKey()] = http;
        Assert.Same(http, context.GetHttpContext());
        return (context, http);
    }

    private static string HttpContextKey()
    {
        var constants = typeof(FunctionContextExtensions).Assembly.GetTypes().Single(t => t.Name == "Constants" && t.GetField("HttpContextKey", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public) is not null);
        return (string)constants.GetField("HttpContextKey", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)!.GetRawConstantValue()!;
    }

    private static JsonObject Body(HttpContext http)
    {
        http.Response.Body.Position = 0;
        return JsonNode.Parse(http.Response.Body)!.AsObject();
    }

    private static T Failing<T>(Exception failure) where T : class
    {
        var proxy = DispatchProxy.Create<T, DependencyOutageTests.FailingProxy>();
        ((DependencyOutageTests.FailingProxy)(object)proxy).Failure = failure;
        return proxy;
    }

    private sealed class TestFunctionContext(string name, IServiceProvider services) : FunctionContext
    {
        public override string InvocationId { get; } = Guid.NewGuid().ToString();
        public override string FunctionId => name;
        public override TraceContext TraceContext => throw new NotSupportedException();
        public override BindingContext BindingContext => throw new NotSupportedException();
        public override RetryContext RetryContext => throw new NotSupportedException();
        public override IServiceProvider InstanceServices { get; set; } = services;
        public override FunctionDefinition FunctionDefinition { get; } = new TestFunctionDefinition(name);
        public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
        public override IInvocationFeatures Features => throw new NotSupportedException();
    }

    private sealed class TestFunctionDefinition(string name) : FunctionDefinition
    {
        public override ImmutableArray<FunctionParameter> Parameters => [];
        public override string PathToAssembly => typeof(Program).Assembly.Location;
        public override string EntryPoint => name;
        public override string Id => name;
        public override string Name => name;
        public override IImmutableDictionary<string, BindingMetadata> InputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
        public override IImmutableDictionary<string, BindingMetadata> OutputBindings => ImmutableDictionary<string, BindingMetadata>.Empty;
    }
}
