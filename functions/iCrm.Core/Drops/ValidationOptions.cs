using System.Globalization;

namespace iCrm.Core.Drops;

/// <summary>The rules a row is validated and cleaned by. One instance per deployment; bind from configuration.</summary>
public sealed record ValidationOptions
{
    public static ValidationOptions Default { get; } = new();

    /// <summary>Decides ambiguous dates (<c>03/04/2024</c> is 4 March in en-US, 3 April in en-GB) and numbers (<c>1,234</c>).</summary>
    public string Culture { get; init; } = "en-US";

    /// <summary>IANA or Windows time zone id in which timestamps without an offset are read.</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>ISO 3166 region for phone numbers written without a country code.</summary>
    public string DefaultPhoneRegion { get; init; } = "US";

    /// <summary>Order, event and subscription amounts above this are rejected as <c>absurd_amount</c>.</summary>
    public decimal MaxAmount { get; init; } = 1_000_000m;

    /// <summary>Amounts above this are accepted but flagged (<c>large_amount</c>).</summary>
    public decimal FlagAmount { get; init; } = 10_000m;

    /// <summary>How far in the future a date may be (clock skew, time zones) before it is rejected as <c>future_date</c>.</summary>
    public TimeSpan FutureTolerance { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Dates before this are rejected as <c>invalid_date</c> (placeholder dates such as 0001-01-01 or 1900-01-01 typos).</summary>
    public DateOnly MinDate { get; init; } = new(1900, 1, 1);

    /// <summary>Feedback text longer than this is cut and the row flagged (<c>text_truncated</c>).</summary>
    public int MaxTextLength { get; init; } = 4000;

    /// <summary>Where "now" comes from for the future-date rule.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal CultureInfo CultureInfo => CultureInfo.GetCultureInfo(Culture);

    internal TimeZoneInfo TimeZoneInfo => TimeZone is "UTC" or "Etc/UTC" or "utc" ? System.TimeZoneInfo.Utc : System.TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}
