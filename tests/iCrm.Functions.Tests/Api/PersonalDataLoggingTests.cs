using System.Collections.Concurrent;
using System.Net;
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
