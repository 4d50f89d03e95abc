using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

public class ActivityValidationTests
{
    [Fact]
    public void Event_types_are_lower_snake_case_and_channel_defaults_to_the_source()
    {
        var e = Accepted<EventRecord>(One("event_id,customer_id,timestamp,type,product_id,value\nE1,C1,2024-03-12T10:00:00Z,Email Open,P1,\"1,5\"\n", "email/events/e.csv"));
        Assert.Equal(("E1", "email_open", "P1", 1.5m, "email"), (e.EventId, e.Type, e.ProductId, e.Value, e.Channel));

        var e2 = Accepted<EventRecord>(One("customer_id,timestamp,event,channel\nC1,2024-03-12,app-open,App\n", "app/events/e.csv"));
        Assert.Equal(("app_open", "app", (string?)null), (e2.Type, e2.Channel, e2.EventId));
    }

    [Theory]
    [InlineData("C1,2024-03-12,", "type", RejectionReasons.Required)]
    [InlineData("C1,2025-03-12,view", "timestamp", RejectionReasons.FutureDate)]
    [InlineData(",2024-03-12,view", "customer_id", RejectionReasons.Required)]
    [InlineData("C1,12/13/14/15,view", "timestamp", RejectionReasons.InvalidDate)]
    public void Events_without_who_when_or_what_are_rejected(string row, string field, string reason)
    {
        Assert.Equal(field, Rejected(One("customer_id,timestamp,type\n" + row + "\n", "web/events/e.csv"), reason).Field);
    }

    [Fact]
    public void Feedback_keeps_its_text_and_rating()
    {
        var f = Accepted<FeedbackRecord>(One("feedback_id,customer_id,timestamp,comment,stars\nF1,C1,2024-03-12,\"  Great, \"\"really\"\" great\n\",5\n", "callcenter/feedback/f.csv"));
        Assert.Equal(("F1", "Great, \"really\" great", 5, "callcenter"), (f.FeedbackId, f.Text, f.Rating, f.Channel));
    }

    [Theory]
    [InlineData("0", RejectionReasons.RatingOutOfRange)]
    [InlineData("6", RejectionReasons.RatingOutOfRange)]
    [InlineData("4.5", RejectionReasons.InvalidNumber)]
    [InlineData("good", RejectionReasons.InvalidNumber)]
    public void Ratings_outside_one_to_five_are_rejected(string rating, string reason)
    {
        Assert.Equal("rating", Rejected(One($"customer_id,timestamp,text,rating\nC1,2024-03-12,ok,{rating}\n", "web/feedback/f.csv"), reason).Field);
    }

    [Fact]
    public void Long_feedback_is_cut_and_flagged()
    {
        var text = new string('a', 50);
        var outcome = One($"customer_id,timestamp,text\nC1,2024-03-12,{text}\n", "web/feedback/f.csv", Options(o => o with { MaxTextLength = 20 }));

        Assert.Equal(20, Accepted<FeedbackRecord>(outcome).Text.Length);
        Assert.Equal(WarningReasons.TextTruncated, Assert.Single(outcome.Warnings).Reason);
    }

    [Fact]
    public void Empty_feedback_text_is_rejected()
    {
        Assert.Equal("text", Rejected(One("customer_id,timestamp,text\nC1,2024-03-12,  \n", "web/feedback/f.csv"), RejectionReasons.Required).Field);
    }

    [Fact]
    public void Subscriptions_are_typed()
    {
        var s = Accepted<SubscriptionRecord>(One("customer_id,plan,start_date,end_date,amount,period\nC1,Premium,2023-01-01,2025-01-01,9.99,Monthly\n", "erp/subscriptions/s.csv"));
        Assert.Equal(("Premium", new DateOnly(2023, 1, 1), (DateOnly?)new DateOnly(2025, 1, 1), (decimal?)9.99m, "monthly"), (s.Plan, s.StartDate, s.EndDate, s.Amount, s.Period));
    }

    [Theory]
    [InlineData("C1,Premium,2023-01-01,2022-01-01,", "end_date", RejectionReasons.DateRange)]
    [InlineData("C1,Premium,2030-01-01,,", "start_date", RejectionReasons.FutureDate)]
    [InlineData("C1,,2023-01-01,,", "plan", RejectionReasons.Required)]
    [InlineData("C1,Premium,,,", "start_date", RejectionReasons.Required)]
    [InlineData("C1,Premium,2023-01-01,,-5", "amount", RejectionReasons.NegativeAmount)]
    [InlineData("C1,Premium,2023-01-01,,2000000", "amount", RejectionReasons.AbsurdAmount)]
    public void Impossible_subscriptions_are_rejected(string row, string field, string reason)
    {
        Assert.Equal(field, Rejected(One("customer_id,plan,start_date,end_date,amount\n" + row + "\n", "erp/subscriptions/s.csv"), reason).Field);
    }
}
