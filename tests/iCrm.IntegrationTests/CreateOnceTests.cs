using iCrm.Azure.Storage;

namespace iCrm.IntegrationTests;

public sealed class CreateOnceTests
{
    [Fact]
    public async Task Concurrent_first_callers_all_wait_for_the_one_creation()
    {
        var calls = 0;
        var creation = new TaskCompletionSource();
        var once = new CreateOnce(() =>
        {
            Interlocked.Increment(ref calls);
            return creation.Task;
        });

        var first = once.EnsureAsync();
        var second = once.EnsureAsync();

        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted); // the second caller does not run ahead of a creation still under way
        creation.SetResult();
        await Task.WhenAll(first, second);
        await once.EnsureAsync();
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_failed_creation_is_tried_again_by_the_next_caller()
    {
        var calls = 0;
        var once = new CreateOnce(() => ++calls == 1 ? Task.FromException(new IOException("storage unavailable")) : Task.CompletedTask);

        await Assert.ThrowsAsync<IOException>(() => once.EnsureAsync());
        await once.EnsureAsync();

        Assert.Equal(2, calls);
    }
}
