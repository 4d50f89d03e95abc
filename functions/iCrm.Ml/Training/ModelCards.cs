using System.IO.Compression;
using System.Text.Json;
using iCrm.Core.Features;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Training;

/// <summary>Pieces every model card and bundle shares: the feature schema in words, the data fingerprint, JSON bundles.</summary>
public static class ModelCards
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static List<FeatureDescription> Describe(FeatureSchema schema) =>
        [.. schema.Features.Select(f => new FeatureDescription(f.Name, f.Kind.ToString().ToLowerInvariant(), f.Label))];

    /// <summary>
    /// A fingerprint of the data a run saw: customers, order lines, feedback, latest order date, combined so that the
    /// order profiles were read in does not matter. Two runs on the same data give the same fingerprint.
    /// </summary>
    public static string Fingerprint(IReadOnlyList<CustomerProfile> profiles)
    {
        ulong sum = 0, xor = 0;
        long lines = 0, feedback = 0;
        var latest = DateTimeOffset.MinValue;
        foreach (var p in profiles)
        {
            var h = Hash(p.Id);
            h = Mix(h ^ (ulong)p.Orders.Count);
            if (p.Orders.Count > 0)
            {
                var last = p.Orders[^1];
                h = Mix(h ^ (ulong)last.Date.UtcTicks ^ Hash(last.OrderId));
                if (last.Date > latest)
                {
                    latest = last.Date;
                }
            }
            h = Mix(h ^ (ulong)p.Feedback.Count ^ ((ulong)p.OrderMonths.Count << 32));
            sum += h;
            xor ^= h;
            lines += p.Orders.Count;
            feedback += p.Feedback.Count;
        }
        return $"customers={profiles.Count};orderLines={lines};feedback={feedback};latestOrder={(latest == DateTimeOffset.MinValue ? "none" : latest.ToString("yyyy-MM-dd"))};hash={sum ^ (xor << 1):x16}";
    }

    /// <summary>A zip with one JSON entry: the bundle of the parameter-only kinds (clv, segments, recommendations).</summary>
    public static byte[] JsonBundle<T>(string entryName, T value)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = zip.CreateEntry(entryName, CompressionLevel.Fastest).Open();
            JsonSerializer.Serialize(entry, value, Json);
        }
        return buffer.ToArray();
    }

    public static T ReadJsonBundle<T>(Stream bundle, string entryName)
    {
        using var zip = new ZipArchive(bundle, ZipArchiveMode.Read, leaveOpen: true);
        using var entry = zip.GetEntry(entryName)?.Open() ?? throw new InvalidDataException($"The bundle has no {entryName}.");
        return JsonSerializer.Deserialize<T>(entry, Json) ?? throw new InvalidDataException($"{entryName} is empty.");
    }

    public static byte[] Save(Action<Stream> save)
    {
        using var buffer = new MemoryStream();
        save(buffer);
        return buffer.ToArray();
    }

    internal static double Round(double value, int digits = 4) => double.IsFinite(value) ? Math.Round(value, digits) : value;

    private static ulong Hash(string s)
    {
        ulong h = 1469598103934665603UL;
        foreach (var c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return h;
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        return x;
    }
}
