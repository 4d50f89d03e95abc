namespace iCrm.Azure.Health;

/// <summary>
/// What the app last saw of the customer store, shared by the Cosmos pipeline (which records failures and recoveries),
/// the containers (which re-create a store that came back empty) and health.
/// </summary>
public sealed class StoreState(TimeProvider time)
{
    private readonly Lock _gate = new();
    private string? _lastFailure;
    private DateTimeOffset? _failingSince;
    private Func<CancellationToken, Task>? _recreate;

    /// <summary>Bumped whenever a request fails for transport reasons: the server may have restarted (and lost its data).</summary>
    public int Generation { get; private set; }

    public (string? Reason, DateTimeOffset? Since) Failure
    {
        get
        {
            lock (_gate)
            {
                return (_lastFailure, _failingSince);
            }
        }
    }

    public void RecordFailure(string reason, bool transport)
    {
        lock (_gate)
        {
            _lastFailure = reason;
            _failingSince ??= time.GetUtcNow();
            if (transport)
            {
                Generation++;
            }
        }
    }

    public void RecordSuccess()
    {
        if (_failingSince is null)
        {
            return;
        }
        lock (_gate)
        {
            _lastFailure = null;
            _failingSince = null;
        }
    }

    /// <summary>Set by <see cref="Store.CosmosContainers"/> when it may create what is missing (local server only).</summary>
    public void OnMissing(Func<CancellationToken, Task> recreate) => _recreate = recreate;

    public Func<CancellationToken, Task>? Recreate => _recreate;
}
