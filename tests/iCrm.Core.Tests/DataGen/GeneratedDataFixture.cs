using iCrm.DataGen;

namespace iCrm.Core.Tests.DataGen;

/// <summary>One messy generated data set shared by the specification tests (generating it takes about a second).</summary>
public sealed class GeneratedDataFixture : IDisposable
{
    public static readonly GeneratorOptions Options = new()
    {
        Customers = 1_200,
        Seed = 11,
        CustomersPerFile = 300,
        // Higher than the defaults so every kind of injected defect occurs in a small run.
        BadRowRate = 0.03,
        DuplicateRowRate = 0.03,
    };

    public GeneratedDataFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "icrm-datagen-" + Guid.NewGuid().ToString("N"));
        Summary = new SyntheticDataGenerator(Options).Generate(Root);
    }

    public string Root { get; }
    public GenerationSummary Summary { get; }

    public IEnumerable<GeneratedFile> FilesOf(string source, string entity) =>
        Summary.Files.Where(f => f.Source == source && f.Entity == entity);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
