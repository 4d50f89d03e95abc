using iCrm.Core.Drops;
using iCrm.Core.Privacy;
using iCrm.Testing;

namespace iCrm.Core.Tests.Privacy;

/// <summary>Erasure over the real ingestion pipeline and in-memory stores: crash-safety and what a later drop meets.</summary>
public sealed class SubjectErasureTests
{
    private const string People =
        "customer_id,email,phone,first_name\n" +
        "W-1,ada@example.test,+1 202 555 0101,Ada\n" +
        "W-2,grace@example.test,+1 202 555 0102,Grace\n";

    private static (IngestionHarness Harness, InMemorySubjectErasureStore Store, SubjectErasure Erasure) Build()
    {
        var harness = new IngestionHarness();
        var store = new InMemorySubjectErasureStore(harness.Customers, harness.Identities);
        return (harness, store, new SubjectErasure(harness.Customers, store, new InMemoryQuarantineEraser(harness.Quarantine), harness.Hasher, harness.Time));
    }

    [Fact]
    public async Task An_erasure_that_crashed_half_way_is_completed_by_the_next_call()
    {
        var (harness, store, erasure) = Build();
        await harness.IngestAsync("web/customers/a.csv", People);
        var id = (await harness.FindBySourceAsync("web", "W-1"))!.Id;
        store.BeforeDelete = _ => throw new IOException("store went away");

        await Assert.ThrowsAsync<IOException>(() => erasure.EraseAsync(id));
        Assert.False((await store.GetAsync(id))!.Completed);
        store.BeforeDelete = null;
        var outcome = await erasure.EraseAsync(id);

        Assert.Equal(ErasureStatus.Erased, outcome.Status);
        Assert.True((await store.GetAsync(id))!.Completed);
        Assert.Null(await harness.Customers.GetAsync(id));
        Assert.Equal(ErasureStatus.AlreadyErased, (await erasure.EraseAsync(id)).Status);
        Assert.Equal(ErasureStatus.NotFound, (await erasure.EraseAsync("c_unknown")).Status);
    }

    [Fact]
    public async Task Rows_naming_an_erased_person_are_rejected_and_the_counts_still_balance_while_others_are_applied()
    {
        var (harness, _, erasure) = Build();
        await harness.IngestAsync("web/customers/a.csv", People);
        var id = (await harness.FindBySourceAsync("web", "W-1"))!.Id;
        await erasure.EraseAsync(id);

        var report = await harness.IngestAsync("web/orders/b.csv",
            "order_id,customer_id,order_date,amount\nO1,W-1,2025-06-01,10\nO2,W-2,2025-06-01,20\nO3,W-1,2025-06-02,30\n");

        Assert.Equal((3L, 1L, 2L), (report.RowsRead, report.RowsAccepted, report.RowsRejected));
        Assert.Equal(2, report.RejectedByReason[RejectionReasons.ErasedSubject]);
        Assert.Equal([2L, 4L], harness.Quarantine.Rejected[report.Id].Select(r => r.Line));
        Assert.Null(await harness.FindBySourceAsync("web", "W-1"));
        Assert.Single((await harness.FindBySourceAsync("web", "W-2"))!.Orders);
    }
}
