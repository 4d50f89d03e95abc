using System.Net;
using PuppeteerSharp;

namespace iCrm.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard of an app with a role key configured, in headless Chromium: the first API call answers 401, the page
/// asks for a key (without the Entra ID sign-in link, which a local run cannot offer), keeps it for the tab and sends it,
/// so the page then loads. No data is needed: the overview of an empty store still loads.
/// </summary>
public sealed class DashboardAccessTests : IAsyncLifetime
{
    private const string Secret = "dashboard-browser-test-key-0123456789";

    private readonly LocalAppFactory _app = new();
    private IBrowser? _browser;
    private string _dashboardUrl = "";

    public async Task InitializeAsync()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(BrowserFactAttribute.Switch), "off", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        _app.Settings["LocalTriggers:Enabled"] = "false";
        _app.Settings["Security:Keys:analyst:Secret"] = Secret;
        _app.Settings["Security:Keys:analyst:Roles"] = "reader,marketer,admin";
        var port = DashboardFixture.FreePort();
        _app.Settings["ICRM_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _app.UseKestrel();
        _app.StartServer();
        _dashboardUrl = $"http://127.0.0.1:{port}/api/dashboard/";
        _browser = await DashboardFixture.LaunchBrowserAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
            _browser.Dispose();
        }
        await _app.DisposeAsync();
    }

    [BrowserFact]
    public async Task With_a_key_configured_the_page_asks_for_it_once_and_then_loads()
    {
        await using var page = await _browser!.NewPageAsync();
        var unauthorized = 0;
        page.Response += (_, e) =>
        {
            if (e.Response.Status == HttpStatusCode.Unauthorized)
            {
                Interlocked.Increment(ref unauthorized);
            }
        };
        await page.GoToAsync(_dashboardUrl + "#/overview", WaitUntilNavigation.Load);

        await page.WaitForSelectorAsync("#key-form:not([hidden])", new WaitForSelectorOptions { Timeout = 30_000 });
        Assert.True(unauthorized > 0);
        // A local run never trusts a sign-in, so its 401 does not offer one.
        Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('entra-sign-in').hidden"));

        await page.TypeAsync("#api-key", Secret);
        await page.ClickAsync("#key-form button[type=submit]");
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.loads || 0) > 0", new WaitForFunctionOptions { Timeout = 30_000 });

        Assert.Equal("Overview", await page.EvaluateExpressionAsync<string>("document.querySelector('main h2')?.textContent ?? ''"));
        Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('key-form').hidden"));
        Assert.Equal(Secret, await page.EvaluateExpressionAsync<string>("sessionStorage.getItem('icrm.apiKey')"));
    }
}
