using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Net.Http.Headers;

namespace iCrm.Functions.Api;

/// <summary>
/// The dashboard's pages, script, styles and charting library, served at <c>/api/dashboard/</c> from resources embedded
/// in the app (so it works offline and the published app carries it). The assets are anonymous: they hold no data; the
/// pages read the data from the API with the caller's key.
/// </summary>
public sealed class Dashboard
{
    public const string Route = "dashboard";

    [Function("Dashboard")]
    [PublicEndpoint]
    [ExcludeFromDescription]
    public IResult Serve([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = Route + "/{*path}")] HttpRequest req, string? path)
    {
        // Relative links in the pages resolve against /api/dashboard/, so the bare path redirects there.
        if (string.IsNullOrEmpty(path) && !req.Path.Value!.EndsWith('/'))
        {
            return Results.Redirect($"/{Hosting.HttpFunctions.RoutePrefix}/{Route}/");
        }
        var asset = DashboardAssets.Find(string.IsNullOrEmpty(path) ? "index.html" : path);
        if (asset is null)
        {
            return ApiProblems.NotFound("The dashboard has no such file.");
        }
        var headers = req.HttpContext.Response.GetTypedHeaders();
        // Names carry no content hash, so browsers revalidate every time; the ETag makes that a 304 without a body.
        headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        headers.ETag = asset.ETag;
        req.HttpContext.Response.Headers.XContentTypeOptions = "nosniff";
        if (req.GetTypedHeaders().IfNoneMatch.Any(tag => tag.Compare(asset.ETag, useStrongComparison: false)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }
        return Results.Bytes(asset.Content, asset.ContentType);
    }
}

/// <summary>One embedded dashboard file.</summary>
public sealed record DashboardAsset(string Path, byte[] Content, string ContentType, EntityTagHeaderValue ETag);

/// <summary>The embedded files under the logical name prefix <c>Dashboard/</c> (see iCrm.Functions.csproj), read once.</summary>
public static class DashboardAssets
{
    private const string Prefix = "Dashboard/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".md"] = "text/markdown; charset=utf-8",
        [".json"] = "application/json",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly Lazy<FrozenDictionary<string, DashboardAsset>> Assets = new(Load);

    public static IEnumerable<string> Paths => Assets.Value.Keys;

    /// <summary>The file at a path below /api/dashboard/ (case-sensitive, as URLs are), or null.</summary>
    public static DashboardAsset? Find(string path) => Assets.Value.GetValueOrDefault(path);

    private static FrozenDictionary<string, DashboardAsset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            // Windows builds name embedded folders with '\'; URLs use '/'.
            var path = name[Prefix.Length..].Replace('\\', '/');
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var type = ContentTypes.GetValueOrDefault(System.IO.Path.GetExtension(path), "application/octet-stream");
            var tag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
            assets[path] = new DashboardAsset(path, content, type, tag);
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
