using iCrm.Azure.Store;
using iCrm.Ml;
using iCrm.Ml.Registry;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Health;

/// <summary>One dependency's state: <c>ok</c>, or <c>unavailable: {reason}</c>.</summary>
public sealed record DependencyCheck(string Name, bool Healthy, string Status);

/// <summary>
/// Readiness of the customer store and the model registry, each probed once with a short time limit (health must
/// answer while a dependency is down, not wait out its retries). A local store that came back empty is created again.
/// </summary>
public sealed class DependencyHealth(CosmosContainers cosmos, IModelRegistry registry)
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public async Task<IReadOnlyList<DependencyCheck>> CheckAsync(CancellationToken cancellationToken)
    {
        var store = ProbeAsync("store", ProbeStoreAsync, cancellationToken);
        var models = ProbeAsync("registry", ct => registry.ListVersionsAsync(ModelKinds.Churn, ct), cancellationToken);
        return [await store, await models];
    }

    private async Task ProbeStoreAsync(CancellationToken cancellationToken)
    {
        await cosmos.EnsureCreatedAsync(cancellationToken);
        try
        {
            await ReadContainersAsync(cancellationToken);
        }
        catch (CosmosException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // The server came back empty without a failed request in between: create again (local only), then look again.
            await cosmos.RecreateAsync(cancellationToken);
            await ReadContainersAsync(cancellationToken);
        }
    }

    private async Task ReadContainersAsync(CancellationToken cancellationToken)
    {
        foreach (var name in ResourceNames.CosmosContainers.Keys)
        {
            // Every container, not just the database: a server restarted empty and half re-created is not ready.
            await cosmos.Database.GetContainer(name).ReadContainerAsync(
                new ContainerRequestOptions { Properties = new Dictionary<string, object> { [TransientRetryHandler.SingleAttempt] = true } },
                cancellationToken);
        }
    }

    private static async Task<DependencyCheck> ProbeAsync(string name, Func<CancellationToken, Task> probe, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await probe(timeout.Token);
            return new DependencyCheck(name, true, "ok");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DependencyCheck(name, false, $"unavailable: no answer within {ProbeTimeout.TotalSeconds:0} s");
        }
        catch (CosmosException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return new DependencyCheck(name, false, "unavailable: " + DependencyFailures.StoreMissing);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new DependencyCheck(name, false, "unavailable: " + DependencyFailures.Describe(e));
        }
    }
}
