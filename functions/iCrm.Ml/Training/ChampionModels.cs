using System.Collections.Concurrent;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Training;

/// <summary>Why a kind cannot be scored right now (no champion yet, or its bundle is unreadable).</summary>
public sealed record ChampionUnavailable(string Kind, string Reason);

/// <summary>
/// The champion of each model kind, loaded once and swapped in place when a new champion is promoted, so the API picks
/// up new models without a restart and without failing requests during the swap (the old scorer serves until the new one
/// is loaded).
/// </summary>
public sealed class ChampionModels(IModelRegistry registry, IEnumerable<IModelLoader> loaders, TimeProvider time)
{
    private sealed record Slot(IProfileScorer? Scorer, string? Reason, DateTimeOffset CheckedAt);

    private readonly ConcurrentDictionary<string, Slot> _slots = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly Dictionary<string, IModelLoader> _loaders = loaders.ToDictionary(l => l.Kind);

    /// <summary>How long a loaded champion is served before the pointer is checked again.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    public ValueTask<(IProfileScorer? Scorer, ChampionUnavailable? Unavailable)> GetAsync(string kind, CancellationToken cancellationToken = default)
    {
        // The hot path (a loaded champion) completes synchronously: no state machine, no allocation per request.
        if (_slots.TryGetValue(kind, out var slot) && slot.Scorer is not null)
        {
            if (time.GetUtcNow() - slot.CheckedAt >= RefreshInterval)
            {
                RefreshInBackground(kind, slot);
            }
            return ValueTask.FromResult(Result(kind, slot));
        }
        return GetSlowAsync(kind, cancellationToken);
    }

    private async ValueTask<(IProfileScorer? Scorer, ChampionUnavailable? Unavailable)> GetSlowAsync(string kind, CancellationToken cancellationToken)
    {
        if (_slots.TryGetValue(kind, out var slot))
        {
            if (time.GetUtcNow() - slot.CheckedAt >= RefreshInterval && slot.Scorer is not null)
            {
                // Serve the loaded champion while one background refresh reads the pointer (and loads a new
                // version if there is one), so no request waits on the registry.
                RefreshInBackground(kind, slot);
                return Result(kind, slot);
            }
            if (time.GetUtcNow() - slot.CheckedAt < RefreshInterval)
            {
                return Result(kind, slot);
            }
        }
        var gate = Gate(kind);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (_slots.TryGetValue(kind, out slot) && time.GetUtcNow() - slot.CheckedAt < RefreshInterval)
            {
                return Result(kind, slot);
            }
            slot = await RefreshAsync(kind, slot, cancellationToken);
            _slots[kind] = slot;
            return Result(kind, slot);
        }
        finally
        {
            gate.Release();
        }
    }

    private SemaphoreSlim Gate(string kind) => _locks.GetOrAdd(kind, _ => new SemaphoreSlim(1, 1));

    private void RefreshInBackground(string kind, Slot current)
    {
        var gate = Gate(kind);
        if (!gate.Wait(0))
        {
            return; // a refresh is already under way
        }
        _ = Task.Run(async () =>
        {
            try
            {
                _slots[kind] = await RefreshAsync(kind, current, CancellationToken.None);
            }
            finally
            {
                gate.Release();
            }
        });
    }

    /// <summary>Forgets what was checked, so the next request reads the champion pointers again.</summary>
    public void Invalidate() => _slots.Clear();

    private static (IProfileScorer?, ChampionUnavailable?) Result(string kind, Slot slot) =>
        slot.Scorer is not null ? (slot.Scorer, null) : (null, new ChampionUnavailable(kind, slot.Reason ?? "unavailable"));

    private async Task<Slot> RefreshAsync(string kind, Slot? current, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!_loaders.TryGetValue(kind, out var loader))
        {
            return new Slot(null, $"No scorer is registered for model kind '{kind}'.", now);
        }
        try
        {
            var champion = await registry.GetChampionAsync(kind, cancellationToken);
            if (champion is null)
            {
                return new Slot(null, $"No {kind} model has been trained yet: run training (POST /api/train) first.", now);
            }
            if (current?.Scorer?.Version == champion.Value.Version)
            {
                return current with { CheckedAt = now };
            }
            var card = await registry.GetCardAsync(kind, champion.Value.Version, cancellationToken)
                ?? throw new InvalidDataException($"Model card of {kind} {champion.Value.Version} is missing.");
            await using var bundle = await registry.OpenBundleAsync(kind, champion.Value.Version, cancellationToken)
                ?? throw new InvalidDataException($"Model bundle of {kind} {champion.Value.Version} is missing.");
            return new Slot(loader.Load(bundle, card), null, now);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Keep serving the model we have; only report unavailability when there is nothing to serve.
            return current?.Scorer is not null
                ? current with { CheckedAt = now }
                : new Slot(null, $"The {kind} champion could not be loaded: {e.Message}", now);
        }
    }
}
