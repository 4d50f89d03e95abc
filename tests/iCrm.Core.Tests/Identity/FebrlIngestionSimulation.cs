using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using iCrm.Core.Drops;
using iCrm.Core.Identity;
using iCrm.Testing;

namespace iCrm.Core.Tests.Identity;

/// <summary>One Febrl row as the customers drop of a source would carry it, with the person it truly is.</summary>
internal sealed record FebrlRow(string RecId, int Person, CustomerRecord Record);

/// <summary>
/// Reads the Febrl data sets (<c>tests/data/febrl</c>) as customer drops: each record goes to source <c>web</c> or
/// <c>callcenter</c> by a hash of its id, fields mapped as the drop parser would (street = number + address line 1,
/// city = suburb, birth date yyyyMMdd, an impossible date becomes missing); soc_sec_id is ignored.
/// </summary>
internal static class FebrlData
{
    public static string Folder() => TestData.Path("febrl");

    public static List<FebrlRow> Load(string fileName)
    {
        var rows = new List<FebrlRow>();
        using var reader = new StreamReader(Path.Combine(Folder(), fileName));
        _ = reader.ReadLine();
        var line = 1L;
        while (reader.ReadLine() is { } text)
        {
            line++;
            var f = text.Split(',').Select(x => x.Trim()).ToArray();
            var recId = f[0];
            var person = int.Parse(recId.Split('-')[1], CultureInfo.InvariantCulture);
            var source = SHA256.HashData(Encoding.UTF8.GetBytes(recId))[0] % 2 == 0 ? "web" : "callcenter";
            DateOnly? birth = DateOnly.TryParseExact(f[9], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
            var street = string.Join(' ', new[] { f[3], f[4] }.Where(x => x.Length > 0));
            var record = new CustomerRecord(
                source, recId, line, Email: null, Phone: null, Empty(f[1]), Empty(f[2]), birth, Gender: null,
                Empty(street), Empty(f[6]), Empty(f[7]), Empty(f[8]), Country: "AU", SignupDate: null, LoyaltyId: null,
                ConsentEmail: null, ConsentSms: null, Churned: null, ChurnedAt: null,
                Attributes: f[5].Length > 0 ? new Dictionary<string, string> { ["address_2"] = f[5] } : new Dictionary<string, string>());
            rows.Add(new FebrlRow(recId, person, record));
        }

        return rows;
    }

    private static string? Empty(string s) => s.Length == 0 ? null : s;
}

/// <summary>Pairwise quality of a clustering against the truth, and how fast it was produced.</summary>
internal sealed record MatchQuality(
    long TruePairs, long PredictedPairs, long CorrectPairs, int Records, int Profiles, double CpuSeconds)
{
    public double Precision => PredictedPairs == 0 ? 1 : (double)CorrectPairs / PredictedPairs;
    public double Recall => TruePairs == 0 ? 1 : (double)CorrectPairs / TruePairs;
    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
    public double RecordsPerSecond => Records / CpuSeconds;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"P={Precision:0.0000} R={Recall:0.0000} F1={F1:0.0000} records={Records} profiles={Profiles} pairs(true={TruePairs} predicted={PredictedPairs} correct={CorrectPairs}) {RecordsPerSecond:0} records per CPU-second");
}

/// <summary>
/// The ingestion pipeline's identity steps with in-memory stores in place of Cosmos: the <c>identities</c> container
/// (deterministic key → owner, claimed if absent; blocking key → up to <see cref="BlockingKeys.CandidateCap"/> customer ids), per profile the
/// bounded list of match variants, and <c>mergedInto</c> pointers (followed like a union-find).
/// </summary>
internal sealed class InMemoryIdentityIngestion(MatchKeyHasher hasher, IdentityResolver resolver, int variantCap = ProfileVariants.DefaultCap)
{
    private readonly Dictionary<string, string> owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> blocks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<MatchCandidate>> variants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> mergedInto = new(StringComparer.Ordinal);

