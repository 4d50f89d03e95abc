using System.Text.Json;
using iCrm.Core.Ingestion;
using iCrm.Testing;
using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>What the ingestion tests share: their clock, orders drops written as rows, and profile snapshots.</summary>
internal static class IngestionTestData
{
    public static readonly DateTimeOffset Now = new(2026, 1, 15, 0, 0, 0, TimeSpan.Zero);

    public static string Orders(params string[] rows) =>
        "order_id,line,customer_id,order_date,product_id,quantity,unit_price\n" + string.Join('\n', rows) + "\n";

    /// <summary>
    /// Puts a drop and files a failed first attempt for it from before chunk plans were kept (no <c>plan</c>): the next
    /// attempts cut it as that version did, rows in file order, also for activity drops.
    /// </summary>
    public static async Task PutWithLegacyAttemptAsync(IngestionHarness harness, string path, string content)
    {
        var etag = harness.Drops.Put(path, System.Text.Encoding.UTF8.GetBytes(content));
        await harness.Ledger.UpsertAsync(new IngestionReport
        {
            Id = iCrm.Core.Drops.DropId.Compute("drops", path, etag),
            BlobPath = $"drops/{path}",
            ETag = etag,
            Status = IngestionStatus.Failed,
            Attempts = 1,
            StartedAt = harness.Time.GetUtcNow(),
        });
    }

    /// <summary>Makes the store fail on the given profile write, as if it went away half-way through a drop.</summary>
    public static void CrashAtWrite(IngestionHarness harness, int failingWrite)
    {
        var writes = 0;
        harness.Customers.BeforeWrite = _ =>
        {
            if (Interlocked.Increment(ref writes) == failingWrite)
            {
                throw new IOException("store went away");
            }
        };
    }

    /// <summary>A re-run completed with the counts and chunks of a clean run.</summary>
    public static void AssertSameCounts(IngestionReport clean, IngestionReport rerun)
    {
        Assert.Equal(IngestionStatus.Completed, rerun.Status);
        Assert.Equal((clean.RowsRead, clean.RowsAccepted, clean.RowsRejected, clean.DuplicatesSkipped, clean.CustomersCreated, clean.CustomersUpdated, clean.Chunks),
            (rerun.RowsRead, rerun.RowsAccepted, rerun.RowsRejected, rerun.DuplicatesSkipped, rerun.CustomersCreated, rerun.CustomersUpdated, rerun.Chunks));
    }

    /// <summary>Profiles as JSON without the fields that record when the write happened (and, when asked, without the
    /// chunk markers, whose numbers depend on how the drop was cut).</summary>
    public static List<string> Snapshot(IEnumerable<CustomerProfile> profiles, bool withChunkMarkers = true) =>
        profiles.OrderBy(p => p.Id, StringComparer.Ordinal).Select(p =>
        {
            p.UpdatedAt = default;
            if (!withChunkMarkers)
            {
                p.AppliedChunks = [.. p.AppliedChunks.Select(c => c with { Marker = c.Marker[..c.Marker.IndexOf('#')] })];
            }
            return JsonSerializer.Serialize(p);
        }).ToList();

    /// <summary>Every property, decimals by their bits, dates by ticks and offset, null apart from "".</summary>
    public static string Fingerprint(iCrm.Core.Drops.DropRecord record)
    {
        var text = new System.Text.StringBuilder(record.GetType().Name);
        foreach (var property in record.GetType().GetProperties().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (property.Name == "EqualityContract")
            {
                continue;
            }
            var value = property.GetValue(record);
            text.Append('|').Append(property.Name).Append('=').Append(value switch
            {
                null => "<null>",
                decimal d => string.Join(',', decimal.GetBits(d)),
                DateTimeOffset t => $"{t.Ticks}@{t.Offset}",
                DateOnly d => d.DayNumber.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => $"'{value}'",
            });
        }
        return text.ToString();
    }
}
