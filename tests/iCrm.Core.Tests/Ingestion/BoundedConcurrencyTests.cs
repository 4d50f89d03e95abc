using iCrm.Core.Ingestion;

namespace iCrm.Core.Tests.Ingestion;

public sealed class BoundedConcurrencyTests
{
    [Fact]
    public async Task Calls_that_complete_synchronously_run_in_order_on_the_callers_thread()
    {
        var caller = Environment.CurrentManagedThreadId;
        var seen = new List<(int Item, int Thread)>();

        await BoundedConcurrency.ForEachAsync(Enumerable.Range(0, 100), maxConcurrency: 32, CancellationToken.None, (item, _) =>
        {
            seen.Add((item, Environment.CurrentManagedThreadId));
            return ValueTask.CompletedTask;
        });

        Assert.Equal(Enumerable.Range(0, 100), seen.Select(s => s.Item));
        Assert.All(seen, s => Assert.Equal(caller, s.Thread));
    }

    [Fact]
    public async Task Asynchronous_calls_run_concurrently_up_to_the_limit_and_each_item_once()
    {
        var inFlight = 0;
        var most = 0;
        var done = new System.Collections.Concurrent.ConcurrentBag<int>();

        await BoundedConcurrency.ForEachAsync(Enumerable.Range(0, 40), maxConcurrency: 4, CancellationToken.None, async (item, ct) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            await Task.Delay(5, ct);
            Interlocked.Decrement(ref inFlight);
            done.Add(item);
        });

        Assert.Equal(Enumerable.Range(0, 40), done.Order());
        Assert.InRange(most, 2, 4); // concurrent (a store's round trips overlap), never past the limit
    }

    [Fact]
    public async Task Synchronous_calls_before_the_first_asynchronous_one_run_inline_and_the_rest_still_complete()
    {
        var caller = Environment.CurrentManagedThreadId;
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();

        await BoundedConcurrency.ForEachAsync(Enumerable.Range(0, 20), maxConcurrency: 3, CancellationToken.None, async (item, _) =>
        {
            threads[item] = Environment.CurrentManagedThreadId;
            if (item >= 5)
            {
                await Task.Yield();
            }
        });

        Assert.Equal(20, threads.Count);
        Assert.All(Enumerable.Range(0, 6), i => Assert.Equal(caller, threads[i])); // item 5 starts inline and is the first to go asynchronous
    }

    [Fact]
    public async Task A_failed_asynchronous_call_fails_the_whole_run_with_its_own_exception()
    {
        var started = 0;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await BoundedConcurrency.ForEachAsync(Enumerable.Range(0, 1000), maxConcurrency: 2, CancellationToken.None, async (item, ct) =>
            {
                Interlocked.Increment(ref started);
                await Task.Yield();
                if (item == 0)
                {
                    throw new InvalidOperationException("store refused");
                }
                await Task.Delay(1, ct);
            }));

        Assert.Equal("store refused", error.Message);
        Assert.True(started < 1000, $"{started} calls started: a failure must stop further calls");
    }

    [Fact]
    public async Task A_synchronous_failure_propagates_and_later_items_are_not_started()
    {
        var started = new List<int>();

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await BoundedConcurrency.ForEachAsync(Enumerable.Range(0, 10), maxConcurrency: 4, CancellationToken.None, (item, _) =>
            {
                started.Add(item);
                return item == 3 ? ValueTask.FromException(new InvalidOperationException("bad")) : ValueTask.CompletedTask;
            }));

        Assert.Equal([0, 1, 2, 3], started);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
