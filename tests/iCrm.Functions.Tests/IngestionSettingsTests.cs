using iCrm.Core.Ingestion;
using Microsoft.Extensions.Options;

namespace iCrm.Functions.Tests;

/// <summary>The app refuses to start with ingestion settings no drop could be read with, and says which.</summary>
public sealed class IngestionSettingsTests
{
    [Theory]
    [InlineData("Ingestion:ChunkSize", "0", "ChunkSize must be at least 1")]
    [InlineData("Ingestion:SpillBucketBytes", "-5", "SpillBucketBytes must be at least 1")]
    [InlineData("Ingestion:Sources:pos:Separator", ";;", "Sources:pos:Separator must be one character")]
    public void The_app_does_not_start_with_an_invalid_ingestion_setting(string key, string value, string expected)
    {
        using var app = new IcrmAppFactory();
        app.Settings[key] = value;

        var error = Assert.Throws<OptionsValidationException>(() => app.CreateClient());

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task The_app_starts_with_the_defaults_and_valid_overrides()
    {
        Assert.Empty(new IngestionOptions().Problems());
        using var app = new IcrmAppFactory();
        app.Settings["Ingestion:ChunkSize"] = "500";
        app.Settings["Ingestion:Sources:pos:Separator"] = ";";
        using var client = app.CreateClient();

        var response = await client.GetAsync("/api/openapi.json");

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }
}
