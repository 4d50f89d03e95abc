using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace iCrm.Core.Tests.DataGen;

/// <summary>A deliberately independent, strict reader for the generated files, so the tests do not trust the generator's own code.</summary>
internal static class DropFileReader
{
    public sealed record Record(Dictionary<string, string> Fields, bool Malformed);

    public static string ReadText(string path)
    {
        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>RFC 4180 records keyed by header name; a record with text after a closing quote is marked malformed.</summary>
    public static List<Record> ReadCsv(string path, char separator)
    {
        string text = ReadText(path);
        var rows = new List<(List<string> Fields, bool Malformed)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        bool malformed = false, inQuotes = false, afterQuote = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else { inQuotes = false; afterQuote = true; }
                }
                else field.Append(c);
                continue;
            }
            if (c == separator) { fields.Add(field.ToString()); field.Clear(); afterQuote = false; any = true; continue; }
            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') continue;
            if (c == '\n')
            {
                fields.Add(field.ToString());
                rows.Add((fields, malformed));
                fields = []; field.Clear(); malformed = false; afterQuote = false; any = false;
                continue;
            }
            if (c == '"' && field.Length == 0 && !afterQuote) { inQuotes = true; any = true; continue; }
            if (afterQuote) malformed = true;
            field.Append(c);
            any = true;
        }
        if (any || field.Length > 0) { fields.Add(field.ToString()); rows.Add((fields, malformed)); }

        var header = rows[0].Fields;
        return rows.Skip(1).Select(r => new Record(
            header.Select((h, k) => (h, v: k < r.Fields.Count ? r.Fields[k] : "")).ToDictionary(x => x.h, x => x.v, StringComparer.OrdinalIgnoreCase),
            r.Malformed || r.Fields.Count != header.Count)).ToList();
    }

    /// <summary>JSON Lines records (values as text); a line that is not a JSON object is marked malformed.</summary>
    public static List<Record> ReadJsonLines(string path)
    {
        var records = new List<Record>();
        foreach (string line in ReadText(path).Split('\n'))
        {
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var fields = doc.RootElement.EnumerateObject().ToDictionary(
                    p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(), StringComparer.OrdinalIgnoreCase);
                records.Add(new Record(fields, false));
            }
            catch (JsonException)
            {
                records.Add(new Record(new Dictionary<string, string>(), true));
            }
        }
        return records;
    }

    public static List<Record> Read(string root, string relativePath)
    {
        string path = Path.Combine(root, relativePath);
        string source = relativePath.Split('/')[1];
        if (relativePath.EndsWith(".jsonl", StringComparison.Ordinal)) return ReadJsonLines(path);
        char separator = source switch { "pos" => ';', "callcenter" => '\t', _ => ',' };
        return ReadCsv(path, separator);
    }

    public static List<Dictionary<string, string>> ReadTruth(string root, string name) =>
        ReadCsv(Path.Combine(root, "truth", name), ',').Select(r => r.Fields).ToList();

    public static string Get(this Record record, string name) => record.Fields.GetValueOrDefault(name) ?? "";
}
