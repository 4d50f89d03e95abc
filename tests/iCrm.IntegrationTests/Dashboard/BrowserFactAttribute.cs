namespace iCrm.IntegrationTests.Dashboard;

/// <summary>
/// A test that drives a real browser (Debian's Chromium). It runs by default, and fails with instructions when Chromium is
/// missing (CI installs it), so a broken setup is never mistaken for a pass; <c>ICRM_BROWSER_TESTS=off</c> skips it
/// explicitly on a machine without a browser.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string Switch = "ICRM_BROWSER_TESTS";

    public BrowserFactAttribute()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(Switch), "off", StringComparison.OrdinalIgnoreCase))
        {
            Skip = $"{Switch}=off: the dashboard's browser tests are skipped on request.";
        }
    }
}
