using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace iCrm.Functions.Tests.Api;

/// <summary>Personal data in profiles and request bodies never reaches the logs, even at the most verbose level.</summary>
public sealed class PersonalDataLoggingTests : IDisposable
{
    private const string Email = "zebulonia.quist@example.test";
    private const string Name = "Zebulonia";
    private const string FeedbackText = "Zebulonia thinks the parcel arrived crushed";
    private readonly IcrmAppFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Profiles_bodies_and_bad_requests_leave_no_personal_data_in_the_logs()
    {
        var logs = new CapturingLoggerProvider();
        var profile = ApiTestKit.Profile("c-1");
        profile.Contact.Email = Email;
        profile.Contact.FirstName = Name;
        await _app.StoreAsync(profile);
        var client = _app.With(s =>
        {
            s.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
            ApiTestKit.Sentiment(new FixedSentiment(enabled: true))(s);
        }).CreateClient();

        Assert.Contains(Email, await client.GetStringAsync("/api/customers/c-1"));
        await client.GetAsync("/api/customers?pageSize=5");
        await client.PostAsync("/api/sentiment", ApiTestKit.Json($"{{\"texts\":[\"{FeedbackText}\"]}}"));
        await client.PostAsync("/api/score", ApiTestKit.Json($"{{\"attributes\":{{\"email\":\"{Email}\"}},\"feedback\":[{{\"timestamp\":\"{DateTimeOffset.UtcNow.AddDays(-1):O}\",\"channel\":\"web\",\"text\":\"{FeedbackText}\",\"rating\":9}}]}}"));
        await client.PostAsync("/api/score", ApiTestKit.Json($"{{\"attributes\":{{\"email\":{Email}}}}}"));
        var response = await client.PostAsync("/api/scores:batch", ApiTestKit.Json($"{{\"ids\":[\"{Email}\"]}}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(logs.Lines, l => l.Contains(Email, StringComparison.OrdinalIgnoreCase) || l.Contains(Name, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Every_route_driven_with_emails_phones_and_names_in_ids_and_bodies_logs_route_templates_only()
    {
        const string phone = "+44 7700 900123";
        const string surname = "Quistberg";
        var logs = new CapturingLoggerProvider();
        _app.Settings["Logging:LogLevel:iCrm.Requests"] = "Information"; // request logging on, to see what it writes
        var client = _app.With(s =>
        {
            s.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
            ApiTestKit.Sentiment(new FixedSentiment(enabled: true))(s);
        }).CreateClient();
        var email = Uri.EscapeDataString(Email);
        var tel = Uri.EscapeDataString(phone);
        var name = Uri.EscapeDataString($"{Name} {surname}");
        var calls = new (HttpMethod Method, string Path, string? Body)[]
        {
            (HttpMethod.Get, $"/api/customers/{email}", null),
            (HttpMethod.Get, $"/api/customers/{tel}", null),
            (HttpMethod.Get, $"/api/customers/by-source/web/{email}", null),
            (HttpMethod.Get, $"/api/customers/by-source/{name}/{tel}", null),
            (HttpMethod.Get, $"/api/customers?segment={name}&minChurn=0.5&continuationToken={email}", null),
            (HttpMethod.Get, $"/api/customers/{email}/scores", null),
            (HttpMethod.Get, $"/api/customers/{name}/recommendations?top=3", null),
            (HttpMethod.Post, "/api/scores:batch", $"{{\"ids\":[\"{Email}\",\"{phone}\",\"{Name} {surname}\"]}}"),
            (HttpMethod.Post, $"/api/score?top={tel}", $"{{\"attributes\":{{\"email\":\"{Email}\",\"phone\":\"{phone}\",\"name\":\"{surname}\"}}}}"),
            (HttpMethod.Post, "/api/sentiment", $"{{\"texts\":[\"{FeedbackText}, call {phone}\"]}}"),
            (HttpMethod.Get, $"/api/segments?who={email}", null),
            (HttpMethod.Get, "/api/models", null),
            (HttpMethod.Get, $"/api/models/{email}", null),
            (HttpMethod.Get, $"/api/ingestions?continuationToken={email}", null),
            (HttpMethod.Get, $"/api/ingestions/{email}", null),
            (HttpMethod.Post, "/api/train", $"{{\"kinds\":[\"{Email}\"]}}"),
            (HttpMethod.Get, $"/api/train/{tel}", null),
            (HttpMethod.Get, $"/api/health?who={email}", null),
            (HttpMethod.Get, $"/api/{email}/{tel}", null),
        };

        foreach (var (method, path, body) in calls)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : ApiTestKit.Json(body) };
            (await client.SendAsync(request)).Dispose();
        }

        var lines = logs.Lines.ToList();
        Assert.Contains(lines, l => l.Contains("/api/customers/by-source/{source}/{sourceId}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("POST /api/scores:batch answered", StringComparison.Ordinal));
        // The phone normalised or in parts; not a bare "7700", which a trace id or a GUID in a log line can hold by chance.
        foreach (var secret in new[] { Email, email, Name, surname, phone, tel, "7700900123", "7700 900", "900123" })
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Erase_export_and_consent_leave_no_personal_data_in_logs_or_audit_entries()
    {
        const string phone = "+44 7700 900123";
        var logs = new CapturingLoggerProvider();
        _app.Settings["Logging:LogLevel:iCrm.Requests"] = "Information";
        var client = _app.With(s => s.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace))).CreateClient();
        await _app.IngestAsync("web/customers/people.csv",
            $"customer_id,email,phone,first_name\nZQ-1,{Email},{phone},{Name}\nZQ-1,{Name}-at-example,,{Name}\n");
        var id = (await client.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/api/customers/by-source/web/ZQ-1"))!["id"]!.GetValue<string>();

        Assert.Contains(Email, await client.GetStringAsync($"/api/customers/{id}/export"));
        (await client.PostAsync($"/api/customers/{id}/consent", ApiTestKit.Json("{\"channel\":\"sms\",\"value\":false,\"source\":\"web\"}"))).EnsureSuccessStatusCode();
        await client.PostAsync($"/api/customers/{id}/consent", ApiTestKit.Json($"{{\"channel\":\"{Email}\",\"value\":false,\"source\":\"{Name}\"}}"));
        await client.PostAsync($"/api/customers/{id}:erase", ApiTestKit.Json($"{{\"reason\":\"{Email}\"}}"));
        (await client.PostAsync($"/api/customers/{id}:erase", ApiTestKit.Json("{\"reason\":\"DSR-77\"}"))).EnsureSuccessStatusCode();
        await client.PostAsync($"/api/customers/{Uri.EscapeDataString(Email)}:erase", ApiTestKit.Json("{\"reason\":\"DSR-78\"}"));
        await _app.IngestAsync("web/customers/people.csv", $"customer_id,email,phone,first_name\nZQ-1,{Email},{phone},{Name}\n");

        var audit = _app.Audit.Entries.Values.ToList();
        // "create": the first drop made the profile (one entry); the second, naming the erased person, is quarantined: none.
        Assert.Equal(["consent", "create", "erase", "export", "read-by-source"], audit.Select(e => e.Action).Distinct().Order());
        Assert.Single(audit, e => e.Action == "create");
        var written = logs.Lines.Concat(audit.Select(e => e.ToString())).ToList();
        Assert.NotEmpty(logs.Lines);
        foreach (var secret in new[] { Email, Name, phone, "900123", "ZQ-1" })
        {
            Assert.DoesNotContain(written, l => l.Contains(secret, StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task Per_request_logging_is_off_by_default()
    {
        var logs = new CapturingLoggerProvider();
        var client = _app.With(s => s.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace))).CreateClient();

        await client.GetAsync("/api/models");
        await client.GetAsync("/api/customers/c-404");

        Assert.DoesNotContain(logs.Lines, l => l.StartsWith("iCrm.Requests", StringComparison.Ordinal) || l.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
        }
    }
}
