using iCrm.Azure;
using iCrm.Core.Ingestion;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Tests;

/// <summary>The app refuses to start with ingestion settings no drop could be read with, and says which.</summary>
public sealed class IngestionSettingsTests
{
    [Theory]
    [InlineData("Ingestion:ChunkSize", "0", "ChunkSize must be at least 1")]
    [InlineData("Ingestion:SpillBucketBytes", "-5", "SpillBucketBytes must be at least 1")]
    [InlineData("Ingestion:Sources:pos:Separator", ";;", "Sources:pos:Separator must be one character")]
    public async Task The_app_does_not_start_with_an_invalid_ingestion_setting(string key, string value, string expected)
    {
        using var host = Build(key, value);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()); // checked on start

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Valid_overrides_are_bound_and_pass_the_check()
    {
        using var host = Build("Ingestion:ChunkSize", "500");

        var options = host.Services.GetRequiredService<IOptions<IngestionOptions>>().Value; // validated on first use too

        Assert.Equal(500, options.ChunkSize);
        Assert.Empty(options.Problems());
    }

    private static IHost Build(string key, string value)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Security:PiiKey"] = "settings-test-pii-key-0123456789",
            ["IcrmStorage"] = "UseDevelopmentStorage=true",
            ["IcrmCosmos"] = "AccountEndpoint=https://127.0.0.1:1/;AccountKey=bG9jYWw=;",
            ["LocalTriggers:Enabled"] = "false",
            [key] = value,
        });
        builder.AddIcrmServices();
        return builder.Build();
    }
}
