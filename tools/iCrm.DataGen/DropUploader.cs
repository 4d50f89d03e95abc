using Azure.Storage.Blobs;
using iCrm.Core.Drops;

namespace iCrm.DataGen;

/// <summary>Uploads generated drops to the <c>drops</c> container, keeping <c>{source}/{entity}/{file}</c>; customers first,
/// so profiles start from their richest source.</summary>
public static class DropUploader
{
    public static async Task<int> UploadAsync(string dropsDirectory, string connectionString)
    {
        var container = new BlobServiceClient(connectionString).GetBlobContainerClient("drops");
        await container.CreateIfNotExistsAsync();
        var files = Directory.GetFiles(dropsDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dropsDirectory, f).Replace('\\', '/'))
            .OrderBy(f => f.Split('/')[1] == "customers" ? 0 : 1)
            .ThenBy(f => f, StringComparer.Ordinal)
            .ToList();
        foreach (var file in files)
        {
            await container.GetBlobClient(file).UploadAsync(Path.Combine(dropsDirectory, file), overwrite: true);
        }
        return files.Count;
    }

    /// <summary>
    /// Uploads one file as <c>drops/{source}/{entity}/{file name}</c> (scripts/drop.sh). The path is checked with the
    /// app's own <see cref="DropPath"/> rules first, so a drop the app would reject is refused here with the reason.
    /// Returns the blob path and the id the app will give the drop (from the blob's ETag).
    /// </summary>
    public static async Task<(string BlobPath, string DropId)> UploadOneAsync(string file, string source, string entity, string connectionString)
    {
        if (!File.Exists(file)) throw new ArgumentException($"no such file: {file}");
        var blobPath = $"{source}/{entity}/{Path.GetFileName(file)}";
        if (!DropPath.TryParse(blobPath, out var path, out var error)) throw new ArgumentException(error);

        var container = new BlobServiceClient(connectionString).GetBlobContainerClient(DropPath.Container);
        await container.CreateIfNotExistsAsync();
        var uploaded = await container.GetBlobClient(path.BlobPath).UploadAsync(file, overwrite: true);
        return (path.BlobPath, DropId.Compute(DropPath.Container, path.BlobPath, uploaded.Value.ETag.ToString()));
    }
}
