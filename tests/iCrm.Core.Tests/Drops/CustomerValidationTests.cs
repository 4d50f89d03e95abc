using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

public class CustomerValidationTests
{
    private const string Path = "web/customers/c.csv";

    [Fact]
    public void Contact_fields_are_cleaned_for_identity_matching()
    {
        var csv = "Customer ID,E-mail,Telephone,FIRSTNAME,surname,DOB,sex,address,town,zip,state,country,signup,loyalty,email_opt_in,sms_opt_in,churned,churn_date\n"
                  + "c1, Ann.Lee@Example.COM ,(415) 555-2671,ANN,o'neil,1980-02-29,F,  10   downing st ,LONDON,sw1a 2aa,ca,United Kingdom,03/04/2020,L-77,yes,0,n,\n";
        var customer = Accepted<CustomerRecord>(One(csv, Path));

        Assert.Equal("c1", customer.SourceCustomerId);
        Assert.Equal("ann.lee@example.com", customer.Email);
        Assert.Equal("+14155552671", customer.Phone);
        Assert.Equal(("Ann", "O'Neil"), (customer.FirstName, customer.LastName));
        Assert.Equal(new DateOnly(1980, 2, 29), customer.BirthDate);
        Assert.Equal("female", customer.Gender);
        Assert.Equal(("10 Downing St", "London", "SW1A 2AA", "CA", "GB"), (customer.Street, customer.City, customer.Postcode, customer.State, customer.Country));
        Assert.Equal(new DateOnly(2020, 3, 4), customer.SignupDate); // en-US default: month first
        Assert.Equal(("L-77", (bool?)true, (bool?)false, (bool?)false), (customer.LoyaltyId, customer.ConsentEmail, customer.ConsentSms, customer.Churned));
        Assert.Null(customer.ChurnedAt);
        Assert.Empty(customer.Attributes);
    }

    [Fact]
    public void An_invalid_phone_is_dropped_with_a_warning_and_the_customer_kept()
    {
        var outcome = One("customer_id,email,phone\nc1,a@x.com,12345\n", Path);

        var customer = Accepted<CustomerRecord>(outcome);
        Assert.Null(customer.Phone);
        Assert.Equal("a@x.com", customer.Email);
        Assert.True(outcome.IsFlagged);
        Assert.Equal(("phone", WarningReasons.InvalidPhone), (outcome.Warnings[0].Field, outcome.Warnings[0].Reason));
    }

    [Fact]
    public void Phones_use_the_configured_default_region()
    {
        var options = Options(o => o with { DefaultPhoneRegion = "AU" });
        var customer = Accepted<CustomerRecord>(One("customer_id,mobile\nc1,0412 345 678\n", Path, options));
        Assert.Equal("+61412345678", customer.Phone);
    }

    [Fact]
    public void An_invalid_email_rejects_the_row()
    {
        var rejection = Rejected(One("customer_id,email\nc1,ann at example.com\n", Path), RejectionReasons.InvalidEmail);
        Assert.Equal("email", rejection.Field);
        Assert.Contains("ann at example.com", rejection.Message);
    }

    [Theory]
    [InlineData("n/a")]
    [InlineData("NULL")]
    [InlineData("  ")]
    [InlineData("\\N")]
    public void Placeholders_count_as_missing_not_as_invalid(string placeholder)
    {
        var customer = Accepted<CustomerRecord>(One($"customer_id,email,birth_date\nc1,{placeholder},{placeholder}\n", Path));
        Assert.Null(customer.Email);
        Assert.Null(customer.BirthDate);
    }

    [Theory]
    [InlineData("signup_date", "2024-06-20", RejectionReasons.FutureDate)]
    [InlineData("consent_email", "sometimes", RejectionReasons.InvalidBoolean)]
    [InlineData("customer_id", "", RejectionReasons.Required)]
    public void Impossible_customer_values_are_rejected(string column, string value, string reason)
    {
        var csv = column == "customer_id" ? $"customer_id,email\n{value},a@x.com\n" : $"customer_id,{column}\nc1,{value}\n";
        Assert.Equal(column, Rejected(One(csv, Path), reason).Field);
    }

    [Theory]
    [InlineData("2030-01-01")]
    [InlineData("31/02/1980")]
    [InlineData("1850-01-01")]
    public void An_impossible_birth_date_is_dropped_and_the_row_flagged_not_rejected(string value)
    {
        var outcome = One($"customer_id,first_name,birth_date\nc1,Ann,{value}\n", Path);

        var record = Assert.IsType<CustomerRecord>(outcome.Record);
        Assert.Null(record.BirthDate);
        Assert.Equal("Ann", record.FirstName);
        Assert.Equal(WarningReasons.InvalidBirthDate, Assert.Single(outcome.Warnings).Reason);
    }

    [Fact]
    public void Unknown_columns_become_snake_case_attributes()
    {
        var customer = Accepted<CustomerRecord>(One("customer_id,Loyalty Tier,PreferredStore\nc1,Gold,Leeds Central\n", Path));
        Assert.Equal(new Dictionary<string, string> { ["loyalty_tier"] = "Gold", ["preferred_store"] = "Leeds Central" }, customer.Attributes);
    }

    [Fact]
    public void Explicit_churn_labels_are_read()
    {
        var customer = Accepted<CustomerRecord>(One("customer_id,churned,churned_at\nc1,Y,2024-05-01\n", Path));
        Assert.Equal((true, new DateOnly(2024, 5, 1)), (customer.Churned, customer.ChurnedAt));
    }
}
