using iCrm.Core.Profiles;

namespace iCrm.Core.Tests.Profiles;

public sealed class ConsentLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static CustomerProfile Profile(string id = "c_1") => new() { Id = id };

    [Fact]
    public void The_most_recent_statement_sets_the_current_value_whatever_the_order_they_arrive_in()
    {
        var profile = Profile();

        ConsentLedger.Record(profile, new ConsentStatement("email", false, "preference-centre", T0.AddDays(2)));
        ConsentLedger.Record(profile, new ConsentStatement("EMAIL", true, "crm", T0));

        Assert.False(profile.Consent.Email);
        Assert.Equal([T0, T0.AddDays(2)], profile.ConsentHistory.Select(s => s.At));
        Assert.Equal("email", profile.ConsentHistory[0].Channel);
        Assert.Null(profile.Consent.Sms);
    }

    [Fact]
    public void Statements_at_the_same_time_let_the_later_recorded_one_win_and_an_identical_one_is_not_kept_twice()
    {
        var profile = Profile();

        Assert.True(ConsentLedger.Record(profile, new ConsentStatement("sms", true, "web", T0)));
        Assert.True(ConsentLedger.Record(profile, new ConsentStatement("sms", false, "app", T0)));
        Assert.False(ConsentLedger.Record(profile, new ConsentStatement("sms", false, "app", T0)));

        Assert.False(profile.Consent.Sms);
        Assert.Equal(2, profile.ConsentHistory.Count);
    }

    [Fact]
    public void History_is_bounded_per_channel_and_keeps_the_newest()
    {
        var profile = Profile();
        for (var i = 0; i < ConsentLedger.MaxPerChannel + 5; i++)
        {
            ConsentLedger.Record(profile, new ConsentStatement("phone", i % 2 == 0, "call", T0.AddDays(i)));
        }
        ConsentLedger.Record(profile, new ConsentStatement("email", true, "web", T0));

        Assert.Equal(ConsentLedger.MaxPerChannel, profile.ConsentHistory.Count(s => s.Channel == "phone"));
        Assert.Equal(T0.AddDays(ConsentLedger.MaxPerChannel + 4), profile.ConsentHistory.Where(s => s.Channel == "phone").Max(s => s.At));
        Assert.True(profile.Consent.Phone); // i = 14 is even
        Assert.True(profile.Consent.Email);
    }

    [Fact]
    public void Withdrawing_profiling_consent_removes_the_stored_predictions()
    {
        var profile = Profile();
        profile.Predictions["churn"] = new Prediction("v1", T0, 0.7, "high", []);

        ConsentLedger.Record(profile, new ConsentStatement("profiling", false, "app", T0));

        Assert.False(profile.Consent.Profiling);
        Assert.Empty(profile.Predictions);
    }

    [Fact]
    public void A_merge_unions_the_statements_and_the_most_recent_wins_even_when_it_is_the_other_profiles()
    {
        var survivor = Profile("c_1");
        var other = Profile("c_2");
        ConsentLedger.Record(survivor, new ConsentStatement("email", true, "web", T0));
        ConsentLedger.Record(other, new ConsentStatement("email", false, "callcenter", T0.AddDays(1)));
        ConsentLedger.Record(other, new ConsentStatement("email", true, "web", T0));
        other.Consent.Sms = true; // a profile from before statements were kept

        ProfileMerge.Union(survivor, other, new MergeExplanation("c_2", T0, "Email", null, []));

        Assert.False(survivor.Consent.Email);
        Assert.Equal(2, survivor.ConsentHistory.Count);
        Assert.True(survivor.Consent.Sms);
    }

    [Fact]
    public void Unknown_channels_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ConsentLedger.Record(Profile(), new ConsentStatement("fax", true, "web", T0)));
    }
}
