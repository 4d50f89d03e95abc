using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

public class DropFixtureTests
{
    public static TheoryData<string> FixtureNames => [.. DropFixtures.All.Select(f => f.Name)];

    private static DropFixtures.Fixture Get(string name) => DropFixtures.All.Single(f => f.Name == name);

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void Every_row_read_is_either_accepted_or_rejected(string name)
    {
        var fixture = Get(name);
        var result = Ingest(fixture.Content, fixture.BlobPath);

        Assert.Equal(fixture.Rows, result.Rows.Count);
        result.AssertAccounting();
    }

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void Each_fixture_accepts_flags_and_rejects_what_its_rules_say(string name)
    {
        var fixture = Get(name);
        var result = Ingest(fixture.Content, fixture.BlobPath);

        var byReason = result.Rejections.GroupBy(r => r.Reason).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(fixture.Rejected.OrderBy(kv => kv.Key), byReason.OrderBy(kv => kv.Key));
        Assert.Equal(fixture.Accepted, result.Accepted);
        Assert.Equal(fixture.Flagged, result.Flagged);
    }

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void Every_rejection_carries_its_line_and_raw_text(string name)
    {
        var fixture = Get(name);
        var result = Ingest(fixture.Content, fixture.BlobPath);

        Assert.All(result.Rejections, r =>
        {
            Assert.True(r.Line >= 1);
            Assert.False(string.IsNullOrEmpty(r.RawText));
            Assert.False(string.IsNullOrEmpty(r.Message));
        });
        Assert.Equal(result.Rows.Select(r => r.Line).Distinct().Count(), result.Rows.Count);
    }
}
