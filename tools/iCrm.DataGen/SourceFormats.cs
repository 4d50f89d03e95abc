namespace iCrm.DataGen;

/// <summary>
/// The export conventions of each synthetic source. They differ on purpose, as real systems do: ISO in the web shop,
/// day-first dates with ';' and decimal commas (plus BOM and CRLF) in the point of sale, JSON Lines with offsets in the
/// app, tab-separated month-first dates in the call centre, gzip from the email platform, CRLF from the ERP.
/// Written to truth/sources.json so ingestion tests can configure each source.
/// </summary>
public static class SourceFormats
{
    public static readonly SourceFormat Web = new("web", false, ',', "\n", false,
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm:ss'Z'", '.', "true", "false", TimeSpan.Zero);

    public static readonly SourceFormat Pos = new("pos", false, ';', "\r\n", true,
        "dd/MM/yyyy", "dd/MM/yyyy HH:mm", ',', "Y", "N", TimeSpan.FromHours(-5));

    public static readonly SourceFormat App = new("app", true, ',', "\n", false,
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm:sszzz", '.', "true", "false", TimeSpan.FromHours(-5));

    public static readonly SourceFormat CallCenter = new("callcenter", false, '\t', "\n", false,
        "MM/dd/yyyy", "MM/dd/yyyy HH:mm", '.', "yes", "no", TimeSpan.FromHours(-6));

    public static readonly SourceFormat Email = new("email", false, ',', "\n", false,
        "yyyy-MM-dd", "yyyy-MM-dd HH:mm:ss", '.', "true", "false", TimeSpan.Zero);

    public static readonly SourceFormat Erp = new("erp", false, ',', "\r\n", false,
        "yyyy-MM-dd", "yyyy-MM-dd HH:mm:ss", '.', "1", "0", TimeSpan.Zero);

    public static IReadOnlyList<SourceFormat> All { get; } = [Web, Pos, App, CallCenter, Email, Erp];
}
