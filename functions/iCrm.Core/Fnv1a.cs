using System.Runtime.CompilerServices;

namespace iCrm.Core;

/// <summary>
/// FNV-1a: a fast hash that is the same in every process (unlike <see cref="string.GetHashCode()"/>), for choosing
/// buckets that must be reproducible and for small fixed-size tables. Not randomised: use it only where the number of
/// colliding entries is bounded.
/// </summary>
internal static class Fnv1a
{
    public const uint Seed = 2166136261u;
    private const uint Prime = 16777619u;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Add(uint hash, uint value) => (hash ^ value) * Prime;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Add(uint hash, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * Prime;
        }
        return hash;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Add(uint hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }
        return hash;
    }
}
