using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

/// <summary>
/// <see cref="RowValidator.ValidateOrder(RawRow, out OrderValues)"/> is <see cref="RowValidator.Validate"/> without the
/// record: for every orders row it must decide, reject, warn and read values exactly as Validate does.
/// </summary>
public class OrderValuesTests
{
    private const string Path = "pos/orders/o.csv";
    private const string Header = "order_id,customer_id,order_date,quantity,unit_price,amount,returned,line,product_id,channel,currency\n";

    private static readonly string[] VariedRows =
    [
        "O1,C1,2024-03-12,1,,19.99,,,SKU-1,Web,eur", // valid
        "O1,C1,2024-03-12,2,2.50,,no,2,SKU-2,web,EUR", // same order and customer, quantity × unit price
        "O1, C1 ,2024-03-12T10:00:00+01:00,3,4,,,3,SKU-2,WEB,usd", // padded customer, same product as before
        "O2,C2,2024-03-13,,,10,,,,,", // amount only, no product, no channel, no currency
        "O3,C2,2024-03-13,-2,5,,yes,,P9,store,", // a return stored negative
        "O4,C2,2024-03-13,2,5,,true,,P9,store,", // a return with positive signs
        "O5,C3,2024-03-14,,,\"12,500.00\",,,P1,web,GBP", // flagged large amount
        ",C3,2024-03-14,,,1,,,,,", // missing order_id
        "O6,,2024-03-14,,,1,,,,,", // missing customer_id
        "O7,C3,,,,1,,,,,", // missing order_date
        "O8,C3,2024-03-14,,,1,,x,,,", // bad line
        "O8,C3,2024-03-14,,,1,,-1,,,", // negative line
        "O9,C3,2024-03-14,,,1,maybe,,,,", // bad boolean
        "O10,C3,2024-03-14,lots,,1,,,,,", // bad quantity
        "O11,C3,2024-03-14,1,cheap,,,,,,", // bad unit price
        "O12,C3,2024-03-14,,,ten,,,,,", // bad amount
        "O13,C3,not-a-date,,,1,,,,,", // bad date
        "O14,C3,2024-03-14,-2,5,,,,,,", // negative quantity
        "O15,C3,2024-03-14,,,-10,,,,,", // negative amount
        "O16,C3,2024-03-14,1,-10,,,,,,", // negative unit price
        "O17,C3,2024-03-14,,,1000001,,,,,", // absurd amount
        "O18,C3,2024-03-14,79228162514264337593543950335,2,,,,,,", // quantity × price overflows
        "O19,C3,2024-03-14,,,,,,,,", // neither amount nor unit price
        "O20,C3,2024-03-14,,,1,,,,,EURO", // invalid currency
        "O21,C3,2024-03-14,,,1,,,,,E1R", // invalid currency
        "O22,C3,2024-06-17,,,1,,,,,", // future date
        "O23,C3,2024-03-14,,,1,,,,", // ragged (ten fields)
        "O24,C3,2024-03-14,,,1,,,,,,", // ragged (twelve fields)
        "\"O25,C3,2024-03-14,,,1,,,,,", // unterminated quote
        "\"O,26\",\"C 3\",2024-03-14,,,1,,,\"P,1\",web,eur", // quoted fields
        "n/a,C3,2024-03-14,,,1,,,,,", // placeholder order id
        "O27,\\N,2024-03-14,,,1,,,,,", // placeholder customer id
        "O28,C3,null,,,1,,,,,", // placeholder date
        "O29,C3,2024-03-14,-,,1,-,\\N,n/a,N/A,null", // placeholders everywhere else
        "O30,C3,2024-03-14,,,1,,,   ,  ,  ", // blank product, channel, currency
        "O31,C4,2024-03-14T23:59:59Z,1.000,,0.00,0,0,P0,Email,chf", // zero line and zero amount
    ];

    [Fact]
    public void Orders_validated_as_values_match_the_records_validate_makes()
    {
        var content = Header + string.Join('\n', VariedRows) + "\n";
        var accepted = AssertSameOutcomes(Read(content, Path), Path);
        Assert.True(accepted >= 10, $"{accepted} accepted");
    }

    [Fact]
    public void Every_row_of_a_file_without_a_required_column_is_rejected_the_same_way()
    {
        var content = "order_id,customer_id,amount\nO1,C1,10\nO2,C2,20\n";
        var rows = Read(content, Path);
        Assert.Equal(0, AssertSameOutcomes(rows, Path));
        var validator = new RowValidator(DropPath.Parse(Path), Options());
        var outcome = validator.ValidateOrder(rows[0], out _);
        Assert.Equal(RejectionReasons.MissingColumn, outcome.Rejection!.Reason);
    }

