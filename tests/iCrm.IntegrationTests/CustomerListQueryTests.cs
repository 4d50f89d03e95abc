using iCrm.Azure.Store;
using iCrm.Core.Profiles;
using iCrm.Core.Storage;
using iCrm.Testing;

namespace iCrm.IntegrationTests;

/// <summary>
/// Customer lists as Cosmos SQL against the local Cosmos server, compared with the in-memory store's reference meaning
/// (<see cref="CustomerListQuery.Matches"/>). Every query also filters on a source unique to the test, so profiles other
/// tests left in the shared container never match.
/// </summary>
public sealed class CustomerListQueryTests
{
    private readonly CosmosCustomerStore _cosmos = new(LocalStack.CosmosContainers());
    private readonly InMemoryCustomerStore _reference = new();
    private readonly string _source = "s" + LocalStack.Unique();

    private async Task SeedAsync(int count)
    {
        string[] segments = ["Champions", "At risk", "Lost"];
        for (var i = 0; i < count; i++)
        {
            var profile = new CustomerProfile
            {
                Id = $"q{_source}-{i:000}",
                CreatedAt = DateTimeOffset.UtcNow,
                Identities = [new SourceIdentity(_source, i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
                Consent = new Consent
                {
                    Email = (i % 3) switch { 0 => true, 1 => false, _ => null },
                    Sms = i % 4 == 0 ? true : null,
                    Profiling = i % 11 == 5 ? false : i % 2 == 0 ? true : null,
                },
            };
            // Distinct scores (no ties), and some customers never scored.
            if (i % 9 != 8)
            {
                profile.Predictions["churn"] = new Prediction("v1", DateTimeOffset.UtcNow, (i * 37 % count + 0.5) / count, "band", [new Factor("recency", "days", 0.3)]);
                profile.Predictions["clv"] = new Prediction("v1", DateTimeOffset.UtcNow, i * 53 % count * 10.0 + 0.25, null, []);
                profile.Predictions["segments"] = new Prediction("v1", DateTimeOffset.UtcNow, i % 4, segments[i % 3], []);
            }
            if (i == 7)
            {
                profile.MergedInto = $"q{_source}-000";
            }
            Assert.NotNull(await _cosmos.TryCreateAsync(profile));
            Assert.NotNull(await _reference.TryCreateAsync(profile));
        }
    }

    public static TheoryData<string> Queries => [.. Cases.Keys];

    private static readonly Dictionary<string, CustomerListQuery> Cases = new()
    {
        ["all"] = new(),
        ["segment"] = new(Segment: "At risk"),
        ["cluster"] = new(Cluster: 2),
        ["churn range"] = new(MinChurn: 0.2, MaxChurn: 0.7),
        ["clv floor"] = new(MinClv: 150),
        ["email consent"] = new(WithConsent: ConsentChannel.Email),
        ["without email consent"] = new(WithoutConsent: ConsentChannel.Email),
        ["sort churn"] = new(Sort: CustomerSort.Churn),
        ["sort clv, profiling respected"] = new(Sort: CustomerSort.Clv, ExcludeProfilingWithdrawn: true),
        ["segment sorted by churn"] = new(Segment: "Champions", Sort: CustomerSort.Churn),
        ["cluster sorted by clv"] = new(Cluster: 1, Sort: CustomerSort.Clv),
        ["sms consent sorted by churn"] = new(WithConsent: ConsentChannel.Sms, Sort: CustomerSort.Churn, ExcludeProfilingWithdrawn: true),
        ["everything"] = new(Segment: "Champions", MinChurn: 0.1, MaxChurn: 0.95, MinClv: 10, WithConsent: ConsentChannel.Email, Sort: CustomerSort.Churn, ExcludeProfilingWithdrawn: true),
        ["only profiling withdrawn"] = new(OnlyProfilingWithdrawn: true),
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Cosmos_pages_list_the_same_customers_in_the_same_order_as_the_reference(string name)
    {
        await SeedAsync(60);
        var query = Cases[name] with { Source = _source };

        var fromCosmos = await ReadAllAsync(_cosmos, query, pageSize: 7);
        var expected = await ReadAllAsync(_reference, query, pageSize: 1000);

        Assert.NotEmpty(expected);
        if (query.Sort == CustomerSort.None)
        {
            Assert.Equal(expected.Order(), fromCosmos.Order());
        }
        else
        {
            Assert.Equal(expected, fromCosmos);
        }
        Assert.Equal(expected.Count, await _cosmos.CountAsync(query));
    }

    [Fact]
    public async Task Merged_away_profiles_are_never_listed()
    {
        await SeedAsync(12);

        var ids = await ReadAllAsync(_cosmos, new CustomerListQuery(Source: _source), pageSize: 5);

        Assert.Equal(11, ids.Count);
        Assert.DoesNotContain($"q{_source}-007", ids);
    }

    [Fact]
    public async Task Every_sorted_query_has_the_composite_index_it_needs_on_the_local_server()
    {
        // The local server refuses a multi-field ORDER BY without a matching composite index, as Cosmos does: the container
        // the app created carries the policy.
        await SeedAsync(10);
        var container = await LocalStack.CosmosContainers().GetAsync(iCrm.Azure.ResourceNames.CustomersContainer);

        var policy = (await container.ReadContainerAsync()).Resource.IndexingPolicy;

        Assert.Equal(CustomerIndexing.CompositeIndexes.Count, policy.CompositeIndexes.Count);
    }

    private static async Task<List<string>> ReadAllAsync(ICustomerStore store, CustomerListQuery query, int pageSize)
    {
        var ids = new List<string>();
        string? token = null;
        for (var pages = 0; pages < 500; pages++)
        {
            var page = await store.QueryAsync(query, pageSize, token);
            Assert.True(page.Items.Count <= pageSize);
            ids.AddRange(page.Items.Select(p => p.Id));
            token = page.ContinuationToken;
            if (token is null)
            {
                return ids;
            }
        }
        throw new InvalidOperationException("The listing never ended.");
    }
}
