using System.Text;
using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

/// <summary>Validation decides every row: hostile values are rejected or cleaned, never an exception.</summary>
public class RowValidatorRobustnessTests
{
    private static readonly string[] NastyValues =
    [
        "", " ", "0", "-1", "1", "5", "99999999999999999999999999999", "1e300", "-0", "1,2,3", "1.234,56", "NaN", "∞",
        "2024-02-30", "2024-03-12T25:61", "0001-01-01", "9999-12-31T23:59:59+14:00", "31/12/9999", "12 Foo 2024",
        "a@b", "@@", "x@y.zz", "+999999999999999999", "tel:+1-415-555-2671", "null", "\\N", "yes", "maybe",
        "ÉMILE", "e\u0301", "\uD83D\uDE00", new string('z', 300), "  spaced   out  ", "\"quoted\"", "{\"json\":1}",
    ];

    [Theory]
    [InlineData(DropEntity.Customers)]
    [InlineData(DropEntity.Orders)]
    [InlineData(DropEntity.Events)]
    [InlineData(DropEntity.Feedback)]
    [InlineData(DropEntity.Subscriptions)]
    public void Hostile_values_in_every_column_are_rejected_or_cleaned_never_thrown(DropEntity entity)
    {
        var columns = Enum.GetValues<DropColumn>().Select(DropSchema.NameOf).Distinct().ToArray();
        var random = new Random((int)entity);
        var csv = new StringBuilder(string.Join(',', columns)).Append('\n');
        for (var row = 0; row < 2000; row++)
        {
            csv.AppendJoin(',', columns.Select(_ => Quote(NastyValues[random.Next(NastyValues.Length)]))).Append('\n');
        }

        var result = Ingest(csv.ToString(), $"web/{DropPath.EntityFolder(entity)}/x.csv");

        Assert.Equal(2000, result.Rows.Count);
        result.AssertAccounting();
        Assert.All(result.Rejections, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
    }

    [Fact]
    public void A_quantity_times_price_too_large_for_a_decimal_is_an_absurd_amount()
    {
        var outcome = One("order_id,customer_id,order_date,quantity,unit_price\nO1,C1,2024-01-01,99999999999999999,99999999999999999\n", "pos/orders/o.csv");
        Assert.Equal(RejectionReasons.AbsurdAmount, outcome.Rejection?.Reason);
    }

    private static string Quote(string value) => "\"" + value.Replace("\"", "\"\"") + "\"";
}
