using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

public class OrderValidationTests
{
    private const string Path = "pos/orders/o.csv";
    private const string Header = "order_id,customer_id,order_date,quantity,unit_price,amount,returned,line,product_id,channel,currency\n";

    private static RowOutcome Order(string row, ValidationOptions? options = null) => One(Header + row + "\n", Path, options);

    [Fact]
    public void A_clean_order_line_is_typed_and_defaults_are_applied()
    {
        var order = Accepted<OrderRecord>(One("order_id,customer_id,order_date,amount\nO-1, C-9 ,2024-03-12T10:00:00+01:00,19.99\n", Path));

        Assert.Equal(("pos", "C-9", 2L, "O-1"), (order.Source, order.SourceCustomerId, order.Line, order.OrderId));
        Assert.Equal(new DateTimeOffset(2024, 3, 12, 10, 0, 0, TimeSpan.FromHours(1)), order.OrderDate);
        Assert.Equal((1, 1m, 19.99m, false), (order.OrderLine, order.Quantity, order.Amount, order.Returned));
        Assert.Equal("pos", order.Channel); // channel defaults to the drop's source
        Assert.Null(order.Currency);
    }

    [Fact]
    public void Amount_is_quantity_times_unit_price_when_not_given()
    {
        var order = Accepted<OrderRecord>(Order("O1,C1,2024-03-12,3,2.50,,no,2,SKU-1,Web,eur"));
        Assert.Equal((3m, 7.50m, 2, "SKU-1", "web", "EUR"), (order.Quantity, order.Amount, order.OrderLine, order.ProductId, order.Channel, order.Currency));
    }

    [Fact]
    public void Orders_with_negative_quantity_are_quarantined_with_a_reason()
    {
        var rejection = Rejected(Order("O1,C1,2024-03-12,-2,5,,,,,,"), RejectionReasons.NegativeQuantity);
        Assert.Equal(("quantity", 2L), (rejection.Field, rejection.Line));
        Assert.Equal("O1,C1,2024-03-12,-2,5,,,,,,", rejection.RawText);
    }

    [Fact]
    public void Orders_with_negative_amount_are_quarantined_with_a_reason()
    {
        Rejected(Order("O1,C1,2024-03-12,,,-10,,,,,"), RejectionReasons.NegativeAmount);
    }

    [Theory]
    [InlineData("-2,5,,yes", -2, -10)]
    [InlineData("2,5,,yes", -2, -10)]
    [InlineData(",,-10,true", -1, -10)]
    [InlineData(",,10,1", -1, -10)]
    public void Returns_are_stored_negative_whatever_signs_the_file_used(string middle, decimal quantity, decimal amount)
    {
        var order = Accepted<OrderRecord>(Order($"O1,C1,2024-03-12,{middle},,,,"));
        Assert.True(order.Returned);
        Assert.Equal((quantity, amount), (order.Quantity, order.Amount));
    }

    [Fact]
    public void Absurd_amounts_are_rejected_and_large_ones_flagged()
    {
        Rejected(Order("O1,C1,2024-03-12,,,1000001,,,,,"), RejectionReasons.AbsurdAmount);

        var flagged = Order("O1,C1,2024-03-12,,,\"12,500.00\",,,,,");
        Assert.True(flagged.IsFlagged);
        Assert.Equal(12500m, Accepted<OrderRecord>(flagged).Amount);
        Assert.Equal(WarningReasons.LargeAmount, Assert.Single(flagged.Warnings).Reason);

        var custom = Order("O1,C1,2024-03-12,,,600,,,,,", Options(o => o with { MaxAmount = 500 }));
        Rejected(custom, RejectionReasons.AbsurdAmount);
    }

    [Fact]
    public void Order_dates_in_the_future_beyond_the_tolerance_are_rejected()
    {
        Assert.True(Order("O1,C1,2024-06-16T00:00:00Z,,,1,,,,,").IsAccepted); // within a day of "now"
        var rejection = Rejected(Order("O1,C1,2024-06-17,,,1,,,,,"), RejectionReasons.FutureDate);
        Assert.Equal("order_date", rejection.Field);
    }

