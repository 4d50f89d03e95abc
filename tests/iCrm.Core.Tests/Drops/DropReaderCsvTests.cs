using System.Text;
using iCrm.Core.Drops;
using static iCrm.Core.Tests.Drops.DropTestKit;

namespace iCrm.Core.Tests.Drops;

public class DropReaderCsvTests
{
    [Fact]
    public void Quoted_fields_keep_separators_quotes_and_line_breaks_and_lines_count_physically()
    {
        var csv = "customer_id,first_name,street,city\n"
                  + "1,Ann,\"10 Main St, Apt 4\",Boston\n"
                  + "2,\"Bob \"\"the builder\"\"\",\"Line one\nLine two\",Leeds\n"
                  + "3,Cy,Elm,York\n";

        var rows = Read(csv, "web/customers/c.csv");

        Assert.Equal(3, rows.Count);
        Assert.Equal("10 Main St, Apt 4", rows[0][DropColumn.Street].ToString());
        Assert.Equal("Bob \"the builder\"", rows[1][DropColumn.FirstName].ToString());
        Assert.Equal("Line one\nLine two", rows[1][DropColumn.Street].ToString());
        Assert.Equal([2L, 3L, 5L], rows.Select(r => r.Line));
        Assert.Equal("York", rows[2][DropColumn.City].ToString());
    }

    [Fact]
    public void Byte_order_mark_and_crlf_line_endings_are_invisible()
    {
        var csv = "\uFEFFCustomerID,Email\r\nA1,a@x.com\r\n\r\nA2,b@x.com\r\n";
        var rows = Read(csv, "web/customers/c.csv", encoding: new UTF8Encoding(true));

        Assert.Equal(2, rows.Count);
        Assert.True(rows[0].Has(DropColumn.CustomerId));
        Assert.Equal("A1", rows[0][DropColumn.CustomerId].ToString());
        Assert.Equal("a@x.com", rows[0][DropColumn.Email].ToString());
        Assert.Equal(4, rows[1].Line); // header 1, A1 2, blank 3, A2 4
    }

    [Fact]
    public void Utf16_files_with_a_bom_are_read()
    {
        var rows = Read("customer_id;first_name\r\n7;Zoë\r\n", "web/customers/c.csv", encoding: new UnicodeEncoding(false, true));
        Assert.Equal("Zoë", Assert.Single(rows)[DropColumn.FirstName].ToString());
    }

    [Theory]
    [InlineData(';')]
    [InlineData('\t')]
    [InlineData('|')]
    [InlineData(',')]
    public void The_separator_is_detected_from_the_header(char separator)
    {
        var csv = string.Join(separator, "order_id", "customer_id", "order_date", "amount") + "\n"
                  + string.Join(separator, "O1", "C1", "2024-01-02", "12") + "\n";
        var rows = Read(csv, "pos/orders/o.csv");

        var row = Assert.Single(rows);
        Assert.Null(row.MalformedReason);
        Assert.Equal("C1", row[DropColumn.CustomerId].ToString());
    }

    [Fact]
    public void A_declared_separator_wins_over_detection()
    {
        var rows = Read("customer_id|note;x\n1|a;b\n", "web/customers/c.csv", new DropReadOptions { Separator = '|' });

        var row = Assert.Single(rows);
        Assert.Equal(["customer_id", "note;x"], row.FieldNames);
        Assert.Equal("a;b", row.UnknownColumns.Single().Value);
    }

    [Fact]
    public void Ragged_rows_come_out_as_malformed_rows_not_exceptions()
    {
        var csv = "customer_id,email,phone\n1,a@x.com,555\n2,b@x.com\n3,c@x.com,1,extra\n4,d@x.com,9\n";
        var rows = Read(csv, "web/customers/c.csv");

        Assert.Equal(4, rows.Count);
        Assert.Null(rows[0].MalformedReason);
        Assert.Contains("Expected 3 fields", rows[1].MalformedReason);
        Assert.Contains("found 4", rows[2].MalformedReason);
        Assert.Equal("3,c@x.com,1,extra", rows[2].RawText);
        Assert.Null(rows[3].MalformedReason);
        Assert.Equal(5, rows[3].Line);
    }

    [Fact]
    public void Text_after_a_closing_quote_makes_the_row_malformed_as_RFC_4180_requires()
    {
        var csv = "customer_id,first_name\n1,\"Ann\"x\n2,\"Bob\" \n";
        var rows = Read(csv, "web/customers/c.csv");

        Assert.Equal(2, rows.Count);
        Assert.Contains("after the closing quote", rows[0].MalformedReason);
        Assert.Null(rows[1].MalformedReason);
        Assert.Equal("Bob", rows[1][DropColumn.FirstName].ToString().Trim());
    }

