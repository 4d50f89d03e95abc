using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using PuppeteerSharp;
using PuppeteerSharp.Input;

namespace iCrm.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard in headless Chromium against the app on the local stack with generated, ingested and trained data: every
/// page loads without console errors and draws its charts with data, filters change the list, the CSV export downloads
/// the filtered rows, and a customer page shows that customer. Each page's screenshot goes to .artifacts/screenshots/.
/// </summary>
public sealed class DashboardBrowserTests(DashboardFixture fixture) : IClassFixture<DashboardFixture>
{
    [BrowserFact]
    public async Task Overview_shows_drops_models_and_segment_sizes()
    {
        await using var view = await OpenAsync("#/overview", "overview");
        Assert.Equal("Overview", await view.TextAsync("h2"));
        await view.AssertChartsDrawnAsync("drops-by-day", "segment-sizes");
        Assert.NotEqual("0", await view.TextAsync("[data-kpi=drops] .value"));
        Assert.Contains("churn", await view.TextAsync("main table"));
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Segments_page_draws_segments_and_links_to_their_customers()
    {
        await using var view = await OpenAsync("#/segments", "segments");
        await view.AssertChartsDrawnAsync("rfm-chart", "rfm-value");
        var link = await view.Page.EvaluateExpressionAsync<string>("document.querySelector('#rfm-segments a').getAttribute('href')");
        Assert.StartsWith("#/customers?segment=", link);
        // Every segment and cluster says in plain words what it means.
        var descriptions = await view.Page.EvaluateExpressionAsync<string[]>(
            "[...document.querySelectorAll('#rfm-segments td.description, #clusters td.description')].map(td => td.textContent.trim())");
        Assert.NotEmpty(descriptions);
        Assert.All(descriptions, d => Assert.True(d.Length > 3 && d != "–", $"'{d}' is no description"));
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Rfm_grid_shows_the_write_back_counts_and_a_cell_opens_its_customers()
    {
        var grid = (await fixture.Api.GetFromJsonAsync<JsonObject>("/api/segments"))!["rfmGrid"]!;
        var cells = grid["cells"]!.AsArray();
        await using var view = await OpenAsync("#/segments", "segments-rfm-grid");

        // 25 cells; the ones with customers show the API's counts, darker with more customers.
        var shown = await view.Page.EvaluateExpressionAsync<GridCell[]>("""
            [...document.querySelectorAll('#rfm-grid td.rfm-cell')].map(td => ({
              recency: +td.dataset.recency, frequency: +td.dataset.frequency, customers: +(td.dataset.customers || 0),
              alpha: (m => m.length === 4 ? +m[3] : 1)(getComputedStyle(td).backgroundColor.match(/[\d.]+/g)),
              label: td.querySelector('a')?.getAttribute('aria-label') ?? '' }))
            """);
        Assert.Equal(25, shown.Length);
        Assert.Equal(grid["customers"]!.GetValue<long>(), shown.Sum(c => c.Customers));
        Assert.True(grid["customers"]!.GetValue<long>() > 0, "the write-back tallied customers into the grid");
        foreach (var cell in cells)
        {
            var match = shown.Single(c => c.Recency == cell!["recency"]!.GetValue<int>() && c.Frequency == cell["frequency"]!.GetValue<int>());
            Assert.Equal(cell!["customers"]!.GetValue<long>(), match.Customers);
            Assert.Contains("churn rate", match.Label);
        }
        var fullest = shown.MaxBy(c => c.Customers)!;
        var emptiest = shown.Where(c => c.Customers > 0).MinBy(c => c.Customers)!;
        Assert.True(fullest.Customers == emptiest.Customers || fullest.Alpha > emptiest.Alpha, "more customers, darker cell");
        Assert.Equal(cells.Count, await view.Page.EvaluateExpressionAsync<int>("document.querySelectorAll('#rfm-grid-table tbody tr').length"));

        // Open the fullest cell with the keyboard: its customers, and only they, are listed.
        var loads = await view.LoadsAsync();
        await view.Page.FocusAsync($"#rfm-grid td[data-recency='{fullest.Recency}'][data-frequency='{fullest.Frequency}'] a");
        await view.Page.Keyboard.PressAsync(Key.Enter);
        await view.WaitForLoadAsync(loads);
        var hash = await view.Page.EvaluateExpressionAsync<string>("location.hash");
        Assert.Equal($"#/customers?recency={fullest.Recency}&frequency={fullest.Frequency}", hash);
        var scores = await view.Page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#customer-table tbody tr td.rf')].map(td => td.textContent.trim())");
        Assert.NotEmpty(scores);
        Assert.All(scores, s => Assert.Equal($"{fullest.Recency} · {fullest.Frequency}", s));
        // Customers who withdrew profiling consent are left out of lists built from model output, so at most the cell's count.
        Assert.True(scores.Length <= Math.Min(fullest.Customers, 50), $"{scores.Length} rows for a cell of {fullest.Customers}");
        Assert.Equal(fullest.Recency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            await view.Page.EvaluateExpressionAsync<string>("document.querySelector(\"#customer-filters [name='recency']\").value"));
        await view.ScreenshotAsync("customers-of-rfm-cell");
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Customer_timeline_shows_orders_events_and_feedback_with_its_sentiment()
    {
        // Training 150 customers makes no sentiment model, so give one feedback item a score the way the write-back stores it.
        var page = await fixture.Api.GetFromJsonAsync<JsonObject>("/api/customers?pageSize=200");
        // A customer with orders; the generated data gives most of them feedback too, and one without gets a feedback item
        // (the same write, so the test does not depend on what the generator drew).
        var id = page!["items"]!.AsArray().First(c => c!["history"]!["orders"]!.GetValue<int>() > 0)!["id"]!.GetValue<string>();
        var store = fixture.Services.GetRequiredService<iCrm.Core.Storage.ICustomerStore>();
        var stored = (await store.GetAsync(id))!;
        if (stored.Value.Feedback.Count == 0)
        {
            stored.Value.Feedback.Add(new iCrm.Core.Profiles.FeedbackItem { Timestamp = DateTimeOffset.UtcNow.AddDays(-3), Channel = "email", Text = "Parcel arrived damaged", Rating = 1 });
        }
        var newest = stored.Value.Feedback.MaxBy(f => f.Timestamp)!;
        newest.Sentiment = 0.12;
        Assert.NotNull(await store.TryWritePredictionsAsync(id, stored.ETag, stored.Value.Predictions, stored.Value.Feedback));

        await using var view = await OpenAsync($"#/customer/{id}", "customer-timeline");
        await view.AssertChartsDrawnAsync("customer-timeline");
        var kinds = await view.Page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#timeline-table tbody tr')].map(tr => tr.dataset.kind)");
        Assert.Contains("order", kinds);
        Assert.Contains("feedback", kinds);
        Assert.True(kinds.Length <= 50, $"{kinds.Length} timeline rows");
        var sentiments = await view.Page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#timeline-table tr[data-kind=feedback] td.sentiment')].map(td => td.textContent.trim())");
        Assert.Contains("Negative 0.12", sentiments);
        // The chart's feedback points carry their sentiment too.
        var feedbackPoints = await view.Page.EvaluateExpressionAsync<int>(
            "Chart.getChart(document.getElementById('customer-timeline')).data.datasets[2].data.filter(p => p.item.sentimentLabel === 'Negative').length");
        Assert.True(feedbackPoints >= 1);
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Models_page_draws_the_churn_model_card()
    {
        await using var view = await OpenAsync("#/models?kind=churn", "models");
        var canvases = await view.AssertChartsDrawnAsync("importance");
        // The churn card's curves (ROC, precision-recall, calibration, lift) are drawn as well as the importance.
        Assert.True(canvases.Count(c => c.StartsWith("card-", StringComparison.Ordinal)) >= 2, string.Join(", ", canvases));
        Assert.Contains("auc", await view.TextAsync("main"));
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Ingestion_page_shows_drops_reasons_and_a_masked_sample_of_rejected_rows()
    {
        var page = await fixture.Api.GetFromJsonAsync<JsonObject>("/api/ingestions?pageSize=200");
        var drop = page!["items"]!.AsArray().First(i => i!["rowsRejected"]!.GetValue<long>() > 0 && i["entity"]!.GetValue<string>() == "customers");
        await using var view = await OpenAsync($"#/ingestion/{drop!["id"]!.GetValue<string>()}", "ingestion");
        await view.AssertChartsDrawnAsync("drops-over-time", "rejection-reasons");
        Assert.Contains(drop["blobPath"]!.GetValue<string>(), await view.TextAsync("#drop-detail h3"));
        var rows = await view.Page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#rejected-sample tbody tr td.mono')].map(td => td.textContent)");
        Assert.NotEmpty(rows);
        // Emails in the raw rows are masked to their first character and domain.
        Assert.DoesNotMatch(@"[A-Za-z0-9._%+-]{2,}@", string.Join("\n", rows).Replace("***@", "", StringComparison.Ordinal));
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Customer_page_shows_the_customer_with_churn_factors_and_orders()
    {
        var list = await fixture.Api.GetFromJsonAsync<JsonObject>("/api/customers?sort=churn&pageSize=5");
        var expected = list!["items"]!.AsArray().First(c => c!["history"]!["orders"]!.GetValue<int>() > 0)!;
        var id = expected["id"]!.GetValue<string>();
        await using var view = await OpenAsync($"#/customer/{id}", "customer");
        Assert.Equal(id, await view.TextAsync("#customer-id"));
        var name = $"{expected["contact"]?["firstName"]} {expected["contact"]?["lastName"]}".Trim();
        if (name.Length > 0)
        {
            Assert.Contains(name, await view.TextAsync("h2"));
        }
        foreach (var source in expected["identities"]!.AsObject().Select(s => s.Key))
        {
            Assert.Contains(source, await view.TextAsync("dl.facts"));
        }
        await view.AssertChartsDrawnAsync("churn-factors", "customer-timeline");
        // The audit trail (the fixture's open local run holds every role): ingestion created the profile, so a create entry by ingest.
        var audit = await view.Page.EvaluateExpressionAsync<string[]>(
            "[...document.querySelectorAll('#audit-table tbody tr[data-action]')].map(tr => tr.dataset.action + '|' + tr.children[2].textContent)");
        Assert.Contains("create|ingest", audit);
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Filters_change_the_list_and_a_row_opens_the_right_customer()
    {
        await using var view = await OpenAsync("#/customers?sort=churn", "customers-then-customer");
        await view.AssertChartsDrawnAsync("customers-scatter");
        var unfiltered = await view.RowsAsync();
        Assert.NotEmpty(unfiltered);

        // Filter by a segment through the form, with the keyboard (type, Enter).
        var segment = await SegmentWithSomeCustomersAsync();
        await view.SubmitFiltersAsync(("segment", segment));
        var bySegment = await view.RowsAsync();
        Assert.NotEmpty(bySegment);
        Assert.All(bySegment, r => Assert.Equal(segment, r.Segment));
        Assert.NotEqual(unfiltered.Select(r => r.Id), bySegment.Select(r => r.Id));
        Assert.Contains($"segment={Uri.EscapeDataString(segment)}", await view.Page.EvaluateExpressionAsync<string>("location.hash"));

        // A churn floor: every listed customer is at least that risky.
        await view.SubmitFiltersAsync(("segment", ""), ("minChurn", "0.5"));
        var risky = await view.RowsAsync();
        Assert.All(risky, r => Assert.True(r.ChurnPercent >= 50, $"{r.Id} has churn {r.ChurnPercent} %"));

        await view.ScreenshotAsync("customers");
        // A row opens that customer's page.
        var first = risky.Count > 0 ? risky[0] : unfiltered[0];
        if (risky.Count == 0)
        {
            await view.NavigateAsync("#/customers?sort=churn");
        }
        var loads = await view.LoadsAsync();
        await view.Page.ClickAsync($"#customer-table tr[data-id='{first.Id}'] a");
        await view.WaitForLoadAsync(loads);
        Assert.Equal(first.Id, await view.TextAsync("#customer-id"));
        view.AssertNoConsoleErrors();
    }

    [BrowserFact]
    public async Task Csv_export_downloads_the_rows_of_the_current_filter()
    {
        var segment = await SegmentWithSomeCustomersAsync();
        var downloads = Directory.CreateTempSubdirectory("icrm-csv-").FullName;
        try
        {
            await using var view = await OpenAsync($"#/customers?segment={Uri.EscapeDataString(segment)}&pageSize=25", "customers-filtered");
            await view.Page.Client.SendAsync("Browser.setDownloadBehavior", new Dictionary<string, object>
            {
                ["behavior"] = "allow",
                ["downloadPath"] = downloads,
            });
            await view.Page.ClickAsync("#csv-export");
            await view.Page.WaitForFunctionAsync("() => /^Exported/.test(document.getElementById('export-status').textContent)");
            var file = await WaitForFileAsync(downloads, "*.csv");

            var lines = (await File.ReadAllLinesAsync(file)).Where(l => l.Length > 0).ToList();
            var header = lines[0].Split(',');
            Assert.Equal(["id", "sources", "segment", "churn_probability"], header[..4]);
            var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
            Assert.All(rows, r => Assert.Equal(segment, r[2].Trim('"')));

            // Exactly the customers the API lists for that filter, across all its pages (the page showed only 25).
            var expected = new HashSet<string>(StringComparer.Ordinal);
            string? token = null;
            do
            {
                var page = await fixture.Api.GetFromJsonAsync<JsonObject>(
                    $"/api/customers?segment={Uri.EscapeDataString(segment)}&pageSize=500" + (token is null ? "" : $"&continuationToken={Uri.EscapeDataString(token)}"));
                foreach (var item in page!["items"]!.AsArray())
                {
                    expected.Add(item!["id"]!.GetValue<string>());
                }
                token = page["continuationToken"]?.GetValue<string>();
            }
            while (token is not null);
            Assert.Equal(expected.Order(), rows.Select(r => r[0]).Order());
            view.AssertNoConsoleErrors();
        }
        finally
        {
            Directory.Delete(downloads, recursive: true);
        }
    }

    private async Task<string> SegmentWithSomeCustomersAsync()
    {
        var segments = await fixture.Api.GetFromJsonAsync<JsonObject>("/api/segments");
        var rfm = segments!["rfmSummaries"]!.AsArray().Select(s => (Name: s!["segment"]!.GetValue<string>(), Customers: s["customers"]!.GetValue<int>())).ToList();
        var total = rfm.Sum(s => s.Customers);
        // Not the largest (the filter should visibly change the list), but with customers to show.
        return rfm.Where(s => s.Customers >= 3 && s.Customers < total / 2).OrderByDescending(s => s.Customers).Select(s => s.Name).FirstOrDefault()
            ?? rfm.OrderByDescending(s => s.Customers).First().Name;
    }

    private static async Task<string> WaitForFileAsync(string directory, string pattern)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (Directory.GetFiles(directory, pattern).FirstOrDefault() is { } file)
            {
                return file;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No {pattern} file was downloaded to {directory}.");
            }
            await Task.Delay(200);
        }
    }

    private async Task<DashboardView> OpenAsync(string route, string screenshotName)
    {
        var page = await fixture.Browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });
        var view = new DashboardView(page, fixture.DashboardUrl, screenshotName);
        await view.NavigateAsync(route);
        return view;
    }

    private sealed record CustomerRow(string Id, string Segment, double ChurnPercent);

    private sealed record GridCell(int Recency, int Frequency, long Customers, double Alpha, string Label);

    /// <summary>One browser tab on the dashboard, collecting console errors and uncaught exceptions from the start.</summary>
    private sealed class DashboardView : IAsyncDisposable
    {
        private readonly List<string> _errors = [];
        private readonly string _baseUrl;
        private readonly string _screenshotName;

        public DashboardView(IPage page, string baseUrl, string screenshotName)
        {
            Page = page;
            _baseUrl = baseUrl;
            _screenshotName = screenshotName;
            page.Console += (_, e) =>
            {
                if (e.Message.Type == ConsoleType.Error)
                {
                    lock (_errors)
                    {
                        _errors.Add($"console: {e.Message.Text} ({e.Message.Location?.URL})");
                    }
                }
            };
            page.PageError += (_, e) =>
            {
                lock (_errors)
                {
                    _errors.Add($"uncaught: {e.Message}");
                }
            };
        }

        public IPage Page { get; }

        public async Task NavigateAsync(string route)
        {
            // A fresh document per page, so nothing of the previous page can satisfy the wait.
            await Page.GoToAsync("about:blank");
            await Page.GoToAsync(_baseUrl + route, WaitUntilNavigation.Load);
            await WaitForLoadAsync(0);
        }

        public async Task<int> LoadsAsync() => await Page.EvaluateExpressionAsync<int>("Number(document.body.dataset.loads || 0)");

        public async Task WaitForLoadAsync(int loadsBefore)
        {
            await Page.WaitForFunctionAsync($"() => Number(document.body.dataset.loads || 0) > {loadsBefore}", new WaitForFunctionOptions { Timeout = 30_000 });
            var error = await Page.EvaluateExpressionAsync<string>("document.querySelector('.error-box')?.textContent ?? ''");
            Assert.True(error.Length == 0, $"The page reported an error: {error}");
        }

        public async Task<string> TextAsync(string selector) =>
            (await Page.EvaluateFunctionAsync<string>("s => document.querySelector(s)?.textContent ?? ''", selector)).Trim();

        /// <summary>Sets filter fields (inputs or selects by name) and submits the form with Enter.</summary>
        public async Task SubmitFiltersAsync(params (string Name, string Value)[] fields)
        {
            var loads = await LoadsAsync();
            foreach (var (name, value) in fields)
            {
                var selector = $"#customer-filters [name='{name}']";
                await Page.FocusAsync(selector);
                await Page.EvaluateFunctionAsync("s => { const e = document.querySelector(s); e.value = ''; }", selector);
                if (value.Length > 0)
                {
                    await Page.Keyboard.TypeAsync(value);
                }
            }
            await Page.FocusAsync("#customer-filters input[name='segment']");
            await Page.Keyboard.PressAsync(Key.Enter);
            await WaitForLoadAsync(loads);
        }

        public async Task<List<CustomerRow>> RowsAsync()
        {
            var rows = await Page.EvaluateExpressionAsync<string[][]>(
                "[...document.querySelectorAll('#customer-table tbody tr')].map(tr => [tr.dataset.id, tr.children[1].textContent.trim(), tr.children[2].textContent.trim()])");
            return [.. rows.Select(r => new CustomerRow(r[0], r[1], double.TryParse(r[2].Replace("%", "", StringComparison.Ordinal).Trim(),
                System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : double.NaN))];
        }

        /// <summary>Checks that the named charts exist and that every chart on the page holds data points and painted pixels;
        /// returns the ids of all charts on the page.</summary>
        public async Task<IReadOnlyList<string>> AssertChartsDrawnAsync(params string[] required)
        {
            var charts = await Page.EvaluateExpressionAsync<ChartState[]>("""
                [...document.querySelectorAll('canvas')].map(c => {
                  const chart = Chart.getChart(c);
                  const points = chart ? chart.data.datasets.reduce((n, d) => n + d.data.filter(v => v !== null && v !== undefined).length, 0) : 0;
                  const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let painted = 0;
                  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
                  return { id: c.id, points, painted };
                })
                """);
            foreach (var id in required)
            {
                Assert.Contains(charts, c => c.Id == id);
            }
            Assert.NotEmpty(charts);
            Assert.All(charts, c =>
            {
                Assert.True(c.Points > 0, $"chart {c.Id} has no data points");
                Assert.True(c.Painted > 0, $"chart {c.Id} painted nothing");
            });
            return [.. charts.Select(c => c.Id)];
        }

        public async Task ScreenshotAsync(string name) =>
            await Page.ScreenshotAsync(Path.Combine(DashboardFixture.ScreenshotDirectory, name + ".png"), new ScreenshotOptions { FullPage = true });

        public void AssertNoConsoleErrors()
        {
            lock (_errors)
            {
                Assert.True(_errors.Count == 0, "Console errors: " + string.Join(" | ", _errors));
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await ScreenshotAsync(_screenshotName);
            }
            finally
            {
                await Page.CloseAsync();
            }
        }
    }

    private sealed record ChartState(string Id, int Points, int Painted);
}
