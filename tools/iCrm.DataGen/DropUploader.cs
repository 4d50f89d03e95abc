using Azure.Storage.Blobs;

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
}
