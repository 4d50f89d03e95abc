using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using iCrm.Core.Drops;

namespace iCrm.Core.Identity;

/// <summary>What a match key identifies; the prefix keeps kinds apart in the one <c>identities</c> container.</summary>
public enum MatchKeyKind
{
    /// <summary>Source system + the source's own customer id; the key that creates a profile.</summary>
    SourceId,
    LoyaltyId,
    Email,
    Phone,
    /// <summary>A fuzzy-matching block (e.g. postcode + phonetic surname); points to candidate customers, proves nothing.</summary>
    Blocking,
}

/// <summary>
/// A keyed hash of one identifying value, e.g. <c>em:3f9a…</c>. Safe as a Cosmos id (hex after a short prefix,
/// 67 characters, none of <c>/\?#</c>) and free of raw personal data: without <c>Security__PiiKey</c> it cannot be reversed
/// or even recomputed from a guessed email.
/// </summary>
public readonly record struct MatchKey(MatchKeyKind Kind, string Value)
{
    public static string Prefix(MatchKeyKind kind) => kind switch
    {
        MatchKeyKind.SourceId => "src",
        MatchKeyKind.LoyaltyId => "ly",
        MatchKeyKind.Email => "em",
        MatchKeyKind.Phone => "ph",
        MatchKeyKind.Blocking => "bk",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Deterministic keys prove identity; blocking keys only nominate candidates.</summary>
    public bool IsDeterministic => Kind != MatchKeyKind.Blocking;

    public override string ToString() => Value;
}

/// <summary>
/// Turns contact fields into match keys with HMAC-SHA256 under the secret <c>Security__PiiKey</c>.
/// Each kind hashes a distinct domain-separated payload (<c>em|…</c>, <c>ph|…</c>), so equal text in two fields never
/// collides. Thread-safe (stateless one-shot HMAC), cheap to share.
/// </summary>
public sealed class MatchKeyHasher
{
    private readonly byte[] secret;

    // One keyed HMAC per thread: re-keying on every call (the one-shot API) costs 2-3× the hash itself.
    private readonly ThreadLocal<IncrementalHash> hmac;

    public MatchKeyHasher(byte[] secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < 16)
        {
            throw new ArgumentException("The PII key must be at least 16 bytes.", nameof(secret));
        }

        this.secret = (byte[])secret.Clone();
        hmac = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, this.secret));
    }

    /// <summary>The setting as text (e.g. from Key Vault); its UTF-8 bytes are the HMAC key.</summary>
    public MatchKeyHasher(string secret)
        : this(Encoding.UTF8.GetBytes(secret ?? throw new ArgumentNullException(nameof(secret))))
    {
    }

    /// <summary>The deterministic keys of a record, strongest first: source id, loyalty id, email, phone (absent fields skipped).</summary>
    public IReadOnlyList<MatchKey> DeterministicKeys(CustomerRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var keys = new List<MatchKey>(4) { SourceKey(record.Source, record.SourceCustomerId) };
        if (LoyaltyKey(record.LoyaltyId) is { } loyalty)
        {
            keys.Add(loyalty);
        }

        if (EmailKey(record.Email) is { } email)
        {
            keys.Add(email);
        }

        if (PhoneKey(record.Phone) is { } phone)
        {
            keys.Add(phone);
        }

        return keys;
    }

    public MatchKey SourceKey(string source, string sourceCustomerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceCustomerId);
        // Source names are case-insensitive folder names; source ids are opaque and kept exactly. "{source}|{id}" is put
        // together on the stack (once per customer of every activity drop), not as a string.
        var name = source.AsSpan().Trim();
        var id = sourceCustomerId.AsSpan().Trim();
        var length = name.Length + 1 + id.Length;
        char[]? rented = null;
        var normalised = length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(length));
        name.ToLowerInvariant(normalised);
        normalised[name.Length] = '|';
        id.CopyTo(normalised[(name.Length + 1)..]);
        var key = Key(MatchKeyKind.SourceId, normalised[..length]);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
        return key;
    }

    public MatchKey? EmailKey(string? email) =>
        EmailAddress.Canonical(email) is { } canonical ? Key(MatchKeyKind.Email, canonical) : null;

    public MatchKey? PhoneKey(string? e164)
    {
        if (string.IsNullOrWhiteSpace(e164))
        {
            return null;
        }

        // The pipeline already gives E.164; dropping stray separators makes the key robust to a caller that did not.
        var sb = new StringBuilder(e164.Length);
        foreach (var c in e164)
        {
            if (char.IsAsciiDigit(c) || (c == '+' && sb.Length == 0))
            {
                sb.Append(c);
            }
        }

        return sb.Length >= 6 ? Key(MatchKeyKind.Phone, sb.ToString()) : null;
    }

    public MatchKey? LoyaltyKey(string? loyaltyId)
    {
        if (string.IsNullOrWhiteSpace(loyaltyId))
        {
            return null;
        }

        // Loyalty numbers are typed from cards: case, spaces and dashes are not significant.
        var sb = new StringBuilder(loyaltyId.Length);
        foreach (var c in loyaltyId)
        {
            if (char.IsLetterOrDigit(c))
            {
                sb.Append(char.ToUpperInvariant(c));
            }
        }

        return sb.Length > 0 ? Key(MatchKeyKind.LoyaltyId, sb.ToString()) : null;
    }

    /// <summary>A blocking key over an already-normalised payload such as <c>pc+sx|4011|W460</c> (see <see cref="BlockingKeys"/>).</summary>
    public MatchKey BlockingKey(string payload) => Key(MatchKeyKind.Blocking, payload);

    /// <summary>The blocking keys of a candidate (<see cref="BlockingKeys.Payloads"/>), hashed.</summary>
    public IReadOnlyList<MatchKey> BlockingKeysOf(MatchCandidate candidate)
    {
        var payloads = BlockingKeys.Payloads(candidate);
        var keys = new MatchKey[payloads.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = BlockingKey(payloads[i]);
        }

        return keys;
    }

    /// <summary>
    /// The deterministic customer id of a profile created by <paramref name="creatingKey"/> (its source-id key):
    /// <c>c_</c> + 24 hex characters (96 bits) of the key's hash. A re-run of the same drops creates the same ids.
    /// </summary>
    public static string CustomerIdFor(MatchKey creatingKey)
    {
        var hex = creatingKey.Value.AsSpan(creatingKey.Value.IndexOf(':') + 1);
        return string.Concat("c_", hex[..24]);
    }

    /// <summary>The id a profile created by this record gets.</summary>
    public string CustomerIdFor(CustomerRecord record) => CustomerIdFor(SourceKey(record.Source, record.SourceCustomerId));

    internal MatchKey Key(MatchKeyKind kind, ReadOnlySpan<char> normalised)
    {
        // HMAC over UTF-8 "{prefix}|{normalised}", written as "{prefix}:{64 lower-case hex digits}": encoded on the stack
        // (or in a pooled buffer for a very long value), so the key string is the only allocation.
        var prefix = MatchKey.Prefix(kind);
        var maxBytes = prefix.Length + 1 + Encoding.UTF8.GetMaxByteCount(normalised.Length);
        byte[]? rented = null;
        var payload = maxBytes <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        var length = Encoding.UTF8.GetBytes(prefix, payload);
        payload[length++] = (byte)'|';
        length += Encoding.UTF8.GetBytes(normalised, payload[length..]);
        Span<byte> mac = stackalloc byte[32];
        var hash = hmac.Value!;
        hash.AppendData(payload[..length]);
        hash.GetHashAndReset(mac);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        Span<char> text = stackalloc char[prefix.Length + 1 + 64];
        prefix.CopyTo(text);
        text[prefix.Length] = ':';
        Convert.TryToHexStringLower(mac, text[(prefix.Length + 1)..], out _);
        return new MatchKey(kind, new string(text));
    }
}

