using System.Globalization;
using System.Text;
using System.Text.Json;
using iCrm.Core.Ingestion;
using iCrm.Core.Profiles;
using iCrm.Testing;
using Xunit.Abstractions;

namespace iCrm.Core.Tests.Ingestion;

/// <summary>
/// Identity resolution through the ingestion pipeline counts disagreement as evidence: namesakes stay apart, conflicting
/// identifiers are held for review, merges are reported as merges, contact values survive merges, big clusters are flagged.
/// </summary>
public sealed class MatchingEvidenceTests(ITestOutputHelper output)
{
    private const string Header = "customer_id,email,phone,first_name,last_name,street,city,postcode,state,birth_date\n";

    [Fact]
    public async Task Two_namesakes_with_different_emails_and_phones_stay_two_profiles()
    {
        var harness = new IngestionHarness();
        var report = await harness.IngestAsync("web/customers/namesakes.csv", Header
            + "w-1,maria.k@example.com,+48601000001,Maria,Kowalska,,,,,\n"
            + "w-2,m.kowalska@example.org,+48601000002,Maria,Kowalska,,,,,\n");

        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal(2, harness.Customers.All().Count(p => p.MergedInto is null));
        Assert.Equal((2, 0), (report.CustomersCreated, report.CustomersMerged));
        var first = await harness.FindBySourceAsync("web", "w-1");
        var second = await harness.FindBySourceAsync("web", "w-2");
        Assert.NotEqual(first!.Id, second!.Id);
        Assert.Equal("maria.k@example.com", first.Contact.Email);
        Assert.Equal("m.kowalska@example.org", second.Contact.Email);
    }

    [Fact]
    public async Task Names_alone_in_any_spelling_never_merge()
    {
        var harness = new IngestionHarness();
        await harness.IngestAsync("web/customers/spellings.csv", Header
            + "w-1,,,Maria,Kowalska,,,,,\n"
            + "w-2,,,Kowalska,Maria,,,,,\n"
            + "w-3,,,Marya,Kowalska,,,,,\n"
            + "w-4,,,Maria,Kowalska,,,,,\n");

        Assert.Equal(4, harness.Customers.All().Count(p => p.MergedInto is null));
    }

