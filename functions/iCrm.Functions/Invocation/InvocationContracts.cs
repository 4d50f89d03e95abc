using System.Text.Json;
using System.Text.Json.Serialization;

namespace iCrm.Functions.Invocation;

/// <summary>What the Functions host POSTs to <c>/{FunctionName}</c> for a non-HTTP trigger (custom-handler contract).</summary>
public sealed class InvocationRequest
{
    [JsonPropertyName("Data")]
    public Dictionary<string, JsonElement> Data { get; set; } = [];

    [JsonPropertyName("Metadata")]
    public Dictionary<string, JsonElement> Metadata { get; set; } = [];
}

/// <summary>What the handler answers: output bindings, log lines for the host, and a return value.</summary>
public sealed class InvocationResponse
{
    [JsonPropertyName("Outputs")]
    public Dictionary<string, object?> Outputs { get; set; } = [];

    [JsonPropertyName("Logs")]
    public List<string> Logs { get; set; } = [];

    [JsonPropertyName("ReturnValue")]
    public object? ReturnValue { get; set; }
}

/// <summary>The functions the host invokes by name.</summary>
public static class FunctionNames
{
    public const string Ingest = "Ingest";
    public const string Train = "Train";
}
