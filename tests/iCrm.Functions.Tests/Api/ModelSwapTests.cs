using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using iCrm.Ml.Training;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.Functions.Tests.Api;

/// <summary>A new champion is picked up without a restart and without a failed request while it is swapped in.</summary>
public sealed class ModelSwapTests : IDisposable
{
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Promoting_a_new_champion_under_load_fails_no_request_and_the_new_version_is_served()
    {
        var client = _app.CreateClient();
        var first = await _app.TrainChurnAsync(client);
        _app.Services.GetRequiredService<ChampionModels>().RefreshInterval = TimeSpan.FromMilliseconds(20);
        var ids = _app.Customers.All().Select(p => p.Id).Take(8).ToList();
        var failures = new ConcurrentBag<string>();
        var served = new ConcurrentDictionary<string, int>();
        string? second = null;
        var sawSecond = new TaskCompletionSource();
        using var stop = new CancellationTokenSource();

        async Task LoopAsync(int worker)
        {
            var workerClient = _app.CreateClient();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var response = i % 2 == 0
                    ? await workerClient.GetAsync($"/api/customers/{ids[(worker + i) % ids.Count]}/scores")
                    : await workerClient.PostAsync("/api/score", ApiTestKit.Json($"{{\"orders\":[{{\"orderId\":\"A\",\"line\":1,\"date\":\"{DateTimeOffset.UtcNow.AddDays(-20):O}\",\"quantity\":1,\"amount\":10,\"channel\":\"web\",\"returned\":false}}]}}"));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    continue;
                }
                var version = (await response.Content.ReadFromJsonAsync<JsonObject>())!["modelVersions"]!["churn"]!.GetValue<string>();
                served.AddOrUpdate(version, 1, (_, n) => n + 1);
                if (version == Volatile.Read(ref second))
                {
                    sawSecond.TrySetResult();
                }
            }
        }

        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() => LoopAsync(w))).ToList();
        await Task.Delay(200);
        var run = await client.TrainAsync("[\"churn\"]");
        Assert.True(run["models"]!["churn"]!["promoted"]!.GetValue<bool>(), run.ToJsonString());
        Volatile.Write(ref second, run["models"]!["churn"]!["version"]!.GetValue<string>());
        var picked = await Task.WhenAny(sawSecond.Task, Task.Delay(TimeSpan.FromSeconds(20)));
        await Task.Delay(100);
        stop.Cancel();
        await Task.WhenAll(workers);

        Assert.Empty(failures);
        Assert.Same(sawSecond.Task, picked);
        Assert.NotEqual(first, second);
        Assert.True(served.GetValueOrDefault(first) > 0, "the first champion served requests before the swap");
        Assert.True(served.GetValueOrDefault(second!) > 0, "the new champion served requests after the swap");
        Assert.Equal(second, (await _app.Registry.GetChampionAsync("churn"))!.Value.Version);
    }
}