    public Dictionary<ResolutionRule, int> Rules { get; } = [];

    public int Merges { get; private set; }

    /// <summary>Record-to-variant comparisons made: the matcher's work, bounded by blocks × cap × variants.</summary>
    public long Comparisons { get; private set; }

    public string Find(string id)
    {
        var root = id;
        while (mergedInto.TryGetValue(root, out var next))
        {
            root = next;
        }

        // Path compression: what the pipeline gets by repointing keys of a merged profile to the survivor.
        while (id != root && mergedInto.TryGetValue(id, out var next))
        {
            mergedInto[id] = root;
            id = next;
        }

        return root;
    }

    public string Ingest(CustomerRecord record)
    {
        var keys = hasher.DeterministicKeys(record);
        var fields = MatchCandidate.FromRecord(record);
        var blockKeys = hasher.BlockingKeysOf(fields);

        var keyOwners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (owners.TryGetValue(key.Value, out var owner))
            {
                keyOwners[key.Value] = Find(owner);
            }
        }

        var candidateIds = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var key in blockKeys)
        {
            if (blocks.TryGetValue(key.Value, out var ids))
            {
                foreach (var id in ids)
                {
                    candidateIds.Add(Find(id));
                }
            }
        }

        var candidates = candidateIds.Select(id => new ProfileCandidate(id, variants[id])).ToList();
        Comparisons += candidates.Sum(c => c.Variants.Count);
        var decision = resolver.Resolve(fields, keys, keyOwners, candidates);
        Rules[decision.Rule] = Rules.GetValueOrDefault(decision.Rule) + 1;

        var customerId = decision.CustomerId;
        if (decision.Outcome == ResolutionOutcome.New)
        {
            variants[customerId] = [];
        }

        foreach (var merged in decision.MergedIds)
        {
            foreach (var v in variants[merged])
            {
                ProfileVariants.Add(variants[customerId], v, variantCap);
            }

            variants.Remove(merged);
            mergedInto[merged] = customerId;
            Merges++;
        }

        ProfileVariants.Add(variants[customerId], fields, variantCap);
        foreach (var key in keys)
        {
            owners.TryAdd(key.Value, customerId);
        }

        foreach (var key in blockKeys)
        {
            if (!blocks.TryGetValue(key.Value, out var ids))
            {
                blocks[key.Value] = ids = [];
            }

            BlockingKeys.TryFile(ids, customerId, Find);
        }

        return customerId;
    }

    public static MatchQuality Run(
        IReadOnlyList<FebrlRow> rows, MatchOptions options, out InMemoryIdentityIngestion ingestion, int variantCap = ProfileVariants.DefaultCap)
    {
        ingestion = new InMemoryIdentityIngestion(
            new MatchKeyHasher("febrl-test-key-not-a-secret-0123456789"), new IdentityResolver(new ProbabilisticMatcher(options)), variantCap);
        var assigned = new string[rows.Count];
        // CPU time, not wall time: the figure should not depend on what else the machine is running.
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        for (var i = 0; i < rows.Count; i++)
        {
            assigned[i] = ingestion.Ingest(rows[i].Record);
        }

        process.Refresh();
        var cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        var clusters = new string[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            clusters[i] = ingestion.Find(assigned[i]);
        }

        static long Pairs(IEnumerable<int> sizes) => sizes.Sum(n => (long)n * (n - 1) / 2);
        var truePairs = Pairs(rows.GroupBy(r => r.Person).Select(g => g.Count()));
        var predicted = Pairs(clusters.GroupBy(c => c).Select(g => g.Count()));
        var correct = Pairs(Enumerable.Range(0, rows.Count).GroupBy(i => (clusters[i], rows[i].Person)).Select(g => g.Count()));
        return new MatchQuality(truePairs, predicted, correct, rows.Count, clusters.Distinct().Count(), cpuSeconds);
    }
}
