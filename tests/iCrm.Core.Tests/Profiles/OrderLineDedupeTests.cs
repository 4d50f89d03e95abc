using iCrm.Core.Drops;
using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Profiles;

/// <summary>
/// Duplicate order lines are recognised by (order id, line) whatever the size of the order log: the small-log scan, the
/// reused per-thread key table (and its growth), and a table reused for the next profile never remembering the last one.
/// </summary>
public sealed class OrderLineDedupeTests
{
    private static readonly DateTimeOffset Day = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ProfileHistory History = new(new ProfileHistoryOptions());

    private static OrderRecord Line(string orderId, int line, int day = 0) =>
        new("web", "C1", 2 + day, orderId, line, Day.AddDays(day), "P1", 1, 10, "web", "EUR", false);

    private static CustomerProfile Profile() => new() { Id = "cust-1" };

    [Theory]
    [InlineData(3)] // scanned
    [InlineData(8)] // at the scan limit
    [InlineData(40)] // key table
    [InlineData(400)] // key table grown several times (and no order folded: fewer than 1,000 orders)
    public void Lines_repeated_within_a_batch_and_against_the_log_are_duplicates(int orders)
    {
        var profile = Profile();
        var first = Enumerable.Range(0, orders).SelectMany(o => new[] { Line($"O{o}", 1, o % 300), Line($"O{o}", 2, o % 300) }).ToList();
        first.Add(Line("O0", 1)); // the same line again in the same batch
        first.Add(Line($"O{orders - 1}", 2, 5)); // same key, another date: still the same line
        var outcome = History.Apply(profile, first, Day);
        Assert.Equal(new ApplyOutcome(2 * orders, 2), outcome);
        Assert.Equal(2 * orders, profile.Orders.Count);

        // A later drop overlapping the first: half of it known already, a line number not seen before, an id that only
        // differs in case (ids are compared exactly).
        var second = Enumerable.Range(orders / 2, orders).Select(o => Line($"O{o}", 1, o % 300)).ToList();
        second.Add(Line("O0", 3));
        second.Add(Line("o0", 1));
        outcome = History.Apply(profile, second, Day);
        Assert.Equal(new ApplyOutcome(orders / 2 + 2, orders - orders / 2), outcome);
        Assert.Equal(2 * orders + orders / 2 + 2, profile.Orders.Count);
        Assert.Equal(profile.Orders.Count, profile.Orders.Select(l => (l.OrderId, l.Line)).Distinct().Count());
    }

    [Fact]
    public void The_key_table_remembers_nothing_of_the_previous_profile()
    {
        var lines = Enumerable.Range(0, 100).Select(o => Line($"O{o}", 1)).ToList();
        var a = Profile();
        Assert.Equal(new ApplyOutcome(100, 0), History.Apply(a, lines, Day));
        var b = Profile();
        Assert.Equal(new ApplyOutcome(100, 0), History.Apply(b, lines, Day));
        Assert.Equal(100, b.Orders.Count);
    }

    [Fact]
    public void The_profile_keeps_the_records_line_itself()
    {
        var record = Line("O1", 1);
        var profile = Profile();
        History.Apply(profile, [record], Day);
        Assert.Same(record.Item, Assert.Single(profile.Orders));
        Assert.Equal(("O1", 1, Day, "P1", 1m, 10m, "web", false),
            (record.OrderId, record.OrderLine, record.OrderDate, record.ProductId, record.Quantity, record.Amount, record.Channel, record.Returned));
    }

    [Fact]
    public void Applies_on_several_threads_at_once_keep_their_own_keys()
    {
        var results = new ApplyOutcome[8];
        Parallel.For(0, results.Length, i =>
        {
            var profile = Profile();
            var lines = Enumerable.Range(0, 300).Select(o => Line($"O{o % (100 + i)}", 1)).ToList();
            results[i] = History.Apply(profile, lines, Day);
        });
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(new ApplyOutcome(100 + i, 300 - 100 - i), results[i]);
        }
    }
}
