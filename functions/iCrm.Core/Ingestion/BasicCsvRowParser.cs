using System.Globalization;
using iCrm.Core.Drops;

namespace iCrm.Core.Ingestion;

/// <summary>Temporary: a minimal comma-separated parser for orders and customers (replaced by the full drop reader).</summary>
public sealed class BasicCsvRowParser : IDropRowParser
{
    public string? Validate(string blobPath, out string source, out DropEntity entity)
    {
        var parts = blobPath.Split('/');
        source = parts.Length > 0 ? parts[0] : "";
        entity = default;
        if (parts.Length != 3 || !Enum.TryParse(parts[1], true, out entity))
        {
            return $"Drop path '{blobPath}' is not of the form {{source}}/{{entity}}/{{file}}.";
        }
        return null;
    }

    public IEnumerable<ValidatedRow> Parse(Stream content, string blobPath)
    {
        Validate(blobPath, out var source, out var entity);
        using var reader = new StreamReader(content);
        var header = reader.ReadLine()?.Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray() ?? [];
        long line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            var values = text.Split(',');
            string? Get(string name) => Array.IndexOf(header, name) is var i and >= 0 && i < values.Length && values[i].Length > 0 ? values[i].Trim() : null;
            var customerId = Get("customer_id");
            if (customerId is null)
            {
                yield return new ValidatedRow(line, null, new RowRejection(line, "customer_id", "required", "customer_id is required", text), null);
                continue;
            }
            if (entity == DropEntity.Orders)
            {
                if (!DateTimeOffset.TryParse(Get("order_date"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
                {
                    yield return new ValidatedRow(line, null, new RowRejection(line, "order_date", "invalid_date", "order_date is not a date", text), null);
                    continue;
                }
                var amount = decimal.Parse(Get("amount") ?? "0", CultureInfo.InvariantCulture);
                yield return new ValidatedRow(line, new OrderRecord(source, customerId, line, Get("order_id") ?? $"line-{line}", 1, date,
                    Get("product_id"), 1, amount, source, null, false), null, null);
            }
            else
            {
                yield return new ValidatedRow(line, new CustomerRecord(source, customerId, line, Get("email")?.ToLowerInvariant(), null,
                    Get("first_name"), Get("last_name"), null, null, null, null, null, null, null, null, null, null, null, null, null,
                    new Dictionary<string, string>()), null, null);
            }
        }
    }
}
