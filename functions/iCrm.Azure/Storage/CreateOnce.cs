namespace iCrm.Azure.Storage;

/// <summary>
/// Runs a create-if-missing call (a blob container, a queue) once per client, and makes every concurrent first caller wait
/// for that same call. A flag set before the creation finished let a second caller use a container that did not exist
/// yet (404). A failed or cancelled creation is tried again by the next caller.
/// </summary>
public sealed class CreateOnce(Func<Task> create)
{
    private Task? _creation;

    public Task EnsureAsync(CancellationToken cancellationToken = default)
    {
        var creation = Volatile.Read(ref _creation);
        if (creation is null || creation.IsFaulted || creation.IsCanceled)
        {
            var started = create();
            creation = Interlocked.CompareExchange(ref _creation, started, creation) == creation ? started : Volatile.Read(ref _creation)!;
        }
        return creation.IsCompletedSuccessfully ? Task.CompletedTask : creation.WaitAsync(cancellationToken);
    }
}