    [Fact]
    public void An_unterminated_quote_costs_one_row_and_reading_resumes_on_the_next_line()
    {
        var csv = "customer_id,first_name\n1,\"Ann\n2,Bob\n3,Cy\n";
        var rows = Read(csv, "web/customers/c.csv");

        Assert.Equal(3, rows.Count);
        Assert.Contains("Unterminated", rows[0].MalformedReason);
        Assert.Equal(2, rows[0].Line);
        Assert.Equal("1,\"Ann", rows[0].RawText);
        Assert.Equal(("Bob", 3L), (rows[1][DropColumn.FirstName].ToString(), rows[1].Line));
        Assert.Equal(("Cy", 4L), (rows[2][DropColumn.FirstName].ToString(), rows[2].Line));
    }

    [Fact]
    public void A_record_longer_than_the_limit_is_malformed_and_memory_stays_bounded()
    {
        var csv = "customer_id,first_name\n1,\"" + new string('x', 5000) + "\n2,Bob\n";
        var rows = Read(csv, "web/customers/c.csv", new DropReadOptions { MaxRecordChars = 1000, MaxRawTextChars = 100 });

        Assert.Equal(2, rows.Count);
        Assert.NotNull(rows[0].MalformedReason);
        Assert.Equal(100, rows[0].RawText.Length);
        Assert.Equal("Bob", rows[1][DropColumn.FirstName].ToString());
        Assert.Equal(3, rows[1].Line);
    }

    [Fact]
    public void Raw_text_is_capped_for_quarantine()
    {
        var csv = "customer_id,note\n1," + new string('n', 10_000) + "\n";
        var row = Assert.Single(Read(csv, "web/customers/c.csv"));
        Assert.Equal(4096, row.RawText.Length);
        Assert.Equal(10_000, row.UnknownColumns.Single().Value.Length);
    }

    [Fact]
    public void Records_spanning_many_read_buffers_are_read_whole()
    {
        var text = string.Concat(Enumerable.Repeat("lorem ipsum, \"dolor\"\r\n", 8000)); // ~180k chars with quotes and CRLF inside
        var csv = "customer_id,timestamp,text\r\n1,2024-01-01,\"" + text.Replace("\"", "\"\"") + "\"\r\n2,2024-01-02,short\r\n";
        var rows = Read(csv, "web/feedback/f.csv");

        Assert.Equal(2, rows.Count);
        Assert.Equal(text, rows[0][DropColumn.Text].ToString());
        Assert.Equal(3 + 8000, rows[1].Line); // the first record starts on line 2 and holds 8000 line breaks
    }

    [Fact]
    public void Gzip_drops_are_decompressed_on_the_fly()
    {
        var rows = Read("customer_id,email\n1,a@x.com\n2,b@x.com\n", "web/customers/c.csv.gz");
        Assert.Equal(["1", "2"], rows.Select(r => r[DropColumn.CustomerId].ToString()));
    }

    [Theory]
    [InlineData("customer id")]
    [InlineData("cust_id")]
    [InlineData("customerid")]
    [InlineData("CustomerID")]
    [InlineData("client_id")]
    [InlineData("ID")]
    public void Customer_id_aliases_are_recognised(string header)
    {
        var row = Assert.Single(Read($"{header},x\n42,1\n", "web/customers/c.csv"));
        Assert.Equal("42", row[DropColumn.CustomerId].ToString());
    }

    [Theory]
    [InlineData("e-mail", DropColumn.Email)]
    [InlineData("Email Address", DropColumn.Email)]
    [InlineData("email_address", DropColumn.Email)]
    [InlineData("MAIL", DropColumn.Email)]
    [InlineData("telephone", DropColumn.Phone)]
    [InlineData("Phone Number", DropColumn.Phone)]
    [InlineData("mobile", DropColumn.Phone)]
    [InlineData("tel", DropColumn.Phone)]
    [InlineData("FirstName", DropColumn.FirstName)]
    [InlineData("given_name", DropColumn.FirstName)]
    [InlineData("forename", DropColumn.FirstName)]
    [InlineData("surname", DropColumn.LastName)]
    [InlineData("family_name", DropColumn.LastName)]
    [InlineData("DOB", DropColumn.BirthDate)]
    [InlineData("date_of_birth", DropColumn.BirthDate)]
    [InlineData("zip", DropColumn.Postcode)]
    [InlineData("Postal Code", DropColumn.Postcode)]
    [InlineData("address_1", DropColumn.Street)]
    [InlineData("Address", DropColumn.Street)]
    public void Customer_header_aliases_are_case_space_and_punctuation_insensitive(string header, DropColumn column)
    {
        Assert.True(DropSchema.TryResolve(DropEntity.Customers, header, out var resolved));
        Assert.Equal(column, resolved);
    }

    [Theory]
    [InlineData(DropEntity.Orders, "Qty", DropColumn.Quantity)]
    [InlineData(DropEntity.Orders, "SKU", DropColumn.ProductId)]
    [InlineData(DropEntity.Orders, "Unit Price", DropColumn.UnitPrice)]
    [InlineData(DropEntity.Orders, "order date", DropColumn.OrderDate)]
    [InlineData(DropEntity.Orders, "is_return", DropColumn.Returned)]
    [InlineData(DropEntity.Events, "event_type", DropColumn.Type)]
    [InlineData(DropEntity.Events, "created_at", DropColumn.Timestamp)]
    [InlineData(DropEntity.Feedback, "comment", DropColumn.Text)]
    [InlineData(DropEntity.Feedback, "stars", DropColumn.Rating)]
    [InlineData(DropEntity.Subscriptions, "plan_name", DropColumn.Plan)]
    [InlineData(DropEntity.Subscriptions, "billing_period", DropColumn.Period)]
    public void Other_entities_have_their_own_aliases(DropEntity entity, string header, DropColumn column)
    {
        Assert.True(DropSchema.TryResolve(entity, header, out var resolved));
        Assert.Equal(column, resolved);
    }