    [Fact]
    public void Orders_from_json_lines_validated_as_values_match_the_records_validate_makes()
    {
        const string path = "app/orders/o.jsonl";
        var content = string.Join('\n',
            """{"order_id":"O1","customer_id":"C1","order_date":"2024-03-12","amount":"5","product_id":"P1","channel":"App"}""",
            """{"order_id":"O1","customer_id":"C1","order_date":"2024-03-12","amount":5,"line":2}""",
            """{"order_id":"O2","customer_id":"C2","order_date":"2024-03-12","amount":-5}""",
            """{"order_id":"O3","customer_id":"C2","order_date":"2024-03-12","amount":5,""",
            """{"order_id":"O4","customer_id":"C2","order_date":"2024-03-12","quantity":2,"unit_price":1.5,"returned":true,"currency":"sek"}""") + "\n";
        Assert.Equal(3, AssertSameOutcomes(Read(content, path), path));
    }

    [Fact]
    public void A_validated_line_without_a_product_has_an_empty_product_and_its_record_none()
    {
        var rows = Read(Header + "O1,C1,2024-03-12,,,1,,,n/a,,\n", Path);
        var values = new RowValidator(DropPath.Parse(Path), Options());
        var outcome = values.ValidateOrder(rows[0], out var order);
        Assert.True(outcome.IsAccepted);
        Assert.Null(outcome.Record);
        Assert.True(order.ProductId.IsEmpty);
        Assert.Equal("C1", order.SourceCustomerId.ToString());
        Assert.Null(Accepted<OrderRecord>(new RowValidator(DropPath.Parse(Path), Options()).Validate(rows[0])).ProductId);
    }

    [Theory]
    [InlineData("pos/customers/c.csv")]
    [InlineData("pos/events/e.csv")]
    [InlineData("pos/feedback/f.csv")]
    [InlineData("pos/subscriptions/s.csv")]
    public void Validating_values_of_orders_on_a_validator_for_another_entity_is_refused(string path)
    {
        var row = Read(Header + "O1,C1,2024-03-12,,,1,,,,,\n", Path)[0];
        var validator = new RowValidator(DropPath.Parse(path), Options());
        Assert.Throws<InvalidOperationException>(() => validator.ValidateOrder(row, out _));
    }

    /// <summary>Both ways on the same rows, one validator each; returns how many rows were accepted.</summary>
    private static int AssertSameOutcomes(List<RawRow> rows, string path)
    {
        var byRecord = new RowValidator(DropPath.Parse(path), Options());
        var byValues = new RowValidator(DropPath.Parse(path), Options());
        var accepted = 0;
        foreach (var row in rows)
        {
            var expected = byRecord.Validate(row);
            var actual = byValues.ValidateOrder(row, out var order);
            var where = $"line {row.Line}: {row.RawText}";

            Assert.True(expected.IsAccepted == actual.IsAccepted, where);
            Assert.True(expected.IsFlagged == actual.IsFlagged, where);
            Assert.Equal(expected.Rejection, actual.Rejection);
            Assert.Equal(expected.Warnings, actual.Warnings);
            Assert.Null(actual.Record);
            if (!expected.IsAccepted)
            {
                Assert.NotNull(actual.Rejection);
                continue;
            }
            accepted++;
            var record = Assert.IsType<OrderRecord>(expected.Record);
            Assert.Equal(
                (record.Source, record.SourceCustomerId, record.Line, record.OrderId, record.OrderLine, record.OrderDate, record.OrderDate.Offset),
                (order.Source, order.SourceCustomerId.ToString(), order.Line, order.OrderId.ToString(), order.OrderLine, order.OrderDate, order.OrderDate.Offset));
            Assert.Equal(record.ProductId is null, order.ProductId.IsEmpty);
            Assert.Equal(record.ProductId ?? "", order.ProductId.ToString());
            Assert.Equal(decimal.GetBits(record.Quantity), decimal.GetBits(order.Quantity));
            Assert.Equal(decimal.GetBits(record.Amount), decimal.GetBits(order.Amount));
            Assert.Equal((record.Channel, record.Currency, record.Returned), (order.Channel, order.Currency, order.Returned));
        }
        return accepted;
    }
}
