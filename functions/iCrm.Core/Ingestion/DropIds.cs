using System.Security.Cryptography;
using System.Text;

namespace iCrm.Core.Ingestion;

public static class DropIds
{
    /// <summary>First 32 hex characters of SHA-256 over <c>"{container}/{blob path}|{ETag without quotes}"</c> (a Cosmos-safe id).</summary>
    public static string Compute(string container, string blobPath, string etag)
    {
        var input = $"{container}/{blobPath}|{etag.Trim('"')}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input)))[..32];
    }
}
