using System.Globalization;
using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.DataGen;
using Xunit.Abstractions;

namespace iCrm.Core.Tests.Identity;

/// <summary>
/// The identifier rows of the default weights (email, phone, loyalty id) are reproducible: re-estimating them with
/// <see cref="MatchWeightEstimator"/> on a generated multi-source data set (customer drops read and normalised by the
/// production reader and validator, hashed like the pipeline does, grouped into people by the generator's ground truth)
/// gives the shipped disagreement weights. Exact-agreement weights depend on how many people share the value space, so
/// only their order of magnitude is checked.
/// </summary>
public sealed class IdentifierWeightsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "icrm-weights-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Identifier_weights_are_the_m_u_estimates_from_generated_multi_source_customers()
    {
        var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = 3_000, Seed = 5 }).Generate(_root);
        var truth = DataGen.DropFileReader.ReadTruth(_root, "customers.csv")
            .ToDictionary(r => (r["source"], r["customer_id"]), r => r["person_id"]);
        var hasher = new MatchKeyHasher("weights-test-pii-key-0123456789");
        var records = new Dictionary<string, List<CustomerRecord>>(StringComparer.Ordinal);
        foreach (var file in summary.Files.Where(f => f.Entity == "customers"))
        {
            var blobPath = file.Path.StartsWith("drops/", StringComparison.Ordinal) ? file.Path["drops/".Length..] : file.Path;
            var path = DropPath.Parse(blobPath);
            var validator = new RowValidator(path, new ValidationOptions());
            using var stream = File.OpenRead(Path.Combine(_root, file.Path));
            foreach (var raw in DropReader.Read(stream, path))
            {
                if (validator.Validate(raw).Record is CustomerRecord record
                    && truth.TryGetValue((record.Source, record.SourceCustomerId), out var person))
                {
                    (records.TryGetValue(person, out var list) ? list : records[person] = []).Add(record);
                }
            }
        }
        Assert.True(records.Count > 2_000, $"only {records.Count} people read back");

        var fields = new (MatchField Field, Func<CustomerRecord, string?> Key)[]
        {
            (MatchField.Email, r => hasher.EmailKey(r.Email)?.Value),
            (MatchField.Phone, r => hasher.PhoneKey(r.Phone)?.Value),
            (MatchField.LoyaltyId, r => hasher.LoyaltyKey(r.LoyaltyId)?.Value),
        };
        foreach (var (field, key) in fields)
        {
            var (m, u) = MatchWeightEstimator.Identifier(records.Values.Select(p => (IReadOnlyList<string?>)p.Select(key).ToList()));
            var disagree = Math.Log2(m[3] / u[3]);
            var exact = Math.Log2(m[0] / u[0]);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{field}: m = [{m[0]:0.0000}, {m[3]:0.0000}] u = [{u[0]:0.000000}, {u[3]:0.000000}] weights exact {exact:+0.00;-0.00} disagree {disagree:+0.00;-0.00}"));
            Assert.True(Math.Abs(disagree - MatchWeights.Default[field, Agreement.Disagree]) < 0.5,
                $"{field}/Disagree: shipped {MatchWeights.Default[field, Agreement.Disagree]:0.00}, estimated {disagree:0.00}");
            Assert.True(exact > 6 && MatchWeights.Default[field, Agreement.Exact] > 6, $"{field}/Exact: estimated {exact:0.00}");
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