    [Fact]
    public void Id_means_customer_id_only_in_customer_drops()
    {
        Assert.False(DropSchema.TryResolve(DropEntity.Orders, "id", out _));
        Assert.True(DropSchema.TryResolve(DropEntity.Events, "id", out var e) && e == DropColumn.EventId);
    }

    [Fact]
    public void Unknown_columns_are_kept_with_their_header_and_a_snake_case_name()
    {
        var row = Assert.Single(Read("customer_id,Loyalty Tier,favouriteColour,empty\n1,Gold,blue,\n", "web/customers/c.csv"));

        var unknown = row.UnknownColumns.ToList();
        Assert.Equal(2, unknown.Count); // empty values are not attributes
        Assert.Equal(("Loyalty Tier", "loyalty_tier", "Gold"), unknown[0]);
        Assert.Equal(("favouriteColour", "favourite_colour", "blue"), unknown[1]);
    }

    [Fact]
    public void A_file_without_a_required_column_says_so_on_every_row()
    {
        var path = DropPath.Parse("pos/orders/o.csv");
        using var reader = new DropReader(new MemoryStream("order_id,amount\n1,2\n2,3\n"u8.ToArray()), path);

        Assert.Equal([DropColumn.CustomerId, DropColumn.OrderDate], reader.MissingColumns);
        var rows = new List<RawRow>();
        Assert.Equal(2, reader.ReadBatch(rows, 10));
        Assert.All(rows, r => Assert.Equal([DropColumn.CustomerId, DropColumn.OrderDate], r.MissingColumns));
    }

    [Fact]
    public void Orders_need_an_amount_or_a_unit_price_column()
    {
        Assert.Empty(Read("order_id,customer_id,order_date,qty,price\n1,2,2024-01-01,1,2\n", "pos/orders/o.csv")[0].MissingColumns);
        Assert.Equal([DropColumn.UnitPrice], Read("order_id,customer_id,order_date,qty\n1,2,2024-01-01,1\n", "pos/orders/o.csv")[0].MissingColumns);
        Assert.Equal([DropColumn.Amount], Read("order_id,customer_id,order_date\n1,2,2024-01-01\n", "pos/orders/o.csv")[0].MissingColumns);
    }

    [Fact]
    public void Empty_files_and_header_only_files_have_no_rows()
    {
        Assert.Empty(Read("", "web/customers/c.csv"));
        Assert.Empty(Read("customer_id,email\r\n", "web/customers/c.csv"));
        Assert.Empty(Read("\n\n", "web/customers/c.csv"));
    }

    [Fact]
    public void The_last_record_may_lack_a_line_break()
    {
        var rows = Read("customer_id,first_name\n1,\"Ann\"", "web/customers/c.csv");
        Assert.Equal("Ann", Assert.Single(rows)[DropColumn.FirstName].ToString());
    }

    [Fact]
    public void Rows_stay_valid_after_the_reader_has_moved_on()
    {
        var csv = "customer_id,first_name\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i},name{i}\n"));
        var rows = Read(csv, "web/customers/c.csv");

        Assert.Equal(20_000, rows.Count);
        Assert.Equal("name0", rows[0][DropColumn.FirstName].ToString());
        Assert.Equal("name19999", rows[^1][DropColumn.FirstName].ToString());
        Assert.Equal(20_001, rows[^1].Line);
    }

    [Fact]
    public void The_reader_reports_header_and_separator_and_leaves_the_callers_stream_open()
    {
        var stream = new MemoryStream("customer_id;e-mail\n1;a@x.com\n"u8.ToArray());
        using (var reader = new DropReader(stream, DropPath.Parse("web/customers/c.csv")))
        {
            Assert.Equal(["customer_id", "e-mail"], reader.Header);
            Assert.Equal(';', reader.Separator);
            Assert.Empty(reader.MissingColumns);
            Assert.True(reader.TryReadRow(out _));
            Assert.False(reader.TryReadRow(out _));
            Assert.Equal(1, reader.RowsRead);
        }

        Assert.True(stream.CanRead);
    }

    [Fact]
    public void An_excel_sep_line_declares_the_separator_and_is_not_the_header()
    {
        var rows = Read("sep=;\r\ncustomer_id;first_name\r\n1;Ann,Marie\r\n", "web/customers/c.csv");

        var row = Assert.Single(rows);
        Assert.Equal("Ann,Marie", row[DropColumn.FirstName].ToString());
        Assert.Equal(3, row.Line);
    }
}
