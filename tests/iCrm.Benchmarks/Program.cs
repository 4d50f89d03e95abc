using System.Text.Json;
using iCrm.Benchmarks;

// dotnet run -c Release --project tests/iCrm.Benchmarks -- <suite> [--out file.json] [suite options]
// Prints one JSON object {"suite": ..., "metrics": {name: value, ...}} (and writes it to --out when given).
var suites = BenchmarkSuites.All;
if (args.Length == 0 || !suites.ContainsKey(args[0]))
{
    Console.Error.WriteLine($"usage: iCrm.Benchmarks <{string.Join("|", suites.Keys)}> [--out file.json] [options]");
    return 2;
}
var suite = args[0];
var options = BenchmarkOptions.Parse(args[1..]);
var metrics = await suites[suite](options);
var json = JsonSerializer.Serialize(new { suite, machine = BenchmarkOptions.Machine(), metrics }, new JsonSerializerOptions { WriteIndented = false });
Console.WriteLine(json);
if (options.Out is { } path)
{
    await File.WriteAllTextAsync(path, json + Environment.NewLine);
}
return 0;