    [Theory]
    [InlineData(",C1,2024-03-12,,,1,,,,,", "order_id", RejectionReasons.Required)]
    [InlineData("O1,,2024-03-12,,,1,,,,,", "customer_id", RejectionReasons.Required)]
    [InlineData("O1,NULL,2024-03-12,,,1,,,,,", "customer_id", RejectionReasons.Required)]
    [InlineData("O1,C1,,,,1,,,,,", "order_date", RejectionReasons.Required)]
    [InlineData("O1,C1,not a date,,,1,,,,,", "order_date", RejectionReasons.InvalidDate)]
    [InlineData("O1,C1,1899-12-31,,,1,,,,,", "order_date", RejectionReasons.InvalidDate)]
    [InlineData("O1,C1,2024-03-12,,,ten,,,,,", "amount", RejectionReasons.InvalidNumber)]
    [InlineData("O1,C1,2024-03-12,x,,1,,,,,", "quantity", RejectionReasons.InvalidNumber)]
    [InlineData("O1,C1,2024-03-12,,,,,,,,", "amount", RejectionReasons.Required)]
    [InlineData("O1,C1,2024-03-12,,,1,perhaps,,,,", "returned", RejectionReasons.InvalidBoolean)]
    [InlineData("O1,C1,2024-03-12,,,1,,1.5,,,", "line", RejectionReasons.InvalidNumber)]
    [InlineData("O1,C1,2024-03-12,,,1,,,,,euro", "currency", RejectionReasons.InvalidCurrency)]
    public void Each_broken_field_is_named_in_the_rejection(string row, string field, string reason)
    {
        var rejection = Rejected(Order(row), reason);
        Assert.Equal(field, rejection.Field);
        Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
    }

    [Fact]
    public void Regional_dates_and_decimal_commas_are_read_by_the_configured_culture()
    {
        var result = Ingest("order_id;cust_id;date;total\nO1;C1;12.03.2024;1.234,56\nO2;C2;03/04/2024;12,5\n", Path, Options(o => o with { Culture = "de-DE" }));

        var orders = result.Records<OrderRecord>().ToList();
        Assert.Equal(2, orders.Count);
        Assert.Equal((new DateTimeOffset(2024, 3, 12, 0, 0, 0, TimeSpan.Zero), 1234.56m), (orders[0].OrderDate, orders[0].Amount));
        Assert.Equal((4, 3, 12.5m), (orders[1].OrderDate.Month, orders[1].OrderDate.Day, orders[1].Amount));
    }

    [Fact]
    public void Timestamps_without_offset_are_placed_in_the_configured_zone()
    {
        var order = Accepted<OrderRecord>(One("order_id,customer_id,order_date,amount\nO1,C1,2024-03-12 09:00,1\n", Path,
            Options(o => o with { TimeZone = "America/New_York" })));
        Assert.Equal(TimeSpan.FromHours(-4), order.OrderDate.Offset);
    }

    [Fact]
    public void A_file_missing_a_required_column_rejects_every_row_as_missing_column()
    {
        var result = Ingest("order_id,amount\n1,2\n2,3\n", Path);

        Assert.Equal(0, result.Accepted);
        Assert.All(result.Rejections, r => Assert.Equal((RejectionReasons.MissingColumn, "customer_id"), (r.Reason, r.Field)));
        Assert.Contains("order_date", result.Rejections.First().Message);
        result.AssertAccounting();
    }

    [Fact]
    public void Malformed_rows_are_rejected_as_malformed_with_their_raw_text()
    {
        var result = Ingest("order_id,customer_id,order_date,amount\nO1,C1,2024-01-01\nO2,C2,2024-01-01,5\n", Path);

        var rejection = Assert.Single(result.Rejections);
        Assert.Equal((RejectionReasons.Malformed, 2L, "O1,C1,2024-01-01"), (rejection.Reason, rejection.Line, rejection.RawText));
        Assert.Null(rejection.Field);
        result.AssertAccounting();
    }
}
