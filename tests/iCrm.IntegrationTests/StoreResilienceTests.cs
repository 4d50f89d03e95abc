using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using iCrm.Azure.Connections;
using iCrm.Azure.Health;
using iCrm.Azure.Store;
using iCrm.Core.Profiles;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.IntegrationTests;

/// <summary>
/// Transient store failures injected into the Cosmos SDK's own pipeline (inside iCrm's retry handler, as the service
/// would produce them) are waited out; a store that stays down surfaces as unavailable, never as a missing customer.
/// </summary>
public sealed class StoreResilienceTests : IDisposable
{
    private readonly FaultInjector _faults = new();
    private readonly ServiceProvider _services;
    private readonly CosmosCustomerStore _customers;
    private readonly StoreState _state;

    public StoreResilienceTests()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>(LocalStack.Settings())
        {
            ["IcrmCosmos:maxRetries"] = "4",
            ["IcrmCosmos:retryBaseDelay"] = "00:00:00.020",
            ["IcrmCosmos:requestTimeout"] = "00:00:00.500",
        }).Build();
        _services = LocalStack.AzureClientsFor(config, s => s.AddSingleton(new CosmosHandlerFactory(() => _faults)).AddSingleton<CosmosContainers>());
        _customers = new CosmosCustomerStore(_services.GetRequiredService<CosmosContainers>());
        _state = _services.GetRequiredService<StoreState>();
    }

    public void Dispose() => _services.Dispose();

    private static CustomerProfile Profile(string id) => new() { Id = id, CreatedAt = DateTimeOffset.UtcNow, Contact = new ContactDetails { City = "Lyon" } };

    [Fact]
    public async Task Throttling_with_a_retry_after_is_waited_out_and_the_write_lands_once()
    {
        var id = "c" + LocalStack.Unique();
        await _customers.GetAsync(id); // containers exist before the faults start
        _faults.Enqueue(Fault.Throttled, Fault.Throttled, Fault.Throttled);

        Assert.NotNull(await _customers.TryCreateAsync(Profile(id)));

        Assert.Equal(3, _faults.Injected);
        Assert.Equal("Lyon", (await _customers.GetAsync(id))!.Value.Contact.City);
        Assert.Null(_state.Failure.Reason);
    }

    [Fact]
    public async Task Service_unavailable_refused_connections_and_hung_requests_are_retried_with_backoff()
    {
        var id = "c" + LocalStack.Unique();
        Assert.NotNull(await _customers.TryCreateAsync(Profile(id)));
        _faults.Enqueue(Fault.Unavailable, Fault.Refused, Fault.Hang, Fault.Unavailable);

        var read = await _customers.GetAsync(id);

        Assert.Equal(4, _faults.Injected);
        Assert.Equal(id, read!.Value.Id);
        Assert.Null(_state.Failure.Reason);
    }

    [Fact]
    public async Task A_store_that_stays_down_is_reported_unavailable_with_its_reason_and_recovers_by_itself()
    {
        var id = "c" + LocalStack.Unique();
        Assert.NotNull(await _customers.TryCreateAsync(Profile(id)));
        _faults.Enqueue(Enumerable.Repeat(Fault.Unavailable, 5).ToArray()); // one attempt + 4 retries

        var error = await Assert.ThrowsAnyAsync<Exception>(() => _customers.GetAsync(id));

        Assert.True(DependencyFailures.IsUnavailable(error, out var reason), error.ToString());
        Assert.Contains("503", reason);
        Assert.Contains("503", _state.Failure.Reason);
        // The dependency is back: the same store object works again, no restart.
        Assert.Equal(id, (await _customers.GetAsync(id))!.Value.Id);
        Assert.Null(_state.Failure.Reason);
    }

    internal enum Fault
    {
        Throttled,
        Unavailable,
        Refused,
        Hang,
    }

    /// <summary>Answers document requests with queued faults before they reach the server.</summary>
    internal sealed class FaultInjector : RequestHandler
    {
        private readonly ConcurrentQueue<Fault> _queue = new();
        private int _injected;

        public int Injected => _injected;

        public void Enqueue(params Fault[] faults)
        {
            foreach (var fault in faults)
            {
                _queue.Enqueue(fault);
            }
        }

        // Item reads name the item (…/docs/{id}); item writes are POSTs to the container (…/colls/{name}).
        private static bool IsItemRequest(RequestMessage request) =>
            request.RequestUri?.OriginalString is { } uri
            && (uri.Contains("/docs", StringComparison.Ordinal) || (request.Method == HttpMethod.Post && uri.Contains("/colls/", StringComparison.Ordinal)));

        public override async Task<ResponseMessage> SendAsync(RequestMessage request, CancellationToken cancellationToken)
        {
            if (!IsItemRequest(request) || !_queue.TryDequeue(out var fault))
            {
                return await base.SendAsync(request, cancellationToken);
            }
            Interlocked.Increment(ref _injected);
            switch (fault)
            {
                case Fault.Throttled:
                    var throttled = new ResponseMessage(HttpStatusCode.TooManyRequests, request, "Request rate is large");
                    throttled.Headers["x-ms-retry-after-ms"] = "30";
                    return throttled;
                case Fault.Unavailable:
                    return new ResponseMessage(HttpStatusCode.ServiceUnavailable, request, "Service is currently unavailable");
                case Fault.Refused:
                    throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));
                default:
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                    throw new InvalidOperationException("unreachable");
            }
        }
    }
}
