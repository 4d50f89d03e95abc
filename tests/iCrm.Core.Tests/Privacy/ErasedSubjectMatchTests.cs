using iCrm.Core.Privacy;
using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Privacy;

public sealed class ErasedSubjectMatchTests
{
    private static ErasedSubjectMatch Ada()
    {
        var profile = new CustomerProfile
        {
            Id = "c_1",
            Identities = [new SourceIdentity("web", "W-1"), new SourceIdentity("pos", "77")],
            Contact = new ContactDetails { Email = "ada.lovelace@gmail.com", Phone = "+442079460001" },
            ContactValues = [new ContactValue("email", "ada@work.example", "crm", DateTimeOffset.UnixEpoch)],
        };
        return ErasedSubjectMatch.Of([profile]);
    }

    [Theory]
    [InlineData("web", "W-1,not-an-email,,Ada")]
    [InlineData("web", "O-4,W-1,not-a-date,3")]
    [InlineData("pos", "{\"customer_id\": 77, \"amount\": \"x\"}")]
    [InlineData("app", "A-9,Ada.Lovelace+news@GMAIL.com")]
    [InlineData("app", "A-9,\"ADA@work.example\"")]
    [InlineData("app", "A-9,,020 7946 0001")]
    [InlineData(null, "W-1;bad")]
    public void Rows_naming_one_of_the_persons_identifiers_match(string? source, string raw) =>
        Assert.True(Ada().Names(source, raw));

    [Theory]
    [InlineData("web", "W-10,someone@example.test")]
    [InlineData("app", "W-1,someone@example.test")] // W-1 is a web id, not an app one
    [InlineData("web", "O-77,W-2,2024-01-01,77")] // 77 is a pos id
    [InlineData("web", "W-2,,020 7946 0002")]
    [InlineData("web", "W-2,,0001")] // too few digits to be a phone
    [InlineData("web", "")]
    public void Rows_of_other_people_do_not(string? source, string raw) =>
        Assert.False(Ada().Names(source, raw));
}
