using Azure.Storage.Blobs;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Functions.Tests.Api;
using iCrm.Ml.Registry;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace iCrm.Functions.Tests;

/// <summary>The non-HTTP functions called as the Functions host (or the local triggers) calls them: Ingest with the
/// BlobClient of a created blob, Train with a TimerInfo.</summary>
public sealed class FunctionContractTests : IDisposable
{
    private const string OrdersCsv = "order_id,customer_id,order_date,amount\nA-1,42,2025-01-05,19.90\nA-2,42,2025-02-07,5.00\n";
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    private static BlobClient Blob(string path) => new(new Uri($"https://acct.blob.core.windows.net/drops/{path}"));

    [Fact]
    public async Task Ingest_ingests_the_drop_the_blob_trigger_names_and_returns_its_report()
    {
        _app.Drops.Put("web/orders/2025-02.csv", OrdersCsv);

        var report = await _app.InvokeIngestAsync(Blob("web/orders/2025-02.csv"));

        Assert.NotNull(report);
        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal(2, report.RowsAccepted);
        var profile = Assert.Single(_app.Customers.All());
        Assert.Equal(2, profile.Orders.Count);
        Assert.Contains(new SourceIdentity("web", "42"), profile.Identities);
        Assert.NotNull(await _app.Ledger.GetAsync(report.Id));
    }

    [Fact]
    public async Task Delivering_the_same_blob_twice_changes_nothing_the_second_time()
    {
        _app.Drops.Put("web/orders/o.csv", OrdersCsv);

        var first = await _app.InvokeIngestAsync(Blob("web/orders/o.csv"));
        var writes = _app.Customers.Writes;
        var second = await _app.InvokeIngestAsync(Blob("web/orders/o.csv"));

        Assert.Equal(first!.Id, second!.Id);
        Assert.Equal(writes, _app.Customers.Writes);
        Assert.Equal(2, _app.Customers.All().Single().Orders.Count);
    }

    [Fact]
    public async Task A_drop_that_no_longer_exists_completes_the_invocation_without_a_report()
    {
        var report = await _app.InvokeIngestAsync(Blob("web/orders/gone.csv"));

        Assert.Null(report);
        Assert.Empty(_app.Customers.All());
    }

    [Fact]
    public async Task A_drop_whose_archive_is_corrupt_fails_once_with_its_reason_instead_of_being_retried()
    {
        // Named .gz but not gzip: the same bytes would fail on every attempt, so the drop fails at once with a reason
        // (re-uploading a good file is a new blob, hence a new drop) rather than going through retries to the poison queue.
        _app.Drops.Put("web/orders/broken.csv.gz", OrdersCsv);

        var returned = await _app.InvokeIngestAsync(Blob("web/orders/broken.csv.gz"));

        var report = Assert.Single((await _app.Ledger.ListAsync(10, null)).Items);
        Assert.Equal(IngestionStatus.Failed, report.Status);
        Assert.Equal("corrupt_archive", report.FailureReason);
        Assert.Equal(1, report.Attempts);
        Assert.Equal(report.Id, returned!.Id);
    }

    [Fact]
    public async Task Ingest_ignores_a_blob_outside_the_drops_container()
    {
        _app.Drops.Put("web/orders/o.csv", OrdersCsv);

        var report = await _app.InvokeIngestAsync(new BlobClient(new Uri("https://acct.blob.core.windows.net/quarantine/web/orders/o.csv")));

        Assert.Null(report);
        Assert.Empty(_app.Customers.All());
    }

    [Fact]
    public async Task Train_on_its_timer_trains_and_promotes_a_churn_model()
    {
        _app.Drops.Put("web/orders/history.csv", ApiTestKit.OrderHistoryCsv());
        await _app.InvokeIngestAsync(Blob("web/orders/history.csv"));
        _ = _app.CreateClient();

        await using var scope = _app.Services.CreateAsyncScope();
        var run = await ActivatorUtilities.CreateInstance<Training>(scope.ServiceProvider).Train(new TimerInfo(), CancellationToken.None);

        Assert.Equal(TrainingRunStatus.Succeeded, run.Status);
        Assert.Equal("timer", run.Trigger);
        Assert.NotNull(await _app.Registry.GetChampionAsync("churn"));
        Assert.All(_app.Customers.All(), p => Assert.True(p.Predictions.ContainsKey("churn")));
    }
}
