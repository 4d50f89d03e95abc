using System.Text;
using iCrm.Core.Drops;
using iCrm.Core.Ingestion;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>
/// An order line spilled from its values (<see cref="CustomerSpill.AddOrder"/>) is the same line spilled from its record
/// (<see cref="CustomerSpill.Add"/>): same bytes, same records back; and a bucket mixing kinds reads back exactly.
/// </summary>
public sealed class SpillFromValuesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("icrm-spill-values-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly DateTimeOffset Day = new(2025, 3, 1, 9, 30, 0, TimeSpan.FromHours(2));

    private static OrderRecord Order(string customer, long line, string orderId, int orderLine, string? product, decimal quantity, decimal amount,
        string channel = "web", string? currency = "EUR", bool returned = false, string source = "web") =>
        new(source, customer, line, orderId, orderLine, Day.AddHours(line), product, quantity, amount, channel, currency, returned);

    /// <summary>Lines repeating the previous line's strings, lines that differ, several customers sharing buckets.</summary>
    private static List<OrderRecord> OrderLines()
    {
        var lines = new List<OrderRecord>
        {
            Order("C1", 2, "O1", 1, "P1", 1m, 10m),
            Order("C1", 3, "O1", 2, "P1", 2m, 20.00m), // same order, customer, product, channel, currency
            Order("C1", 4, "O1", 3, "P2", 1m, 5m, currency: null), // currency null after set
            Order("C1", 5, "O2", 1, "P2", 1m, 5m, currency: null), // null again
            Order("C1", 6, "O2", 2, "P2", 1m, 5m, currency: "USD"), // set after null
            Order("C2", 7, "O3", 1, "P3", 3m, 9.99m, channel: "store"),
            Order("C1", 8, "O2", 3, "P2", 1m, 5m, channel: "store", currency: "USD"),
            Order("C2", 9, "O3", 2, "P3", -1m, -3.33m, channel: "store", returned: true),
            Order("C3", 10, "O4", 1, "P1", 1m, 1m, channel: "app", currency: "GBP", source: "app"),
            Order("C3", 11, "O4", 2, "P1", 1m, 1m, channel: "app", currency: "GBP"), // same customer id, other source
            Order("C4", 5, "O5", 1, "Pé😀", 1.50m, 0m, channel: "", currency: "CHF"), // line goes back
            Order("C4", 12, "O5", 2, "Pé😀", 0m, 0.0m, channel: ""),
            Order("C5", 13, "O1", 1, "P1", 1m, 10m), // another customer's order id and product repeated
        };
        for (var i = 0; i < 60; i++)
        {
            lines.Add(Order($"C{i % 7}", 14 + i, $"O{100 + i / 3}", 1 + i % 3, $"P{i % 4}", 1 + i % 2, 2.5m * (i % 5), channel: i % 3 == 0 ? "web" : "app",
                currency: i % 4 == 0 ? null : "EUR"));
        }
        return lines;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    public void Order_lines_spilled_from_their_values_read_back_as_those_spilled_from_records(int buckets)
    {
        var lines = OrderLines();
        using var byRecord = new CustomerSpill(_directory, buckets);
        using var byValues = new CustomerSpill(_directory, buckets);
        foreach (var line in lines)
        {
            byRecord.Add(line);
            byValues.AddOrder(OrderValues.Of(line));
        }
        byRecord.Complete();
        byValues.Complete();

        Assert.Equal(lines.Count, byValues.Records);
        Assert.Equal(byRecord.Records, byValues.Records);
        Assert.Equal(byRecord.FileBytes, byValues.FileBytes);
        Assert.True(byValues.FileBytes > 0);
        for (var b = 0; b < buckets; b++)
        {
            var expected = lines.Where(r => CustomerSpill.BucketOf(r.Source, r.SourceCustomerId, buckets) == b).Select(IngestionTestData.Fingerprint).ToList();
            Assert.Equal(expected, ReadBack(byRecord, b));
            Assert.Equal(expected, ReadBack(byValues, b));
        }
    }

    [Fact]
    public void Order_lines_spilled_from_values_sliced_out_of_longer_text_read_back_as_their_records()
    {
        // Values are slices of a row's characters, not whole strings: the spill must remember the characters, not the slice.
        var lines = OrderLines();
        using var byRecord = new CustomerSpill(_directory, 3);
        using var byValues = new CustomerSpill(_directory, 3);
        var buffer = new char[256];
        foreach (var line in lines)
        {
            byRecord.Add(line);
            var text = $"#{line.SourceCustomerId}#{line.OrderId}#{line.ProductId}#".AsSpan();
            text.CopyTo(buffer);
            var customer = buffer.AsSpan(1, line.SourceCustomerId.Length);
            var order = buffer.AsSpan(2 + customer.Length, line.OrderId.Length);
            var product = buffer.AsSpan(3 + customer.Length + order.Length, line.ProductId?.Length ?? 0);
            byValues.AddOrder(new OrderValues(line.Source, customer, line.Line, order, line.OrderLine, line.OrderDate, product, line.Quantity,
                line.Amount, line.Channel, line.Currency, line.Returned));
            buffer.AsSpan().Fill('?'); // the row's characters are gone before the next line comes
        }
        byRecord.Complete();
        byValues.Complete();

        Assert.Equal(byRecord.FileBytes, byValues.FileBytes);
        for (var b = 0; b < 3; b++)
        {
            Assert.Equal(ReadBack(byRecord, b), ReadBack(byValues, b));
        }
    }

    [Fact]
    public void A_null_product_comes_back_null_and_an_empty_one_empty()
    {
        using var spill = new CustomerSpill(_directory, 1);
        OrderRecord[] lines =
        [
            Order("C1", 2, "O1", 1, null, 1m, 1m),
            Order("C1", 3, "O1", 2, "", 1m, 1m),
            Order("C1", 4, "O1", 3, "", 1m, 1m), // empty repeated
            Order("C1", 5, "O1", 4, null, 1m, 1m), // null after empty
            Order("C1", 6, "O1", 5, null, 1m, 1m),
            Order("C1", 7, "O1", 6, "P", 1m, 1m),
            Order("C1", 8, "O1", 7, "", 1m, 1m),
        ];
        foreach (var line in lines)
        {
            spill.Add(line);
        }
        spill.Complete();

        var back = spill.ReadBucket(0, 100).SelectMany(w => w.Cast<OrderRecord>().ToList()).ToList();
        Assert.Equal([null, "", "", null, null, "P", ""], back.Select(o => o.ProductId));
        Assert.Equal(lines.Select(IngestionTestData.Fingerprint), back.Select(IngestionTestData.Fingerprint));
    }

    [Fact]
    public void A_line_without_a_product_spilled_from_values_comes_back_without_one()
    {
        using var spill = new CustomerSpill(_directory, 1);
        spill.AddOrder(OrderValues.Of(Order("C1", 2, "O1", 1, "P1", 1m, 1m)));
        spill.AddOrder(OrderValues.Of(Order("C1", 3, "O1", 2, null, 1m, 1m)));
        spill.AddOrder(OrderValues.Of(Order("C1", 4, "O1", 3, null, 1m, 1m)));
        spill.AddOrder(OrderValues.Of(Order("C1", 5, "O1", 4, "P1", 1m, 1m)));
        spill.Complete();

        var back = spill.ReadBucket(0, 100).SelectMany(w => w.Cast<OrderRecord>().ToList()).ToList();
        Assert.Equal(["P1", null, null, "P1"], back.Select(o => o.ProductId));
    }

    [Fact]
    public void A_bucket_mixing_kinds_reads_back_exactly()
    {
        // One customer per source, one bucket: every record's "previous record" is of another kind half of the time, and
        // the fields at the same positions hold equal text across kinds (a product id equal to an event id, a channel equal
        // to a plan), which a kind must not take from another kind's record.
        var t = new DateTimeOffset(2025, 5, 1, 8, 0, 0, TimeSpan.Zero);
        List<DropRecord> records =
        [
            new OrderRecord("web", "C1", 2, "X1", 1, t, "web", 1m, 10m, "web", "EUR", false),
            new EventRecord("web", "C1", 3, "X1", t, "web", "web", 1m, "web"),
            new OrderRecord("web", "C1", 4, "X1", 2, t, "web", 1m, 10m, "web", "EUR", false),
            new FeedbackRecord("web", "C1", 5, "X1", t, "web", 5, "web"),
            new OrderRecord("web", "C1", 6, "X1", 3, t, "web", 1m, 10m, "web", "EUR", false),
            new SubscriptionRecord("web", "C1", 7, "X1", new DateOnly(2025, 1, 1), null, 9m, "web"),
            new OrderRecord("web", "C1", 8, "X1", 4, t, "web", 1m, 10m, "web", "EUR", false),
            new OrderRecord("web", "C1", 9, "X1", 5, t, "web", 1m, 10m, "web", "EUR", false),
            new EventRecord("web", "C1", 10, "X1", t, "web", "web", null, "web"),
            new EventRecord("web", "C1", 11, "X1", t, "web", "web", null, "web"),
            new SubscriptionRecord("web", "C1", 12, "X1", new DateOnly(2025, 1, 1), null, 9m, "web"),
            new FeedbackRecord("web", "C1", 13, "X1", t, "web", null, "web"),
            new SubscriptionRecord("web", "C1", 14, "web", new DateOnly(2025, 2, 1), new DateOnly(2025, 3, 1), null, "EUR"),
            new OrderRecord("web", "C1", 15, "web", 6, t, "EUR", 1m, 10m, "X1", "web", true),
            new EventRecord("web", "C1", 16, "EUR", t, "X1", null, 2m, "EUR"),
            new OrderRecord("web", "C1", 17, "EUR", 7, t, null, 1m, 10m, "EUR", null, false),
            new FeedbackRecord("web", "C1", 18, null, t, "EUR", 1, "X1"),
            new EventRecord("web", "C1", 19, null, t, "EUR", "X1", 2m, "X1"),
            new OrderRecord("web", "C1", 20, "X1", 8, t, "X1", 1m, 10m, "X1", "X1", false),
            new SubscriptionRecord("web", "C1", 21, "X1", new DateOnly(2025, 1, 1), null, null, null),
            new SubscriptionRecord("web", "C1", 22, "X1", new DateOnly(2025, 1, 1), null, null, "X1"),
            new OrderRecord("web", "C2", 23, "X1", 8, t, "X1", 1m, 10m, "X1", "X1", false),
            new EventRecord("web", "C2", 24, "X1", t, "X1", "X1", 2m, "X1"),
        ];

        foreach (var buckets in new[] { 1, 2 })
        {
            using var spill = new CustomerSpill(_directory, buckets);
            records.ForEach(spill.Add);
            spill.Complete();
            for (var b = 0; b < buckets; b++)
            {
                var expected = records.Where(r => CustomerSpill.BucketOf(r.Source, r.SourceCustomerId, buckets) == b).Select(IngestionTestData.Fingerprint).ToList();
                Assert.Equal(expected, ReadBack(spill, b));
            }
        }
    }

    [Fact]
    public void Order_lines_from_values_between_other_kinds_read_back_exactly()
    {
        var t = new DateTimeOffset(2025, 5, 1, 8, 0, 0, TimeSpan.Zero);
        using var spill = new CustomerSpill(_directory, 1);
        List<DropRecord> records =
        [
            new EventRecord("web", "C1", 2, "O1", t, "view", "P1", null, "web"),
            Order("C1", 3, "O1", 1, "P1", 1m, 1m),
            new FeedbackRecord("web", "C1", 4, "O1", t, "P1", 4, "web"),
            Order("C1", 5, "O1", 2, "P1", 1m, 1m),
            Order("C1", 6, "O1", 3, null, 1m, 1m),
            new SubscriptionRecord("web", "C1", 7, "O1", new DateOnly(2025, 1, 1), null, null, "P1"),
            Order("C1", 8, "O1", 4, null, 1m, 1m),
        ];
        foreach (var record in records)
        {
            if (record is OrderRecord order)
            {
                spill.AddOrder(OrderValues.Of(order));
            }
            else
            {
                spill.Add(record);
            }
        }
        spill.Complete();

        Assert.Equal(records.Select(IngestionTestData.Fingerprint), ReadBack(spill, 0));
    }

    [Fact]
    public void A_record_the_spill_does_not_group_is_refused_and_not_counted()
    {
        using var spill = new CustomerSpill(_directory, 1);
        spill.Add(Order("C1", 2, "O1", 1, "P1", 1m, 1m));
        var customer = new CustomerRecord("web", "C1", 3, "a@example.com", null, null, null, null, null, null, null, null, null, null, null, null,
            null, null, null, null, new Dictionary<string, string>());

        Assert.Throws<ArgumentException>(() => spill.Add(customer));

        Assert.Equal(1, spill.Records);
        spill.Add(Order("C1", 4, "O1", 2, "P1", 1m, 1m));
        spill.Complete();
        Assert.Equal([2L, 4L], spill.ReadBucket(0, 10).SelectMany(w => w.Select(r => r.Line).ToList()));
    }

    private static List<string> ReadBack(CustomerSpill spill, int bucket) =>
        spill.ReadBucket(bucket, 4).SelectMany(w => w.Select(IngestionTestData.Fingerprint).ToList()).ToList();

}
