using System.Globalization;
using System.Text.Json;
using iCrm.DataGen;

// dotnet run --project tools/iCrm.DataGen -c Release -- --customers 1000 --seed 42 --out ./.local/sample
//     [--start 2023-01-01 --end 2025-12-31] [--products 2000] [--future-days 365] [--clean-only]
//     [--upload "UseDevelopmentStorage=true"]   (uploads drops/** to the 'drops' blob container, customers first)
// Prints one JSON object summarising what was written.
//
// dotnet iCrm.DataGen.dll drop FILE SOURCE ENTITY --storage CONNECTION_STRING
//     uploads one file to drops/{SOURCE}/{ENTITY}/{file name} (scripts/drop.sh); prints { blobPath, dropId }.
if (args.Length > 0 && args[0] == "drop")
{
    return await Drop(args[1..]);
}

var options = new GeneratorOptions();
string output = "./.local/sample";
bool cleanOnly = false;
string? upload = null;
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--customers": options = options with { Customers = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
            case "--seed": options = options with { Seed = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
            case "--out": output = Value(); break;
            case "--start": options = options with { Start = DateOnly.ParseExact(Value(), "yyyy-MM-dd", CultureInfo.InvariantCulture) }; break;
            case "--end": options = options with { End = DateOnly.ParseExact(Value(), "yyyy-MM-dd", CultureInfo.InvariantCulture) }; break;
            case "--products": options = options with { Products = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
            case "--future-days": options = options with { FutureDays = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
            case "--clean-only": cleanOnly = true; break;
            case "--upload": upload = Value(); break;
            case "--help" or "-h":
                Console.WriteLine("iCrm.DataGen --customers N --seed S --out DIR [--start yyyy-MM-dd] [--end yyyy-MM-dd] [--products N] [--future-days N] [--clean-only] [--upload STORAGE_CONNECTION_STRING]");
                return 0;
            default: throw new ArgumentException($"unknown argument {args[i]}");
        }
    }
    if (cleanOnly) options = options.AsCleanOnly();
    var summary = new SyntheticDataGenerator(options).Generate(output);
    Console.WriteLine(JsonSerializer.Serialize(summary, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    if (upload is not null)
    {
        var uploaded = await DropUploader.UploadAsync(Path.Combine(output, "drops"), upload);
        Console.Error.WriteLine($"iCrm.DataGen: uploaded {uploaded} drop files to the 'drops' container");
    }
    return 0;
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"iCrm.DataGen: {e.Message}");
    return 2;
}

static async Task<int> Drop(string[] args)
{
    string? storage = null;
    var positional = new List<string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (args[i] == "--storage" && i + 1 < args.Length) storage = args[++i];
        else positional.Add(args[i]);
    }

    if (positional.Count != 3 || storage is null)
    {
        Console.Error.WriteLine("usage: iCrm.DataGen drop FILE SOURCE ENTITY --storage STORAGE_CONNECTION_STRING");
        return 2;
    }

    try
    {
        var (blobPath, dropId) = await DropUploader.UploadOneAsync(positional[0], positional[1], positional[2], storage);
        Console.WriteLine(JsonSerializer.Serialize(new { blobPath = $"drops/{blobPath}", dropId }));
        return 0;
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"iCrm.DataGen drop: {e.Message}");
        return 2;
    }
    catch (Azure.RequestFailedException e) when (e.Status != 0)
    {
        Console.Error.WriteLine($"iCrm.DataGen drop: the storage service refused the upload ({e.Status} {e.ErrorCode})");
        return 1;
    }
    catch (Exception e) when (e is Azure.RequestFailedException or AggregateException or HttpRequestException)
    {
        // Connection refused ends here after the SDK's retries: almost always a stack that is not running.
        Console.Error.WriteLine($"iCrm.DataGen drop: cannot reach the storage service ({e.GetBaseException().Message}); is the local stack running on these ports (infra/local/start.sh)?");
        return 1;
    }
}
