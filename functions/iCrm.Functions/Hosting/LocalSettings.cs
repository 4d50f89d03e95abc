using System.Text.Json;

namespace iCrm.Functions.Hosting;

/// <summary>
/// Reads <c>local.settings.json</c> <c>Values</c> as the Functions host does locally (<c>A__B</c> becomes <c>A:B</c>);
/// environment variables still win.
/// </summary>
public static class LocalSettings
{
    public static void AddLocalSettings(this IConfigurationManager configuration, string contentRoot)
    {
        var path = new[] { Directory.GetCurrentDirectory(), contentRoot }
            .Select(d => Path.Combine(d, "local.settings.json"))
            .FirstOrDefault(File.Exists);
        if (path is null)
        {
            return;
        }
        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!document.RootElement.TryGetProperty("Values", out var values) || values.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in values.EnumerateObject())
        {
            settings[property.Name.Replace("__", ":", StringComparison.Ordinal)] = property.Value.ValueKind == JsonValueKind.String
                ? property.Value.GetString()
                : property.Value.GetRawText();
        }
        configuration.AddInMemoryCollection(settings);
        configuration.AddEnvironmentVariables();
    }
}
