namespace iCrm.Testing;

/// <summary>
/// The public data sets the tests read, kept in the repository under <c>tests/data/</c> (with their licences; see
/// tests/data/README.md) so a clone is enough to run every test. iCrm.Testing copies them next to each test assembly
/// (<c>data/</c>); from a source tree without that copy they are found by walking up to the repository root.
/// </summary>
public static class TestData
{
    /// <summary>Full path of <c>tests/data/{relativePath}</c>, e.g. <c>TestData.Path("febrl", "dataset1.csv")</c>.</summary>
    public static string Path(params string[] relativePath)
    {
        var relative = System.IO.Path.Combine(relativePath);
        var besideTests = System.IO.Path.Combine(AppContext.BaseDirectory, "data", relative);
        if (File.Exists(besideTests) || Directory.Exists(besideTests)) return besideTests;

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var inRepository = System.IO.Path.Combine(dir.FullName, "tests", "data", relative);
            if (File.Exists(inRepository) || Directory.Exists(inRepository)) return inRepository;
        }

        throw new FileNotFoundException($"test data '{relative}' is neither in {System.IO.Path.Combine(AppContext.BaseDirectory, "data")} nor under tests/data/ of the repository");
    }
}
