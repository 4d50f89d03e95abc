using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using iCrm.Core.Storage;

namespace iCrm.Azure.Storage;

public sealed class BlobDropSource(BlobServiceClient blobs) : IDropSource
{
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(ResourceNames.DropsContainer);

    public async Task<DropBlob?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            var properties = await _container.GetBlobClient(path).GetPropertiesAsync(cancellationToken: cancellationToken);
            return new DropBlob(ResourceNames.DropsContainer, path, properties.Value.ETag.ToString("H").Trim('"'), properties.Value.ContentLength);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<Stream> OpenReadAsync(DropBlob blob, CancellationToken cancellationToken = default) =>
        await _container.GetBlobClient(blob.Path).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false)
        {
            BufferSize = 4 * 1024 * 1024,
            Conditions = new BlobRequestConditions { IfMatch = new ETag($"\"{blob.ETag}\"") },
        }, cancellationToken);
}
