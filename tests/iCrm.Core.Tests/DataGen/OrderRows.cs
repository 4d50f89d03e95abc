using System.Globalization;

namespace iCrm.Core.Tests.DataGen;

/// <summary>Classifies generated order rows the way an ingestion should: one defect per bad row, or clean.</summary>
internal static class OrderRows
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static DateOnly? LocalDate(string source, string text)
    {
        return source switch
        {
            "web" => DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss'Z'", Invariant, DateTimeStyles.AssumeUniversal, out var w)
                ? DateOnly.FromDateTime(w.UtcDateTime) : null,
            "pos" => DateTime.TryParseExact(text, "dd/MM/yyyy HH:mm", Invariant, DateTimeStyles.None, out var p) ? DateOnly.FromDateTime(p) : null,
            _ => DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:sszzz", Invariant, DateTimeStyles.None, out var a)
                ? DateOnly.FromDateTime(a.DateTime) : null,
        };
    }

    public static decimal Number(string source, string text) =>
        decimal.Parse(source == "pos" ? text.Replace(',', '.') : text, NumberStyles.Number | NumberStyles.AllowLeadingSign, Invariant);

    /// <summary>The defect kind of a row, or null when the row is a valid order line.</summary>
    public static string? Defect(string source, DropFileReader.Record row)
    {
        if (row.Malformed) return source == "app" ? "malformed_json" : "malformed_quotes";
        string customer = row.Get(source == "pos" ? "Cust_ID" : "customer_id");
        if (customer.Length == 0) return "missing_customer_id";
        if (LocalDate(source, row.Get("order_date")) is null) return "invalid_date";
        if (source == "app")
        {
            decimal amount = Number(source, row.Get("amount"));
            if (amount < 0) return "negative_amount";
            if (amount >= 1_000_000) return "absurd_amount";
            return null;
        }
        if (Number(source, row.Get("quantity")) < 0) return "negative_quantity";
        if (Number(source, row.Get("unit_price")) >= 1_000_000) return "absurd_amount";
        return null;
    }

    public static string CustomerId(string source, DropFileReader.Record row) => row.Get(source == "pos" ? "Cust_ID" : "customer_id");
}
