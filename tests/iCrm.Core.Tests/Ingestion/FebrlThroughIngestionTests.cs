using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using iCrm.Core.Ingestion;
using iCrm.Core.Tests.Identity;
using iCrm.Testing;
using Xunit.Abstractions;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>
/// Matching quality measured through the ingestion path itself: the Febrl files become customer drops of two sources
/// (soc_sec_id left out), go through reading, validation, identity resolution and profile merging, and the profiles
/// are read back. Pairwise precision, recall and F1 against the ground truth.
/// </summary>
[Trait("Category", "Febrl")]
public sealed class FebrlThroughIngestionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("dataset1.csv", 0.994)]
    [InlineData("dataset2.csv", 0.994)]
    [InlineData("dataset3.csv", 0.994)]
    public async Task Febrl_drops_from_two_sources_become_one_profile_per_person(string dataset, double minimumF1)
    {
        var harness = new IngestionHarness(new IngestionOptions { ChunkSize = 500 }, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var lines = File.ReadAllLines(Path.Combine(FebrlData.Folder(), dataset)).Skip(1).ToList();
        var bySource = lines.GroupBy(l => SHA256.HashData(Encoding.UTF8.GetBytes(l.Split(',')[0].Trim()))[0] % 2 == 0 ? "web" : "callcenter");
        var person = new Dictionary<string, int>();
        foreach (var group in bySource)
        {
            var csv = new StringBuilder("customer_id,first_name,last_name,street,address_2,city,postcode,state,birth_date,country\n");
            foreach (var line in group)
            {
                var f = line.Split(',').Select(x => x.Trim()).ToArray();
                person[f[0]] = int.Parse(f[0].Split('-')[1], CultureInfo.InvariantCulture);
                var street = string.Join(' ', new[] { f[3], f[4] }.Where(x => x.Length > 0));
                csv.Append(f[0]).Append(',').Append(f[1]).Append(',').Append(f[2]).Append(',').Append(street).Append(',').Append(f[5])
                    .Append(',').Append(f[6]).Append(',').Append(f[7]).Append(',').Append(f[8]).Append(',').Append(f[9]).Append(",AU\n");
            }
            var report = await harness.IngestAsync($"{group.Key}/customers/{dataset}", csv.ToString());
            Assert.Equal(IngestionStatus.Completed, report.Status);
            Assert.True(report.IsBalanced);
            Assert.Equal(0, report.RowsRejected);
        }

        long predicted = 0, correct = 0;
        foreach (var profile in harness.Customers.All().Where(p => p.MergedInto is null))
        {
            var members = profile.Identities.Select(i => person[i.SourceId]).ToList();
            for (var i = 0; i < members.Count; i++)
            {
                for (var j = i + 1; j < members.Count; j++)
                {
                    predicted++;
                    correct += members[i] == members[j] ? 1 : 0;
                }
            }
        }
        var truePairs = person.Values.GroupBy(p => p).Sum(g => (long)g.Count() * (g.Count() - 1) / 2);
        var precision = predicted == 0 ? 1 : (double)correct / predicted;
        var recall = (double)correct / truePairs;
        var f1 = 2 * precision * recall / (precision + recall);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{dataset}: precision {precision:0.0000} recall {recall:0.0000} F1 {f1:0.0000} (true pairs {truePairs}, predicted {predicted}, correct {correct}, profiles {harness.Customers.All().Count(p => p.MergedInto is null)}, merges {harness.Audit.Entries.Values.Count(e => e.Action == "merge")})"));
        Assert.True(f1 >= minimumF1, $"F1 {f1:0.0000} fell below {minimumF1}");
    }
}
