namespace iCrm.Functions.Api;

/// <summary>
/// What a caller may do. <c>Reader</c>: profiles and scores. <c>Marketer</c>: lists and exports within consent.
/// <c>Admin</c>: training and settings. <c>Privacy</c>: erase, export and audit.
/// </summary>
public enum ApiRole
{
    Reader,
    Marketer,
    Admin,
    Privacy,
}

/// <summary>Declares, on an HTTP function method, the roles allowed to call it (any one of them suffices). Every HTTP
/// function is anonymous at the Functions host, so this (checked by <see cref="ApiAccess"/>) is what guards it.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequiresRoleAttribute(params ApiRole[] roles) : Attribute
{
    public IReadOnlyList<ApiRole> Roles { get; } = roles;
}

/// <summary>Declares, on an HTTP function method, that anyone may call it without a key or sign-in (health, the API
/// documentation, the dashboard's static assets). A function with neither this nor <see cref="RequiresRoleAttribute"/>
/// is treated as admin-only, and a test fails on it.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class PublicEndpointAttribute : Attribute;

/// <summary>Who is calling: a key name or principal name (never personal data) and the roles it holds.</summary>
public sealed record ApiCaller(string Name, IReadOnlyList<ApiRole> Roles)
{
    public static readonly ApiCaller Anonymous = new("anonymous", []);

    private static readonly object Key = new();

    public static ApiCaller Of(HttpContext context) =>
        context.Items.TryGetValue(Key, out var caller) && caller is ApiCaller c ? c : Anonymous;

    public void AttachTo(HttpContext context) => context.Items[Key] = this;
}
