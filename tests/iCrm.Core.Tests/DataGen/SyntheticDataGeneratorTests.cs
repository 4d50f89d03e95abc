using System.Globalization;
using System.Text.Json;
using iCrm.DataGen;
using PhoneNumbers;

namespace iCrm.Core.Tests.DataGen;

public sealed class SyntheticDataGeneratorTests(GeneratedDataFixture data) : IClassFixture<GeneratedDataFixture>
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly string[] OrderSources = ["web", "pos", "app"];
    private static readonly string[] Entities = ["customers", "orders", "events", "feedback", "subscriptions"];

    private DateOnly End => GeneratedDataFixture.Options.End;

    // ------------------------------------------------------------------------------------------------ determinism

    [Fact]
    public void The_same_seed_writes_identical_bytes_and_another_seed_writes_different_data()
    {
        string a = TempDir(), b = TempDir(), c = TempDir();
        try
        {
            var options = new GeneratorOptions { Customers = 250, Seed = 5, CustomersPerFile = 100 };
            new SyntheticDataGenerator(options).Generate(a);
            new SyntheticDataGenerator(options).Generate(b);
            new SyntheticDataGenerator(options with { Seed = 6 }).Generate(c);

            var filesA = RelativeFiles(a);
            Assert.Equal(filesA, RelativeFiles(b));
            Assert.Contains("drops/web/orders/orders-0001.csv", filesA);
            foreach (string file in filesA)
            {
                Assert.True(File.ReadAllBytes(Path.Combine(a, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, file))), $"{file} differs between runs with the same seed");
            }
            Assert.NotEqual(File.ReadAllBytes(Path.Combine(a, "drops/web/orders/orders-0001.csv")), File.ReadAllBytes(Path.Combine(c, "drops/web/orders/orders-0001.csv")));
            Assert.NotEqual(File.ReadAllBytes(Path.Combine(a, "truth/people.csv")), File.ReadAllBytes(Path.Combine(c, "truth/people.csv")));
        }
        finally
        {
            foreach (string dir in new[] { a, b, c }) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Clean_only_runs_inject_no_bad_rows_and_no_duplicates()
    {
        string dir = TempDir();
        try
        {
            var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = 300, Seed = 3, CustomersPerFile = 100 }.AsCleanOnly()).Generate(dir);
            Assert.Empty(summary.BadRowsByKind);
            Assert.Equal(0, summary.DuplicateRows);
            Assert.All(summary.Files, f => Assert.Equal(f.Rows, f.CleanRows));
            foreach (var file in summary.Files.Where(f => f.Entity == "orders"))
            {
                Assert.All(DropFileReader.Read(dir, file.Path), row => Assert.Null(OrderRows.Defect(file.Source, row)));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ------------------------------------------------------------------------------------------------ layout and counts

    [Fact]
    public void Drops_follow_the_source_entity_file_layout_and_the_truth_lives_outside_drops()
    {
        Assert.All(data.Summary.Files, f =>
        {
            var parts = f.Path.Split('/');
            Assert.Equal(4, parts.Length);
            Assert.Equal("drops", parts[0]);
            Assert.Equal(f.Source, parts[1]);
            Assert.Contains(parts[2], Entities);
            Assert.Matches($"^{parts[2]}-\\d{{4}}\\.(csv|jsonl|csv\\.gz)$", parts[3]);
        });
        foreach (var (source, entity) in new[] { ("web", "customers"), ("web", "orders"), ("web", "events"), ("web", "feedback"), ("pos", "customers"), ("pos", "orders"),
                     ("app", "customers"), ("app", "orders"), ("app", "events"), ("callcenter", "customers"), ("callcenter", "events"), ("email", "customers"), ("email", "events"),
                     ("erp", "customers"), ("erp", "subscriptions") })
        {
            Assert.True(data.FilesOf(source, entity).Count() > 1, $"{source}/{entity} should rotate over several files");
        }
        Assert.All(data.Summary.Truth.Values, t => Assert.True(File.Exists(Path.Combine(data.Root, t)) && t.StartsWith("truth/", StringComparison.Ordinal)));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(data.Root, "drops"), "*", SearchOption.AllDirectories),
            f => f.Contains("truth", StringComparison.OrdinalIgnoreCase) || f.Contains("people", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Every_file_holds_as_many_records_as_the_injection_report_says()
    {
        using var injected = JsonDocument.Parse(File.ReadAllText(Path.Combine(data.Root, "truth/injected.json")));
        var files = injected.RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(data.Summary.Files.Count, files.Count);
        foreach (var file in files)
        {
            string path = file.GetProperty("path").GetString()!;
            long rows = file.GetProperty("rows").GetInt64();
            long clean = file.GetProperty("cleanRows").GetInt64();
            long duplicates = file.GetProperty("duplicateRows").GetInt64();
            long bad = file.GetProperty("badRows").EnumerateObject().Sum(p => p.Value.GetInt64());
            Assert.Equal(rows, DropFileReader.Read(data.Root, path).Count);
            Assert.Equal(rows, clean + duplicates + bad);
        }
    }

    [Fact]
    public void Injected_bad_rows_and_duplicates_in_order_files_match_the_report()
    {
        using var injected = JsonDocument.Parse(File.ReadAllText(Path.Combine(data.Root, "truth/injected.json")));
        foreach (string source in OrderSources)
        {
            var expected = new Dictionary<string, long>();
            long expectedDuplicates = 0;
            foreach (var file in injected.RootElement.GetProperty("files").EnumerateArray()
                         .Where(f => f.GetProperty("source").GetString() == source && f.GetProperty("entity").GetString() == "orders"))
            {
                foreach (var kind in file.GetProperty("badRows").EnumerateObject()) expected[kind.Name] = expected.GetValueOrDefault(kind.Name) + kind.Value.GetInt64();
                expectedDuplicates += file.GetProperty("duplicateRows").GetInt64();
            }

            var found = new Dictionary<string, long>();
            var seen = new HashSet<(string, string)>();
            long duplicates = 0;
            foreach (var file in data.FilesOf(source, "orders"))
            {
                foreach (var row in DropFileReader.Read(data.Root, file.Path))
                {
                    if (OrderRows.Defect(source, row) is string kind) found[kind] = found.GetValueOrDefault(kind) + 1;
                    else if (!seen.Add((row.Get("order_id"), row.Get("line")))) duplicates++;
                }
            }
            Assert.Equal(expected.OrderBy(k => k.Key), found.OrderBy(k => k.Key));
            Assert.Equal(expectedDuplicates, duplicates);
            Assert.True(found.Count >= 4, $"{source}: expected several kinds of bad rows, found {string.Join(",", found.Keys)}");
            Assert.True(duplicates > 0, $"{source}: expected overlapping exports");
        }
    }

    // ------------------------------------------------------------------------------------------------ identities

    [Fact]
    public void The_same_person_appears_in_several_sources_with_different_ids()
    {
        var truth = DropFileReader.ReadTruth(data.Root, "customers.csv");
        var byPerson = truth.GroupBy(r => r["person_id"]).ToList();
        Assert.Equal(GeneratedDataFixture.Options.Customers, byPerson.Count);
        double multiSource = byPerson.Count(g => g.Select(r => r["source"]).Distinct().Count() > 1) / (double)byPerson.Count;
        Assert.InRange(multiSource, 0.4, 0.95);
        Assert.All(byPerson, g => Assert.Equal(g.Count(), g.Select(r => r["customer_id"]).Distinct().Count()));
        Assert.Contains(byPerson, g => g.GroupBy(r => r["source"]).Any(s => s.Count() > 1));
        Assert.Equal(truth.Count, truth.Select(r => (r["source"], r["customer_id"])).Distinct().Count());

        // Every truth record is in its source's customer drop, and nothing else is.
        var dropped = AllCustomerRecords().Select(r => (r.Source, r.Id)).ToHashSet();
        Assert.Equal(truth.Select(r => (r["source"], r["customer_id"])).ToHashSet(), dropped);
    }

    [Fact]
    public void Linked_records_share_a_deterministic_key_and_fuzzy_ones_share_only_name_postcode_and_birth_date()
    {
        var person = DropFileReader.ReadTruth(data.Root, "customers.csv").ToDictionary(r => (r["source"], r["customer_id"]), r => (Person: r["person_id"], Link: r["link"]));
        var records = AllCustomerRecords().ToList();
        var keysByPerson = records.GroupBy(r => person[(r.Source, r.Id)].Person).ToDictionary(g => g.Key, g => g.ToList());

        // A key never points at two people.
        var owners = new Dictionary<string, string>();
        foreach (var r in records)
        {
            foreach (string key in r.Keys)
            {
                string owner = person[(r.Source, r.Id)].Person;
                Assert.Equal(owner, owners.TryAdd(key, owner) ? owner : owners[key]);
            }
        }

        int deterministic = 0, fuzzy = 0;
        foreach (var r in records)
        {
            var (id, link) = person[(r.Source, r.Id)];
            bool shares = keysByPerson[id].Any(o => o != r && o.Keys.Overlaps(r.Keys));
            switch (link)
            {
                case "deterministic": Assert.True(shares, $"{r.Source}/{r.Id} should share a key"); deterministic++; break;
                case "fuzzy":
                    Assert.False(shares, $"{r.Source}/{r.Id} should share no key");
                    Assert.False(string.IsNullOrWhiteSpace(r.LastName) || string.IsNullOrWhiteSpace(r.Postcode) || string.IsNullOrWhiteSpace(r.BirthDate), $"{r.Source}/{r.Id}: {r.LastName}/{r.Postcode}/{r.BirthDate}");
                    fuzzy++;
                    break;
                default: Assert.Equal("single", link); Assert.Single(keysByPerson[id]); break;
            }
        }
        Assert.True(deterministic > 10 * fuzzy, $"most links are deterministic ({deterministic} vs {fuzzy})");
        Assert.True(fuzzy > 10, "some records can only be linked fuzzily");
    }

    [Fact]
    public void Phone_numbers_come_in_several_formats_that_all_normalise_to_valid_E164()
    {
        var util = PhoneNumberUtil.GetInstance();
        var raw = AllCustomerRecords().Select(r => r.Phone).Where(p => p.Length > 0).ToList();
        Assert.True(raw.Count > 1_000);
        Assert.True(raw.Select(Shape).Distinct().Count() >= 5, "phones should be formatted in several ways");
        foreach (string phone in raw)
        {
            var number = util.Parse(phone, "US");
            Assert.True(util.IsValidNumber(number), $"{phone} is not a valid US number");
            Assert.Matches(@"^\+1\d{10}$", util.Format(number, PhoneNumberFormat.E164));
        }

        static string Shape(string phone) => new(phone.Select(c => char.IsDigit(c) ? '9' : c).ToArray());
    }

    // ------------------------------------------------------------------------------------------------ orders and truth

    [Fact]
    public void Drops_hold_no_order_after_the_export_date_and_future_orders_only_follow_it()
    {
        int checkedRows = 0;
        foreach (string source in OrderSources)
        {
            foreach (var file in data.FilesOf(source, "orders"))
            {
                foreach (var row in DropFileReader.Read(data.Root, file.Path))
                {
                    if (row.Malformed || OrderRows.LocalDate(source, row.Get("order_date")) is not DateOnly date) continue;
                    Assert.True(date <= End, $"{file.Path}: order {row.Get("order_id")} on {date}");
                    Assert.True(date >= GeneratedDataFixture.Options.Start);
                    checkedRows++;
                }
            }
        }
        Assert.True(checkedRows > 10_000);

        var future = DropFileReader.ReadTruth(data.Root, "future_orders.csv");
        Assert.NotEmpty(future);
        Assert.All(future, r =>
        {
            var date = DateOnly.FromDateTime(DateTime.Parse(r["order_date"], Invariant, DateTimeStyles.AdjustToUniversal));
            Assert.InRange(date, End.AddDays(1), End.AddDays(GeneratedDataFixture.Options.FutureDays));
        });
    }

    [Fact]
    public void Person_truth_agrees_with_the_orders_in_the_drops_and_in_the_future()
    {
        var people = DropFileReader.ReadTruth(data.Root, "people.csv");
        var owner = DropFileReader.ReadTruth(data.Root, "customers.csv").ToDictionary(r => (r["source"], r["customer_id"]), r => r["person_id"]);

        var exported = new Dictionary<string, HashSet<string>>();
        foreach (string source in OrderSources)
        {
            foreach (var file in data.FilesOf(source, "orders"))
            {
                foreach (var row in DropFileReader.Read(data.Root, file.Path).Where(r => OrderRows.Defect(source, r) is null))
                {
                    string person = owner[(source, OrderRows.CustomerId(source, row))];
                    (exported.TryGetValue(person, out var set) ? set : exported[person] = []).Add(source + "/" + row.Get("order_id"));
                }
            }
        }
        var future = DropFileReader.ReadTruth(data.Root, "future_orders.csv").GroupBy(r => r["person_id"]).ToDictionary(g => g.Key, g => g.ToList());

        foreach (var p in people)
        {
            string id = p["person_id"];
            Assert.Equal(int.Parse(p["orders_to_export"], Invariant), exported.GetValueOrDefault(id)?.Count ?? 0);
            var lines = future.GetValueOrDefault(id) ?? [];
            Assert.Equal(int.Parse(p["purchases_next_365d"], Invariant), lines.Select(l => l["order_id"]).Distinct().Count());
            Assert.Equal(int.Parse(p["purchases_next_90d"], Invariant),
                lines.Where(l => DateTime.Parse(l["order_date"], Invariant, DateTimeStyles.AdjustToUniversal) <= End.AddDays(90).ToDateTime(new TimeOnly(23, 59, 59))).Select(l => l["order_id"]).Distinct().Count());
            Assert.Equal(decimal.Parse(p["spend_next_365d"], Invariant), lines.Sum(l => decimal.Parse(l["amount"], Invariant)));

            bool alive = bool.Parse(p["alive_at_export"]);
            if (p["dropped_out_at"].Length > 0 && DateOnly.Parse(p["dropped_out_at"], Invariant) <= End)
            {
                Assert.False(alive);
                Assert.Empty(lines);
            }
            else
            {
                Assert.True(alive);
            }
        }
        double aliveShare = people.Count(p => p["alive_at_export"] == "true") / (double)people.Count;
        Assert.InRange(aliveShare, 0.3, 0.9);
        Assert.Contains(people, p => int.Parse(p["purchases_next_90d"], Invariant) > 0);
    }

    [Fact]
    public void Orders_peak_in_december_and_lines_are_sometimes_returned()
    {
        var months = new Dictionary<(int, int), HashSet<string>>();
        long lines = 0, returned = 0;
        foreach (string source in OrderSources)
        {
            foreach (var file in data.FilesOf(source, "orders"))
            {
                foreach (var row in DropFileReader.Read(data.Root, file.Path).Where(r => OrderRows.Defect(source, r) is null))
                {
                    var date = OrderRows.LocalDate(source, row.Get("order_date"))!.Value;
                    (months.TryGetValue((date.Year, date.Month), out var set) ? set : months[(date.Year, date.Month)] = []).Add(row.Get("order_id"));
                    lines++;
                    if (row.Get("returned") is "true" or "Y") returned++;
                }
            }
        }
        // January follows December, so a growing customer base works against this comparison, not for it.
        Assert.True(months[(2023, 12)].Count > 1.3 * months[(2024, 1)].Count);
        Assert.True(months[(2024, 12)].Count > 1.3 * months[(2025, 1)].Count);
        Assert.InRange(returned / (double)lines, 0.01, 0.06);
    }

    [Fact]
    public void Products_bought_together_are_often_each_others_complements()
    {
        var complements = DropFileReader.ReadTruth(data.Root, "products.csv").ToDictionary(p => p["product_id"], p => p["complements"].Split('|').ToHashSet());
        var baskets = data.FilesOf("web", "orders").SelectMany(f => DropFileReader.Read(data.Root, f.Path))
            .Where(r => OrderRows.Defect("web", r) is null).GroupBy(r => r.Get("order_id")).Select(g => g.Select(r => r.Get("product_id")).Distinct().ToList());
        int pairs = 0, complementary = 0;
        foreach (var basket in baskets)
        {
            for (int i = 0; i < basket.Count; i++)
            {
                for (int j = i + 1; j < basket.Count; j++)
                {
                    pairs++;
                    if (complements[basket[i]].Contains(basket[j]) || complements[basket[j]].Contains(basket[i])) complementary++;
                }
            }
        }
        // By chance about 6 / 240 products ≈ 2.5 % of pairs would be complements; the affinity structure makes it far more.
        Assert.True(pairs > 1_000);
        Assert.True(complementary > 0.2 * pairs, $"{complementary} of {pairs} pairs are complements");
    }

    [Fact]
    public void People_who_dropped_out_long_before_the_export_show_little_recent_activity()
    {
        var people = DropFileReader.ReadTruth(data.Root, "people.csv").ToDictionary(p => p["person_id"]);
        var webOwner = DropFileReader.ReadTruth(data.Root, "customers.csv").Where(r => r["source"] == "web").ToDictionary(r => r["customer_id"], r => r["person_id"]);
        var recent = new Dictionary<string, int>();
        var since = End.AddDays(-180);
        foreach (var file in data.FilesOf("web", "events"))
        {
            foreach (var row in DropFileReader.Read(data.Root, file.Path))
            {
                if (row.Get("customer_id").Length == 0 || OrderRows.LocalDate("web", row.Get("timestamp")) is not DateOnly date || date < since) continue;
                string person = webOwner[row.Get("customer_id")];
                recent[person] = recent.GetValueOrDefault(person) + 1;
            }
        }
        var established = webOwner.Values.Distinct().Select(id => people[id]).Where(p => DateOnly.Parse(p["signup_date"], Invariant) < End.AddDays(-365)).ToList();
        double Average(IEnumerable<Dictionary<string, string>> group) => group.Select(p => recent.GetValueOrDefault(p["person_id"])).DefaultIfEmpty().Average();
        var gone = established.Where(p => p["dropped_out_at"].Length > 0 && DateOnly.Parse(p["dropped_out_at"], Invariant) < End.AddDays(-270)).ToList();
        var alive = established.Where(p => p["alive_at_export"] == "true").ToList();
        Assert.True(gone.Count > 20 && alive.Count > 20);
        Assert.True(Average(gone) < 0.3 * Average(alive), $"recent web events: gone {Average(gone):0.00}, alive {Average(alive):0.00}");
    }

    // ------------------------------------------------------------------------------------------------ feedback, subscriptions, CSV

    [Fact]
    public void Feedback_wording_follows_the_rating()
    {
        string[] positive = ["great", "love", "excellent", "perfect", "recommend", "fantastic", "happy"];
        string[] negative = ["terrible", "disappointed", "awful", "waste", "poor", "never again", "rude", "worst", "broken", "late"];
        var rows = data.FilesOf("web", "feedback").SelectMany(f => DropFileReader.Read(data.Root, f.Path)).Where(r => r.Get("customer_id").Length > 0).ToList();
        bool Has(DropFileReader.Record r, string[] words) => words.Any(w => r.Get("text").Contains(w, StringComparison.OrdinalIgnoreCase));
        double Share(string rating, string[] words, string[] not) =>
            rows.Where(r => r.Get("rating") == rating).Select(r => Has(r, words) && !Has(r, not) ? 1.0 : 0.0).DefaultIfEmpty(-1).Average();

        Assert.True(Share("5", positive, negative) > 0.8);
        Assert.True(Share("1", negative, positive) > 0.8);
        Assert.True(Share("1", positive, []) < 0.1);
        Assert.Contains(rows, r => r.Get("rating").Length == 0);
        Assert.Contains(rows, r => r.Get("text").Contains('\n'));
        Assert.Contains(rows, r => r.Get("text").Contains('"') && r.Get("text").Contains(','));
    }

    [Fact]
    public void Cancelled_subscriptions_are_labelled_churned_in_the_erp_customers()
    {
        var customers = data.FilesOf("erp", "customers").SelectMany(f => DropFileReader.Read(data.Root, f.Path))
            .Where(r => r.Get("customer_id").Length > 0).ToDictionary(r => r.Get("customer_id"));
        var subscriptions = data.FilesOf("erp", "subscriptions").SelectMany(f => DropFileReader.Read(data.Root, f.Path))
            .Where(r => DateOnly.TryParseExact(r.Get("start_date"), "yyyy-MM-dd", out _)).ToList();
        Assert.True(subscriptions.Count > 30);
        Assert.Contains(subscriptions, s => s.Get("end_date").Length > 0);
        Assert.Contains(subscriptions, s => s.Get("end_date").Length == 0);
        foreach (var s in subscriptions)
        {
            var c = customers[s.Get("customer_id")];
            Assert.Equal(s.Get("end_date").Length > 0 ? "1" : "0", c.Get("churned"));
            Assert.Equal(s.Get("end_date"), c.Get("churned_at"));
        }
    }

    [Fact]
    public void Pos_files_carry_a_byte_order_mark_and_crlf_and_web_files_neither()
    {
        byte[] pos = File.ReadAllBytes(Path.Combine(data.Root, data.FilesOf("pos", "orders").First().Path));
        byte[] web = File.ReadAllBytes(Path.Combine(data.Root, data.FilesOf("web", "orders").First().Path));
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, pos[..3]);
        Assert.Contains("\r\n", System.Text.Encoding.UTF8.GetString(pos[..500]));
        Assert.NotEqual(0xEF, web[0]);
        Assert.DoesNotContain("\r", System.Text.Encoding.UTF8.GetString(web));
    }

    [Theory]
    [InlineData(',', "plain", "plain")]
    [InlineData(',', "a,b", "\"a,b\"")]
    [InlineData(';', "a,b", "a,b")]
    [InlineData(';', "a;b", "\"a;b\"")]
    [InlineData(',', "say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData(',', "two\nlines", "\"two\nlines\"")]
    [InlineData('\t', "cr\rhere", "\"cr\rhere\"")]
    [InlineData('\t', "tab\there", "\"tab\there\"")]
    public void Csv_fields_are_quoted_only_when_they_hold_the_separator_a_quote_or_a_line_break(char separator, string value, string expected)
    {
        Assert.Equal($"x{separator}{expected}{separator}", Csv.Row(separator, "x", value, null));
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private sealed record CustomerRecord(string Source, string Id, string Phone, HashSet<string> Keys, string LastName, string Postcode, string BirthDate);

    /// <summary>Clean customer records of every source with their deterministic keys normalised (email, E.164-ish phone, loyalty).</summary>
    private IEnumerable<CustomerRecord> AllCustomerRecords()
    {
        foreach (var file in data.Summary.Files.Where(f => f.Entity == "customers"))
        {
            foreach (var row in DropFileReader.Read(data.Root, file.Path))
            {
                string id = row.Get(file.Source == "pos" ? "Cust_ID" : "customer_id");
                if (id.Length == 0) continue;
                string email = row.Get(file.Source == "pos" ? "E-mail" : "email").Trim().ToLowerInvariant();
                string phone = row.Get("phone");
                string digits = new(phone.Where(char.IsDigit).ToArray());
                if (digits.Length == 11 && digits[0] == '1') digits = digits[1..];
                string loyalty = row.Get("loyalty_id").ToUpperInvariant();
                var keys = new HashSet<string>();
                if (email.Length > 0) keys.Add("email:" + email);
                if (digits.Length > 0) keys.Add("phone:" + digits);
                if (loyalty.Length > 0) keys.Add("loyalty:" + loyalty);
                yield return new CustomerRecord(file.Source, id, phone, keys, row.Get("last_name"), row.Get("postcode"), row.Get("birth_date"));
            }
        }
    }

    private static string TempDir() => Path.Combine(Path.GetTempPath(), "icrm-datagen-" + Guid.NewGuid().ToString("N"));

    private static List<string> RelativeFiles(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
}
