using System.Threading.Channels;
using iCrm.Azure.Store;
using iCrm.Core.Storage;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Hosting;

/// <summary>
/// Writes the audit entries of API reads off the request path: a read puts its entries in a bounded queue and answers; a
/// background writer takes them in batches and writes each batch concurrently, retrying failures. Trade-off: a read does not
/// wait for the store (an audit write costs about as much as the read itself), but entries still queued when the process is
/// killed without a shutdown are lost; on a normal shutdown the queue is drained first. When the queue is full a read waits
/// for room (no entry is dropped to keep a read fast). Changes, merges, exports and erasures write their entries directly.
/// </summary>
public sealed partial class AuditTrail(IAuditLog log, IOptions<AuditOptions> options, ILogger<AuditTrail> logger) : BackgroundService
{
    private const int Attempts = 4;
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(20);
    private readonly Channel<AuditEntry> _queue = Channel.CreateBounded<AuditEntry>(new BoundedChannelOptions(options.Value.QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });
    private long _pending;

    /// <summary>Entries queued or being written.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    public async ValueTask RecordAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _pending);
        try
        {
            await _queue.Writer.WriteAsync(entry, cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref _pending);
            throw;
        }
    }

    /// <summary>Waits until every entry queued so far is written (or given up on).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        while (Pending > 0)
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await WriteBatchAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Drain what the requests already queued (requests have stopped by now), within a limit.
        _queue.Writer.TryComplete();
        using var limit = new CancellationTokenSource(DrainLimit);
        while (_queue.Reader.Count > 0 && !limit.IsCancellationRequested)
        {
            await WriteBatchAsync(limit.Token);
        }
        if (_queue.Reader.Count > 0)
        {
            Log.EntriesLost(logger, _queue.Reader.Count);
        }
    }

    private async Task WriteBatchAsync(CancellationToken cancellationToken)
    {
        var batch = new List<AuditEntry>(options.Value.BatchSize);
        while (batch.Count < options.Value.BatchSize && _queue.Reader.TryRead(out var entry))
        {
            batch.Add(entry);
        }
        await Task.WhenAll(batch.Select(e => WriteAsync(e, cancellationToken)));
    }

    private async Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await log.WriteAsync(entry, cancellationToken);
                    return;
                }
                catch (Exception e) when (attempt < Attempts && !cancellationToken.IsCancellationRequested)
                {
                    Log.WriteRetried(logger, entry.Action, attempt, e.GetType().Name);
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt * attempt), cancellationToken);
                }
            }
        }
        catch (Exception e)
        {
            // The entry's action only: customer ids are pseudonymous but the log need not list who was read.
            Log.WriteFailed(logger, entry.Action, e);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Audit entry ({Action}) not written on attempt {Attempt} ({Error}): retrying")]
        public static partial void WriteRetried(ILogger logger, string action, int attempt, string error);

        [LoggerMessage(Level = LogLevel.Error, Message = "Audit entry ({Action}) could not be written: given up")]
        public static partial void WriteFailed(ILogger logger, string action, Exception exception);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Count} audit entries still queued at shutdown were not written")]
        public static partial void EntriesLost(ILogger logger, int count);
    }
}
