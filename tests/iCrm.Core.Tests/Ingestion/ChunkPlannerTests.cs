using iCrm.Core.Drops;
using iCrm.Core.Ingestion;

namespace iCrm.Core.Tests.Ingestion;

public sealed class ChunkPlannerTests
{
    private static readonly DateTimeOffset At = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static EventRecord Event(string customer, long line) => new("web", customer, line, null, At.AddMinutes(line), "view", null, null, "web");

    [Fact]
    public void Activity_rows_are_grouped_by_customer_in_order_of_first_appearance_and_chunks_hold_whole_customers()
    {
        string[] customers = ["b", "a", "b", "c", "a", "b", "c", "d"];
        var records = customers.Select((c, i) => (DropRecord)Event(c, i + 2)).ToList();

        var chunks = new ChunkPlanner(chunkSize: 3, groupByCustomer: true).Plan(records);

        // b (3 rows) fills the first chunk; a (2) + c (2) the second; d (1) is the rest.
        Assert.Equal([[2L, 4, 7], [3L, 6, 5, 8], [9L]], chunks.Select(c => c.Select(r => r.Line).ToArray()).ToArray());
    }

    [Fact]
    public void A_window_already_grouped_by_customer_keeps_its_order()
    {
        string[] customers = ["a", "a", "b", "c", "c", "c"];
        var records = customers.Select((c, i) => (DropRecord)Event(c, i + 2)).ToList();

        var chunks = new ChunkPlanner(chunkSize: 2, groupByCustomer: true).Plan(records);

        Assert.Equal([[2L, 3], [4L, 5, 6, 7]], chunks.Select(c => c.Select(r => r.Line).ToArray()).ToArray());
    }

    [Fact]
    public void Customer_rows_keep_file_order_in_fixed_chunks()
    {
        var records = Enumerable.Range(0, 7).Select(i => (DropRecord)Event($"c{i % 2}", i + 2)).ToList();

        var chunks = new ChunkPlanner(chunkSize: 3, groupByCustomer: false).Plan(records);

        Assert.Equal([[2L, 3, 4], [5L, 6, 7], [8L]], chunks.Select(c => c.Select(r => r.Line).ToArray()).ToArray());
    }

    [Fact]
    public void The_same_window_always_gives_the_same_plan()
    {
        var random = new Random(5);
        var records = Enumerable.Range(0, 500).Select(i => (DropRecord)Event($"c{random.Next(40)}", i + 2)).ToList();

        var planner = new ChunkPlanner(25, groupByCustomer: true);
        var first = planner.Plan(records).Select(c => c.Select(r => r.Line).ToArray()).ToArray();
        var second = new ChunkPlanner(25, groupByCustomer: true).Plan(records).Select(c => c.Select(r => r.Line).ToArray()).ToArray();
        var reused = planner.Plan(records).Select(c => c.Select(r => r.Line).ToArray()).ToArray();

        Assert.Equal(first, second);
        Assert.Equal(first, reused);
        Assert.Equal(500, first.Sum(c => c.Length));
        Assert.All(first[..^1], c => Assert.True(c.Length >= 25));
    }
}
