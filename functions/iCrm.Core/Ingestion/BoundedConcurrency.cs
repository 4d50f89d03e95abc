namespace iCrm.Core.Ingestion;

/// <summary>
/// Runs store calls with at most a given number in flight, like <see cref="Parallel.ForEachAsync{TSource}(IEnumerable{TSource}, ParallelOptions, Func{TSource, CancellationToken, ValueTask})"/>,
/// but calls that complete synchronously (an in-memory store, an answer already cached) run one after another on the
/// caller's thread.
/// </summary>
/// <remarks>
/// Handing synchronous work to <c>Parallel.ForEachAsync</c> wakes thread-pool workers after every chunk, which then spin
/// waiting for more work, and moves the rest of the drop onto a pool thread (dotnet-trace of an in-process orders drop:
/// see docs/ingest-throughput.md). A real store (Cosmos DB, Azure Storage) answers asynchronously: from its first
/// pending call on, the remaining items go through <c>Parallel.ForEachAsync</c> as before, with that call counted among
/// the ones in flight.
/// </remarks>
internal static class BoundedConcurrency
{
    public static async ValueTask ForEachAsync<T>(IEnumerable<T> items, int maxConcurrency, CancellationToken cancellationToken,
        Func<T, CancellationToken, ValueTask> body)
    {
        using var remaining = items.GetEnumerator();
        while (remaining.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var call = body(remaining.Current, cancellationToken);
            if (call.IsCompleted)
            {
                // Done already: consume the ValueTask (it may come from a pooled source); a failure throws here, before any
                // further call starts.
                call.GetAwaiter().GetResult();
                continue;
            }
            if (maxConcurrency <= 1)
            {
                await call;
                continue;
            }
            // This store answers asynchronously: the rest run concurrently, alongside the call in flight.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var others = Parallel.ForEachAsync(Rest(remaining),
                new ParallelOptions { MaxDegreeOfParallelism = maxConcurrency - 1, CancellationToken = stop.Token }, body);
            try
            {
                await call;
            }
            catch
            {
                // As Parallel.ForEachAsync does: a failure starts no further calls, and none is left running.
                await stop.CancelAsync();
                await ((Task)others).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // the first failure is the one reported
                throw;
            }
            await others;
            return;
        }
    }

    /// <summary>The items after the enumerator's current one (Parallel.ForEachAsync takes turns on it under a lock).</summary>
    private static IEnumerable<T> Rest<T>(IEnumerator<T> items)
    {
        while (items.MoveNext())
        {
            yield return items.Current;
        }
    }
}