    [Fact]
    public async Task Same_person_by_name_address_and_birth_date_but_a_different_phone_is_held_for_review()
    {
        var harness = new IngestionHarness();
        var report = await harness.IngestAsync("web/customers/conflict.csv", Header
            + "w-1,,+61400000001,Anna,Nowak,12 Long Street,Springfield,4000,QLD,1980-03-07\n"
            + "w-2,,+61400000002,Anna,Nowak,12 Long Street,Springfield,4000,QLD,1980-03-07\n");

        Assert.Equal(2, harness.Customers.All().Count(p => p.MergedInto is null));
        Assert.Equal(0, report.CustomersMerged);
        var review = Assert.Single(harness.Reviews.All());
        Assert.Equal("ConflictingIdentifiers", review.Reason);
        Assert.Equal(report.Id, review.DropId);
        Assert.Contains(review.Evidence, e => e is { Field: "Phone", Level: "Disagree" } && e.Weight < 0);
        Assert.Contains(review.Evidence, e => e is { Field: "BirthDate", Level: "Exact" } && e.Weight > 0);
        Assert.StartsWith("src:", review.RecordKey, StringComparison.Ordinal);
        var json = JsonSerializer.Serialize(review);
        foreach (var personal in new[] { "anna", "nowak", "61400", "w-2", "springfield" })
        {
            Assert.DoesNotContain(personal, json, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task A_work_email_beside_a_private_one_merges_when_birth_date_and_address_agree()
    {
        var harness = new IngestionHarness();
        var report = await harness.IngestAsync("web/customers/work-email.csv", Header
            + "w-1,anna@example.com,,Anna,Nowak,12 Long Street,Springfield,4000,QLD,1980-03-07\n"
            + "w-2,anna.nowak@work.example,,Anna,Nowak,,,4000,,1980-03-07\n");

        Assert.Equal(1, harness.Customers.All().Count(p => p.MergedInto is null));
        Assert.Equal((1, 1), (report.CustomersCreated, report.CustomersMerged));
        Assert.Empty(harness.Reviews.All());
        var profile = await harness.FindBySourceAsync("web", "w-2");
        Assert.Contains(profile!.MergeExplanations, m => m.Evidence.Contains("Email:Disagree:-3.65"));
    }

    [Fact]
    public async Task A_different_email_with_names_and_birth_date_only_is_held_for_review()
    {
        var harness = new IngestionHarness();
        await harness.IngestAsync("web/customers/names-and-birth-date.csv", Header
            + "w-1,anna@example.com,,Anna,Nowak,12 Long Street,Springfield,4000,QLD,1980-03-07\n"
            + "w-2,anna.nowak@work.example,,Anna,Nowak,,,,,1980-03-07\n");

        Assert.Equal(2, harness.Customers.All().Count(p => p.MergedInto is null));
        Assert.Equal("ConflictingIdentifiers", Assert.Single(harness.Reviews.All()).Reason);
    }

    [Fact]
    public async Task A_record_that_joins_an_existing_profile_is_reported_as_a_merge()
    {
        var harness = new IngestionHarness();
        var report = await harness.IngestAsync("web/customers/merge.csv", Header
            + "w-1,jane@example.com,,Jane,Doe,,,,,\n"
            + "w-2,jane@example.com,+61400000001,Jane,Doe,,,,,\n");

        Assert.Equal(1, harness.Customers.All().Count(p => p.MergedInto is null));
        Assert.Equal((1, 1), (report.CustomersCreated, report.CustomersMerged));

        var later = await harness.IngestAsync("callcenter/customers/merge.csv", "customer_id,email,first_name,last_name\ncc-7,jane@example.com,Jane,Doe\n");
        Assert.Equal((0, 1), (later.CustomersCreated, later.CustomersMerged));
    }

    [Fact]
    public async Task A_re_run_after_a_crash_counts_the_same_merges_as_a_clean_run()
    {
        const string drop = Header + "w-1,jane@example.com,,Jane,Doe,,,,,\nw-2,jane@example.com,,Jane,Doe,,,,,\n";
        var clean = await new IngestionHarness(new IngestionOptions { ChunkSize = 1 }).IngestAsync("web/customers/merge.csv", drop);

        // The second chunk claims w-2's keys, then the store fails on its write: the re-run finds the keys claimed.
        var crashing = new IngestionHarness(new IngestionOptions { ChunkSize = 1 });
        IngestionTestData.CrashAtWrite(crashing, 2);
        await Assert.ThrowsAsync<IOException>(() => crashing.IngestAsync("web/customers/merge.csv", drop));
        crashing.Customers.BeforeWrite = null;
        var rerun = await crashing.Pipeline.IngestAsync("web/customers/merge.csv");

        Assert.Equal((1, 1), (clean.CustomersCreated, clean.CustomersMerged));
        Assert.Equal((clean.CustomersCreated, clean.CustomersMerged), (rerun.CustomersCreated, rerun.CustomersMerged));
    }

    [Fact]
    public async Task Contact_values_of_every_source_survive_with_source_and_time()
    {
        var harness = new IngestionHarness();
        await harness.IngestAsync("web/customers/a.csv", Header + "w-1,jane@example.com,+61400000001,Jane,Doe,,,,,\n");
        harness.Time.Advance(TimeSpan.FromDays(1));
        await harness.IngestAsync("pos/customers/b.csv", Header + "p-1,jane@example.com,+61400000002,Jane,Doe,,,,,\n");

        var profile = await harness.FindBySourceAsync("web", "w-1");
        Assert.Equal("+61400000002", profile!.Contact.Phone);
        var alternative = Assert.Single(ContactValueList.Alternatives(profile, "phone", profile.Contact.Phone));
        Assert.Equal(("+61400000001", "web"), (alternative.Value, alternative.Source));
        Assert.Contains(profile.ContactValues, v => v is { Field: "phone", Value: "+61400000002", Source: "pos" });
    }

    [Fact]
    public async Task Merging_two_profiles_keeps_both_profiles_contact_values()
    {
        var harness = new IngestionHarness();
        await harness.IngestAsync("web/customers/a.csv", Header
            + "w-1,jane@example.com,,Jane,Doe,,,,,\n"
            + "w-2,,+61400000009,Janet,Doe,,,,,\n");
        harness.Time.Advance(TimeSpan.FromDays(1));
        // One row carrying both keys: the two profiles are one person.
        await harness.IngestAsync("pos/customers/b.csv", Header + "p-1,jane@example.com,+61400000009,Jane,Doe,,,,,\n");

        var profile = await harness.FindBySourceAsync("web", "w-2");
        Assert.Equal(1, harness.Customers.All().Count(p => p.MergedInto is null));
        Assert.Contains(profile!.ContactValues, v => v is { Field: "firstName", Value: "Janet", Source: "web" });
        Assert.Contains(profile.ContactValues, v => v is { Field: "firstName", Value: "Jane", Source: "web" });
    }

    [Fact]
    public async Task A_cluster_of_more_than_ten_source_records_is_flagged_on_the_profile_and_in_the_report()
    {
        var harness = new IngestionHarness();
        var csv = new StringBuilder(Header);
        for (var i = 0; i < 12; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"w-{i},shared@example.com,,Pat,Lee,,,,,\n");
        }
        var report = await harness.IngestAsync("web/customers/cluster.csv", csv.ToString());

        var profile = Assert.Single(harness.Customers.All(), p => p.MergedInto is null);
        Assert.True(profile.LargeCluster);
        Assert.Equal([profile.Id], report.LargeClusters);

        var small = new IngestionHarness();
        var smallReport = await small.IngestAsync("web/customers/cluster.csv", Header + "w-1,shared@example.com,,Pat,Lee,,,,,\nw-2,shared@example.com,,Pat,Lee,,,,,\n");
        Assert.False(Assert.Single(small.Customers.All()).LargeCluster);
        Assert.Null(smallReport.LargeClusters);
    }

    [Fact]
    public async Task Many_namesakes_with_distinct_emails_and_phones_end_with_one_profile_per_person()
    {
        string[] first = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
            "David", "Barbara", "Maria", "Anna", "Peter", "Susan", "Thomas", "Sarah", "Daniel", "Karen"];
        string[] last = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
            "Kowalska", "Nowak", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee"];
        string[] cities = ["Springfield", "Riverside", "Fairview", "Greenville", "Franklin"];
        var random = new Random(42);
        const int people = 2_500;
        var csv = new StringBuilder(Header);
        for (var i = 0; i < people; i++)
        {
            var city = cities[random.Next(cities.Length)];
            csv.Append(CultureInfo.InvariantCulture,
                $"c-{i},person{i}@example.com,+6140{i:D7},{first[random.Next(first.Length)]},{last[random.Next(last.Length)]},,{city},,QLD,\n");
        }
        var harness = new IngestionHarness();
        var report = await harness.IngestAsync("web/customers/namesakes.csv", csv.ToString());

        var profiles = harness.Customers.All().Count(p => p.MergedInto is null);
        output.WriteLine($"{people} people → {profiles} profiles; created {report.CustomersCreated}, merged {report.CustomersMerged}, review candidates {harness.Reviews.Count}");
        Assert.Equal(IngestionStatus.Completed, report.Status);
        Assert.Equal(people, profiles);
        Assert.Equal((people, 0), (report.CustomersCreated, report.CustomersMerged));
        Assert.Null(report.LargeClusters);
        Assert.All(harness.Reviews.All(), r => Assert.NotEqual(r.CustomerId, r.CandidateId));
    }
}
