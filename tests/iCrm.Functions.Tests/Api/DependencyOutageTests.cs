using System.Net;
using System.Reflection;
using iCrm.Azure.Health;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace iCrm.Functions.Tests.Api;

/// <summary>While the store is down, calls answer 503 ProblemDetails with the reason, never 500 or a misleading 404.</summary>
public sealed class DependencyOutageTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    public static TheoryData<string> Failures() => ["unavailable", "throttled", "refused", "container-missing"];

    private static Exception Failure(string kind) => kind switch
    {
        "unavailable" => new CosmosException("Service is currently unavailable", HttpStatusCode.ServiceUnavailable, 0, "a", 1),
        "throttled" => new CosmosException("Request rate is large", HttpStatusCode.TooManyRequests, 0, "a", 1),
        "refused" => new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:8081)"),
        _ => new CosmosException("Owner resource does not exist", HttpStatusCode.NotFound, 1003, "a", 1),
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Customer_and_ingestion_calls_answer_503_with_the_reason_while_the_store_is_down(string kind)
    {
        var client = _app.With(s =>
        {
            s.RemoveAll<ICustomerStore>().AddSingleton(Failing<ICustomerStore>(Failure(kind)));
            s.RemoveAll<IIngestionLedger>().AddSingleton(Failing<IIngestionLedger>(Failure(kind)));
            s.RemoveAll<IIdentityStore>().AddSingleton(Failing<IIdentityStore>(Failure(kind)));
        }).CreateClient();

        foreach (var path in new[] { "/api/customers/c-1", "/api/customers/by-source/web/42", "/api/customers?pageSize=5", "/api/ingestions", "/api/ingestions/d-1" })
        {
            var response = await client.GetAsync(path);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(response.Headers.RetryAfter);
            var problem = await response.Content.ReadAsStringAsync();
            Assert.Contains("customer store", problem);
            Assert.DoesNotContain("127.0.0.1", problem); // the reason, not the exception's text
        }
    }

    [Fact]
    public async Task A_bug_is_still_a_500_not_a_503()
    {
        var client = _app.With(s => s.RemoveAll<ICustomerStore>().AddSingleton(Failing<ICustomerStore>(new InvalidOperationException("bug")))).CreateClient();

        var response = await client.GetAsync("/api/customers/c-1");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
    }

    [Fact]
    public void Outages_are_told_from_bugs_and_described_without_request_data()
    {
        Assert.True(DependencyFailures.IsUnavailable(new AggregateException(new HttpRequestException("x", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused))), out var refused));
        Assert.Equal("customer store: connection refused", refused);
        Assert.True(DependencyFailures.IsUnavailable(new global::Azure.RequestFailedException(503, "down /drops/jane.doe@example.com"), out var storage));
        Assert.Equal("storage: answered 503", storage);
        Assert.False(DependencyFailures.IsUnavailable(new CosmosException("missing", HttpStatusCode.NotFound, 0, "a", 1), out _));
        Assert.False(DependencyFailures.IsUnavailable(new global::Azure.RequestFailedException(404, "missing"), out _));
        Assert.False(DependencyFailures.IsUnavailable(new ArgumentException("bug"), out _));
    }

    private static T Failing<T>(Exception failure) where T : class
    {
        var proxy = DispatchProxy.Create<T, FailingProxy>();
        ((FailingProxy)(object)proxy).Failure = failure;
        return proxy;
    }

    public class FailingProxy : DispatchProxy
    {
        public Exception Failure { get; set; } = new InvalidOperationException();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var type = targetMethod!.ReturnType;
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Task<>))
            {
                var fromException = typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!.MakeGenericMethod(type.GetGenericArguments()[0]);
                return fromException.Invoke(null, [Failure]);
            }
            return type == typeof(Task) ? Task.FromException(Failure) : throw Failure;
        }
    }
}
