using System.Text;
using System.Text.Json;

namespace iCrm.Functions.Api;

/// <summary>
/// The signed-in person App Service authentication (Easy Auth) passes to the app: header <c>X-MS-CLIENT-PRINCIPAL</c>,
/// base64 JSON <c>{ auth_typ, name_typ, role_typ, claims: [{ typ, val }] }</c>. The isolated worker with ASP.NET Core
/// integration does not turn it into <c>HttpContext.User</c>, so it is read here. Only trusted where App Service strips the
/// header from client requests (under the Functions host in Azure, with <c>Security__TrustAppServiceAuthentication</c>).
/// </summary>
public static class AppServicePrincipal
{
    public const string Header = "X-MS-CLIENT-PRINCIPAL";
    private const string ObjectIdClaim = "http://schemas.microsoft.com/identity/claims/objectidentifier";

    /// <summary>The caller with the app roles the principal holds (Entra ID app roles named as <see cref="ApiRole"/>s,
    /// case-insensitive). Its name is the principal's object id (<c>entra:{oid}</c>): pseudonymous and stable, unlike a user
    /// name, which is often an email address. Null when the header is absent or malformed.</summary>
    public static ApiCaller? Read(IHeaderDictionary headers)
    {
        var value = headers[Header].ToString();
        if (value.Length is 0 or > 32_768)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(Convert.FromBase64String(value));
            var root = document.RootElement;
            var roleType = root.TryGetProperty("role_typ", out var rt) && rt.ValueKind == JsonValueKind.String ? rt.GetString() : "roles";
            if (!root.TryGetProperty("claims", out var claims) || claims.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            string? objectId = null;
            var roles = new HashSet<ApiRole>();
            foreach (var claim in claims.EnumerateArray())
            {
                var type = claim.TryGetProperty("typ", out var t) ? t.GetString() : null;
                var val = claim.TryGetProperty("val", out var v) ? v.GetString() : null;
                if (type is null || val is null)
                {
                    continue;
                }
                if (type is ObjectIdClaim or "oid")
                {
                    objectId ??= val;
                }
                else if ((type == roleType || type is "roles" or "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
                         && Enum.TryParse<ApiRole>(val, ignoreCase: true, out var role) && Enum.IsDefined(role) && !char.IsDigit(val[0]))
                {
                    roles.Add(role);
                }
            }
            return objectId is null ? null : new ApiCaller($"entra:{objectId}", [.. roles.Order()]);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Builds the header value (tests, and documentation of the shape).</summary>
    public static string Encode(string objectId, params string[] roles) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            auth_typ = "aad",
            name_typ = "name",
            role_typ = "roles",
            claims = new[] { new { typ = ObjectIdClaim, val = objectId } }.Concat(roles.Select(r => new { typ = "roles", val = r })),
        })));
}
