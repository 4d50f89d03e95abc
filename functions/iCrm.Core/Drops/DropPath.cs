using System.Security.Cryptography;
using System.Text;

namespace iCrm.Core.Drops;

public enum DropFormat
{
    Csv,
    JsonLines,
}

public enum DropCompression
{
    None,
    Gzip,
}

/// <summary>
/// Where a drop sits in the <c>drops</c> container: <c>{source}/{entity}/{file}</c>. The path is the contract with
/// data teams, so everything the reader needs (entity, format, compression) is derived from it and nothing else.
/// </summary>
public sealed record DropPath(string Source, DropEntity Entity, string FileName, DropFormat Format, DropCompression Compression)
{
    public const string Container = "drops";

    /// <summary>The blob path inside the <c>drops</c> container (no container prefix).</summary>
    public string BlobPath => $"{Source}/{EntityFolder(Entity)}/{FileName}";

    public override string ToString() => BlobPath;

    /// <summary>
    /// Parses <c>{source}/{entity}/{file}</c>, also with a leading <c>drops/</c> or <c>/</c>. On failure
    /// <paramref name="error"/> says what is wrong in words a data team can act on.
    /// </summary>
    public static bool TryParse(string? blobPath, out DropPath path, out string error)
    {
        path = null!;
        if (string.IsNullOrWhiteSpace(blobPath))
        {
            error = "The blob path is empty.";
            return false;
        }

        var trimmed = blobPath.Trim().TrimStart('/');
        if (trimmed.StartsWith(Container + "/", StringComparison.Ordinal))
        {
            trimmed = trimmed[(Container.Length + 1)..];
        }

        var parts = trimmed.Split('/');
        if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0 || parts[2].Length == 0)
        {
            error = $"'{blobPath}' is not of the form {{source}}/{{entity}}/{{file}} (e.g. web/orders/2024-03-01.csv).";
            return false;
        }

        var source = parts[0];
        foreach (var c in source)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '-'))
            {
                error = $"Source '{source}' must be lower-case letters, digits, '_' or '-'.";
                return false;
            }
        }

        if (!TryParseEntity(parts[1], out var entity))
        {
            error = $"Entity '{parts[1]}' is not one of customers, orders, events, feedback, subscriptions.";
            return false;
        }

        var file = parts[2];
        var compression = DropCompression.None;
        var name = file;
        if (name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            compression = DropCompression.Gzip;
            name = name[..^3];
        }

        DropFormat format;
        if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
        {
            format = DropFormat.Csv;
        }
        else if (name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
        {
            format = DropFormat.JsonLines;
        }
        else
        {
            error = $"File '{file}' has an unsupported type; use .csv, .tsv, .jsonl or .ndjson, optionally with .gz.";
            return false;
        }

        path = new DropPath(source, entity, file, format, compression);
        error = "";
        return true;
    }

    public static DropPath Parse(string blobPath) =>
        TryParse(blobPath, out var path, out var error) ? path : throw new FormatException(error);

    public static string EntityFolder(DropEntity entity) => entity switch
    {
        DropEntity.Customers => "customers",
        DropEntity.Orders => "orders",
        DropEntity.Events => "events",
        DropEntity.Feedback => "feedback",
        DropEntity.Subscriptions => "subscriptions",
        _ => throw new ArgumentOutOfRangeException(nameof(entity)),
    };

    private static bool TryParseEntity(string folder, out DropEntity entity)
    {
        // Folder names are the contract and are lower-case; be lenient about case only, not spelling.
        switch (folder.ToLowerInvariant())
        {
            case "customers": entity = DropEntity.Customers; return true;
            case "orders": entity = DropEntity.Orders; return true;
            case "events": entity = DropEntity.Events; return true;
            case "feedback": entity = DropEntity.Feedback; return true;
            case "subscriptions": entity = DropEntity.Subscriptions; return true;
            default: entity = default; return false;
        }
    }
}

/// <summary>The id of one drop: blob identity plus ETag, so a re-upload is a new drop and a redelivered event is not.</summary>
public static class DropId
{
    /// <summary>First 32 lower-case hex characters of SHA-256 over <c>"{container}/{blob path}|{ETag without quotes}"</c>.</summary>
    public static string Compute(string container, string blobPath, string etag)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(blobPath);
        ArgumentNullException.ThrowIfNull(etag);
        var input = $"{container}/{blobPath}|{etag.Trim('"')}";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(input));
        return Convert.ToHexStringLower(hash)[..32];
    }
}
