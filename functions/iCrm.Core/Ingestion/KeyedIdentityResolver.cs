using System.Security.Cryptography;
using System.Text;
using iCrm.Core.Drops;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;

namespace iCrm.Core.Ingestion;

/// <summary>
/// Resolves records to customers by deterministic match keys (source id, email, phone, loyalty id), stored only as
/// HMAC-SHA256 hashes under the secret <c>ICRM_PII_KEY</c>. Keys are claimed create-if-absent, so two drops creating
/// the same person at once end with one profile; a record whose keys belong to two profiles merges them.
/// </summary>
public sealed class KeyedIdentityResolver(IIdentityStore identities, byte[] secret) : IIdentityResolver
{
    public async Task<Resolution> ResolveAsync(DropRecord record, IProfileLookup profiles, CancellationToken cancellationToken)
    {
        var keys = Keys(record);
        var owners = new List<string>();
        foreach (var (key, _) in keys)
        {
            if (!profiles.ResolvedKeys.TryGetValue(key, out var owner))
            {
                owner = (await identities.GetAsync(key, cancellationToken))?.CustomerId;
                if (owner is not null)
                {
                    profiles.ResolvedKeys[key] = owner;
                }
            }
            if (owner is not null && !owners.Contains(owner))
            {
                owners.Add(owner);
            }
        }

        var customerId = owners.Count > 0 ? owners[0] : CustomerIdFor(keys[0].Key);
        var mergeFrom = new List<string>();
        if (owners.Count > 1)
        {
            customerId = await ChooseSurvivorAsync(owners, profiles, cancellationToken);
            mergeFrom.AddRange(owners.Where(o => o != customerId));
        }
        foreach (var (key, kind) in keys)
        {
            if (profiles.ResolvedKeys.TryGetValue(key, out var known) && (known == customerId || mergeFrom.Contains(known)))
            {
                continue;
            }
            var owner = await identities.ClaimAsync(key, kind, customerId, cancellationToken);
            if (owner != customerId && !mergeFrom.Contains(owner))
            {
                // Lost a race for this key: the person already exists under another id.
                mergeFrom.Add(owner);
            }
            profiles.ResolvedKeys[key] = customerId;
        }
        MergeExplanation? explanation = mergeFrom.Count == 0 ? null
            : new MergeExplanation(string.Join(',', mergeFrom), DateTimeOffset.UtcNow, "shared-key", null,
                keys.Select(k => $"shared {k.Kind} key").Distinct().ToList());
        return new Resolution(customerId, mergeFrom, explanation, keys.Select(k => k.Key).ToList());
    }

    private static async Task<string> ChooseSurvivorAsync(List<string> owners, IProfileLookup profiles, CancellationToken cancellationToken)
    {
        CustomerProfile? best = null;
        foreach (var id in owners)
        {
            var profile = await profiles.FindAsync(id, cancellationToken);
            if (profile is null)
            {
                continue;
            }
            best = best is null ? profile : ProfileMerge.ChooseSurvivor(best, profile).Survivor;
        }
        return best?.Id ?? owners.Min(StringComparer.Ordinal)!;
    }

    /// <summary>The keys of a record, the source-id key first (it names a new profile).</summary>
    public List<(string Key, string Kind)> Keys(DropRecord record)
    {
        var keys = new List<(string, string)> { (Key("src", $"{record.Source}|{record.SourceCustomerId}"), "src") };
        if (record is CustomerRecord c)
        {
            if (!string.IsNullOrEmpty(c.Email))
            {
                keys.Add((Key("em", c.Email), "em"));
            }
            if (!string.IsNullOrEmpty(c.Phone))
            {
                keys.Add((Key("ph", c.Phone), "ph"));
            }
            if (!string.IsNullOrEmpty(c.LoyaltyId))
            {
                keys.Add((Key("ly", c.LoyaltyId), "ly"));
            }
        }
        return keys;
    }

    public string Key(string kind, string value)
    {
        var hash = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{kind}|{value}"));
        return $"{kind}:{Convert.ToHexStringLower(hash)}";
    }

    /// <summary>Deterministic customer id from the hashed key of the identity that created the profile.</summary>
    public static string CustomerIdFor(string sourceKey) => "c" + sourceKey[(sourceKey.IndexOf(':') + 1)..][..23];
}
