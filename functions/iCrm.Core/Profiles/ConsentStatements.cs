namespace iCrm.Core.Profiles;

/// <summary>The channels a person can give or withdraw consent for; the names are those of the API and of <c>consent.{channel}</c>.</summary>
public static class ConsentChannels
{
    public const string Email = "email";
    public const string Sms = "sms";
    public const string Phone = "phone";
    public const string Profiling = "profiling";

    public static IReadOnlyList<string> All { get; } = [Email, Sms, Phone, Profiling];

    /// <summary>The canonical channel name for <paramref name="text"/> (case-insensitive), or null when it names none.</summary>
    public static string? Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        Email => Email,
        Sms => Sms,
        Phone => Phone,
        Profiling => Profiling,
        _ => null,
    };
}

/// <summary>One statement of consent: on <paramref name="At"/>, <paramref name="Source"/> (a drop's source system or the
/// API caller's source name) said the person does (true) or does not (false) consent to <paramref name="Channel"/>.</summary>
public sealed record ConsentStatement(string Channel, bool Value, string Source, DateTimeOffset At);

/// <summary>
/// Keeps a profile's consent as statements and derives the current value per channel from them: the most recent statement
/// wins, whatever its source (a withdrawal must never lose to an older opt-in from a higher-priority system). The history
/// is bounded per channel (<see cref="MaxPerChannel"/>, oldest dropped), so a profile stays small.
/// </summary>
public static class ConsentLedger
{
    /// <summary>Statements kept per channel; the newest always stays, so the current value is never lost.</summary>
    public const int MaxPerChannel = 10;

    /// <summary>Adds a statement (an identical one already kept is not added twice: a replayed drop changes nothing) and
    /// sets the current values. Returns whether the profile changed.</summary>
    public static bool Record(CustomerProfile profile, ConsentStatement statement)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(statement);
        if (ConsentChannels.Parse(statement.Channel) is not { } channel)
        {
            throw new ArgumentException($"'{statement.Channel}' is not a consent channel.", nameof(statement));
        }
        statement = statement with { Channel = channel };
        if (profile.ConsentHistory.Contains(statement))
        {
            return false;
        }
        profile.ConsentHistory.Add(statement);
        Normalise(profile);
        return true;
    }

    /// <summary>Union of both profiles' statements on the survivor (a merge keeps every statement; the most recent wins).
    /// A channel neither profile has statements for keeps the survivor's value, else the other's (profiles from before
    /// statements were kept).</summary>
    public static void Union(CustomerProfile survivor, CustomerProfile other)
    {
        foreach (var statement in other.ConsentHistory)
        {
            if (!survivor.ConsentHistory.Contains(statement))
            {
                survivor.ConsentHistory.Add(statement);
            }
        }
        survivor.Consent.Email ??= other.Consent.Email;
        survivor.Consent.Sms ??= other.Consent.Sms;
        survivor.Consent.Phone ??= other.Consent.Phone;
        survivor.Consent.Profiling ??= other.Consent.Profiling;
        Normalise(survivor);
    }

    /// <summary>The most recent statement for <paramref name="channel"/>, if any.</summary>
    public static ConsentStatement? Latest(CustomerProfile profile, string channel)
    {
        ConsentStatement? latest = null;
        foreach (var s in profile.ConsentHistory)
        {
            // Equal times: the later-recorded statement wins (a correction sent with the same timestamp).
            if (s.Channel == channel && (latest is null || s.At >= latest.At))
            {
                latest = s;
            }
        }
        return latest;
    }

    /// <summary>Orders the history by time, trims each channel to its newest <see cref="MaxPerChannel"/> and sets the
    /// current values from the newest statements. Withdrawn profiling consent also removes the stored predictions, so the
    /// person drops out of score lists at once (training leaves them out from its next run).</summary>
    private static void Normalise(CustomerProfile profile)
    {
        var history = profile.ConsentHistory;
        // Stable sort: statements with equal times keep the order they were recorded in.
        var ordered = history.Select((s, i) => (s, i)).OrderBy(x => x.s.At).ThenBy(x => x.i).Select(x => x.s).ToList();
        foreach (var channel in ConsentChannels.All)
        {
            var count = ordered.Count(s => s.Channel == channel);
            for (var i = 0; i < ordered.Count && count > MaxPerChannel; i++)
            {
                if (ordered[i].Channel == channel)
                {
                    ordered.RemoveAt(i--);
                    count--;
                }
            }
        }
        history.Clear();
        history.AddRange(ordered);
        foreach (var channel in ConsentChannels.All)
        {
            if (Latest(profile, channel) is { } latest)
            {
                Set(profile.Consent, channel, latest.Value);
            }
        }
        if (profile.Consent.Profiling == false)
        {
            profile.Predictions.Clear();
        }
    }

    public static bool? Get(Consent consent, string channel) => channel switch
    {
        ConsentChannels.Email => consent.Email,
        ConsentChannels.Sms => consent.Sms,
        ConsentChannels.Phone => consent.Phone,
        ConsentChannels.Profiling => consent.Profiling,
        _ => throw new ArgumentOutOfRangeException(nameof(channel), channel, "Not a consent channel."),
    };

    private static void Set(Consent consent, string channel, bool value)
    {
        switch (channel)
        {
            case ConsentChannels.Email: consent.Email = value; break;
            case ConsentChannels.Sms: consent.Sms = value; break;
            case ConsentChannels.Phone: consent.Phone = value; break;
            case ConsentChannels.Profiling: consent.Profiling = value; break;
        }
    }
}
