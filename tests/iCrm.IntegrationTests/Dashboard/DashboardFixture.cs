using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using iCrm.DataGen;
using PuppeteerSharp;

namespace iCrm.IntegrationTests.Dashboard;

/// <summary>
/// Once per test class: the whole app on a real port (Kestrel, the local stack, local triggers), a small generated data
/// set dropped and ingested, models trained, and a headless Chromium to browse the dashboard with.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    /// <summary>Small enough for CI (about a minute to ingest and train here), large enough for every model kind but sentiment.</summary>
    public const int Customers = 150;

    public static readonly string ChromiumPath = Environment.GetEnvironmentVariable("ICRM_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static string ScreenshotDirectory { get; } = Path.Combine(RepositoryRoot(), ".artifacts", "screenshots");

    private readonly LocalAppFactory _app = new();
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "icrm-dashboard-" + LocalStack.Unique());

    public IBrowser Browser { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

    /// <summary>The app's services (its real Cosmos store on the local stack), for setting up what training here cannot make.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>http://127.0.0.1:{port}/api/dashboard/</summary>
    public string DashboardUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(BrowserFactAttribute.Switch), "off", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"The dashboard's browser tests need Chromium at {ChromiumPath} and it is not there. Install it with " +
                $"`sudo apt-get install -y chromium` (or point ICRM_CHROMIUM at a Chromium/Chrome binary), or set " +
                $"{BrowserFactAttribute.Switch}=off to skip these tests on this machine.");
        }

        var port = FreePort();
        _app.Settings["ICRM_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _app.UseKestrel();
        _app.StartServer();
        var root = new Uri($"http://127.0.0.1:{port}");
        Api = new HttpClient { BaseAddress = root, Timeout = TimeSpan.FromMinutes(2) };
        DashboardUrl = new Uri(root, "/api/dashboard/").ToString();

        var since = DateTimeOffset.UtcNow.AddSeconds(-5);
        var end = DateOnly.FromDateTime(DateTime.UtcNow);
        var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = Customers, Seed = 16, Start = end.AddYears(-2), End = end })
            .Generate(_dataDirectory);
        await DropUploader.UploadAsync(Path.Combine(_dataDirectory, "drops"), LocalStack.Storage);
        var expected = summary.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        await Eventually(async () =>
        {
            var page = await Api.GetFromJsonAsync<JsonObject>("/api/ingestions?pageSize=500");
            var finished = page!["items"]!.AsArray()
                .Where(i => DateTimeOffset.Parse(i!["startedAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) >= since
                    && expected.Contains(i["blobPath"]!.GetValue<string>())
                    && i["status"]!.GetValue<string>() is "completed" or "rejected" or "failed")
                .Select(i => i!["blobPath"]!.GetValue<string>())
                .ToHashSet();
            return finished.Count >= expected.Count ? true : (bool?)null;
        }, "ingesting the generated drops", seconds: 240);

        var started = await Api.PostAsJsonAsync("/api/train", new { });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonObject>())!["runId"]!.GetValue<string>();
        var status = await Eventually(async () =>
        {
            var run = await Api.GetFromJsonAsync<JsonObject>($"/api/train/{runId}");
            return run!["status"]!.GetValue<string>() is "succeeded" or "failed" or "skipped" ? run["status"]!.GetValue<string>() : null;
        }, "training", seconds: 240);
        Assert.Equal("succeeded", status);

        Directory.CreateDirectory(ScreenshotDirectory);
        Browser = await LaunchBrowserAsync();
    }

    /// <summary>Headless Chromium as every dashboard test drives it.</summary>
    public static Task<IBrowser> LaunchBrowserAsync() => Puppeteer.LaunchAsync(new LaunchOptions
    {
        ExecutablePath = ChromiumPath,
        Headless = true,
        // Root in CI containers: Chromium's sandbox needs user namespaces that containers rarely allow.
        Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
            Browser.Dispose();
        }
        Api?.Dispose();
        await _app.DisposeAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<T> Eventually<T>(Func<Task<T?>> probe, string what, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (await probe() is { } result)
            {
                return result;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not finish within {seconds} s.");
            }
            await Task.Delay(500);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "iCrm.Functions.sln")))
            {
                return dir.FullName;
            }
        }
        return AppContext.BaseDirectory;
    }
}
