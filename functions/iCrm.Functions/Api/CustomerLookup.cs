using System.Text.RegularExpressions;
using iCrm.Core.Identity;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Functions.Api;

/// <summary>Finds profiles for the API: by unified id (following merges) or by a source system's own id.</summary>
public sealed partial class CustomerLookup(ICustomerStore customers, IIdentityStore identities, MatchKeyHasher keys)
{
    private const int MaxMergeHops = 8;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    public static partial Regex IdFormat();

    public static bool IsValidId(string id) => IdFormat().IsMatch(id);

    /// <summary>The live profile for an id; when the id was merged away, the survivor (and <c>followed</c> is true).</summary>
    public async Task<(CustomerProfile? Profile, bool Followed)> FindAsync(string id, CancellationToken cancellationToken)
    {
        var followed = false;
        for (var hop = 0; hop < MaxMergeHops; hop++)
        {
            var stored = await customers.GetAsync(id, cancellationToken);
            if (stored is null)
            {
                return (null, followed);
            }
            if (stored.Value.MergedInto is not { } next)
            {
                return (stored.Value, followed);
            }
            id = next;
            followed = true;
        }
        return (null, followed);
    }

    public async Task<string?> FindIdBySourceAsync(string source, string sourceId, CancellationToken cancellationToken)
    {
        var claim = await identities.GetAsync(keys.SourceKey(source, sourceId).Value, cancellationToken);
        return claim?.CustomerId;
    }
}
