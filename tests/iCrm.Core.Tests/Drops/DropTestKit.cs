using System.IO.Compression;
using System.Text;
using iCrm.Core.Drops;

namespace iCrm.Core.Tests.Drops;

/// <summary>Small builders so specifications read as "this file → these rows / outcomes".</summary>
internal static class DropTestKit
{
    public static readonly DateTimeOffset Now = new(2024, 6, 15, 12, 0, 0, TimeSpan.Zero);

    public static ValidationOptions Options(Func<ValidationOptions, ValidationOptions>? tweak = null)
    {
        var options = new ValidationOptions { TimeProvider = new FixedClock(Now) };
        return tweak is null ? options : tweak(options);
    }

    public static List<RawRow> Read(string content, string blobPath, DropReadOptions? options = null, Encoding? encoding = null)
    {
        var path = DropPath.Parse(blobPath);
        encoding ??= new UTF8Encoding(false);
        byte[] bytes = [.. encoding.GetPreamble(), .. encoding.GetBytes(content)];
        if (path.Compression == DropCompression.Gzip)
        {
            bytes = Gzip(bytes);
        }

        return [.. DropReader.Read(new MemoryStream(bytes), path, options)];
    }

    public static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    public static DropResult Ingest(string content, string blobPath, ValidationOptions? validation = null, DropReadOptions? read = null)
    {
        var path = DropPath.Parse(blobPath);
        var rows = Read(content, blobPath, read);
        var validator = new RowValidator(path, validation ?? Options());
        var outcomes = rows.Select(validator.Validate).ToList();
        return new DropResult(rows, outcomes);
    }

    public static RowOutcome One(string content, string blobPath, ValidationOptions? validation = null)
    {
        var result = Ingest(content, blobPath, validation);
        Assert.Single(result.Outcomes);
        return result.Outcomes[0];
    }

    public static T Accepted<T>(RowOutcome outcome)
        where T : DropRecord
    {
        Assert.True(outcome.IsAccepted, outcome.Rejection?.ToString());
        return Assert.IsType<T>(outcome.Record);
    }

    public static RowRejection Rejected(RowOutcome outcome, string reason)
    {
        Assert.False(outcome.IsAccepted, $"expected {reason}, got {outcome.Record}");
        Assert.Equal(reason, outcome.Rejection!.Reason);
        return outcome.Rejection;
    }

    internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

internal sealed record DropResult(List<RawRow> Rows, List<RowOutcome> Outcomes)
{
    public int Accepted => Outcomes.Count(o => o.IsAccepted);

    public int Rejected => Outcomes.Count(o => !o.IsAccepted);

    public int Flagged => Outcomes.Count(o => o.IsFlagged);

    public IEnumerable<RowRejection> Rejections => Outcomes.Where(o => !o.IsAccepted).Select(o => o.Rejection!);

    public IEnumerable<T> Records<T>() => Outcomes.Where(o => o.IsAccepted).Select(o => o.Record).OfType<T>();

    public void AssertAccounting()
    {
        Assert.Equal(Rows.Count, Accepted + Rejected);
        Assert.All(Outcomes, o => Assert.True(o.IsAccepted ^ (o.Rejection is not null)));
        Assert.True(Flagged <= Accepted);
    }
}