/// <summary>Email canonicalisation for matching (not for display or sending).</summary>
public static class EmailAddress
{
    // Providers known to deliver "name+tag@" to "name@"; for the rest a '+' may be significant, so it is kept.
    private static readonly HashSet<string> PlusAddressingDomains = new(StringComparer.Ordinal)
    {
        "gmail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
        "fastmail.com", "protonmail.com", "proton.me", "pm.me",
    };

    /// <summary>
    /// Lower-case, trimmed; <c>googlemail.com</c> is <c>gmail.com</c>; for Gmail the dots of the local part are ignored
    /// (Gmail delivers <c>j.o.doe@</c> to <c>jodoe@</c>); for providers with plus addressing the <c>+tag</c> is dropped.
    /// Null when the text is not a plausible address.
    /// </summary>
    public static string? Canonical(string? email)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            return null;
        }

        var text = email.Trim().ToLowerInvariant();
        var at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1)
        {
            return null;
        }

        var local = text[..at];
        var domain = text[(at + 1)..];
        if (domain == "googlemail.com")
        {
            domain = "gmail.com";
        }

        if (PlusAddressingDomains.Contains(domain))
        {
            var plus = local.IndexOf('+');
            if (plus > 0)
            {
                local = local[..plus];
            }
        }

        if (domain == "gmail.com")
        {
            local = local.Replace(".", string.Empty, StringComparison.Ordinal);
        }

        return local.Length == 0 ? null : local + "@" + domain;
    }
}
