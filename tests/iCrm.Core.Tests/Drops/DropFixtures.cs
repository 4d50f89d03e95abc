namespace iCrm.Core.Tests.Drops;

/// <summary>
/// Nasty drops as data teams really send them. Kept as C# strings rather than files so byte-level details (BOM, CRLF,
/// tabs, trailing blanks) survive editors, .editorconfig and git line-ending conversion exactly.
/// Each fixture states how many rows it holds and how many must be accepted, flagged and rejected (by reason).
/// </summary>
internal static class DropFixtures
{
    public sealed record Fixture(string Name, string BlobPath, string Content, int Rows, int Accepted, int Flagged, IReadOnlyDictionary<string, int> Rejected)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Fixture> All =>
    [
        new("customers: BOM, CRLF, quotes, aliases, attributes", "web/customers/export.csv",
            "\uFEFFCustomer ID,E-Mail,Mobile,First Name,Surname,DOB,Address,City,Zip,Country,Loyalty Tier,Notes\r\n"
            + "1001,ANN@EXAMPLE.COM,(415) 555-2671,ANN,LEE,1980-02-29,\"10 Main St, Apt 4\",boston,02118,USA,Gold,\"said \"\"hi\"\"\"\r\n"
            + "1002,bob@example.com,12345,bob,smith,12/31/1975,\"Line one\r\nLine two\",Leeds,LS1 4AP,UK,,\r\n"
            + "\r\n"
            + "1003,not-an-email,,Cy,Young,,,,,,,\r\n"
            + "1004,cy@example.com,,Cy,Young,2031-01-01,,,,,,\r\n"
            + ",nobody@example.com,,,,,,,,,,\r\n"
            + "1006,dee@example.com,,Dee\r\n"
            + "1007,eve@example.com,+44 20 7946 0958,Eve,Ng,1990.05.01,,,,DE,,\r\n",
            Rows: 7, Accepted: 4, Flagged: 2,
            Rejected: new Dictionary<string, int> { ["invalid_email"] = 1, ["required"] = 1, ["malformed"] = 1 }),

        new("orders: semicolons, decimal commas, German dates, returns", "pos/orders/kasse.csv",
            "Bestell-Nr;Kunden-Nr;Datum;Menge;Preis;Retoure\n"
            + "O1;C1;12.03.2024;2;\"1.234,50\";nein\n"
            + "O2;C1;13.03.2024;-1;19,99;ja\n"
            + "O3;C2;14.03.2024;-1;19,99;nein\n"
            + "O4;C3;31.02.2024;1;5;nein\n"
            + "O5;C3;01.04.2024;1;abc;nein\n"
            + "O6;C4;01.04.2024;1;2000000;nein\n"
            + "O7;C4;01.04.2024;1;5;vielleicht\n",
            Rows: 7, Accepted: 0, Flagged: 0,
            Rejected: new Dictionary<string, int> { ["missing_column"] = 7 }), // German headers match no alias: the whole file is quarantined

        new("orders: tab separated with aliases", "pos/orders/till.tsv",
            "order_no\tcust_id\torder date\tqty\tunit price\tis_return\tsku\r\n"
            + "O1\tC1\t2024-03-12T10:00:00Z\t2\t1,234.50\tno\tP1\r\n"
            + "O2\tC1\t2024-03-13\t-1\t19.99\tyes\tP1\r\n"
            + "O3\tC2\t2024-03-14\t-1\t19.99\tno\tP2\r\n"
            + "O4\tC3\t2024-02-31\t1\t5\tno\tP3\r\n"
            + "O5\tC3\t2024-04-01\t1\tabc\tno\tP3\r\n"
            + "O6\tC4\t2024-04-01\t1\t2000000\tno\tP4\r\n"
            + "O7\tC4\t2024-04-01\t1\t5\tmaybe\tP4\r\n"
            + "O8\tC5\t2024-04-01\t1\t15000\tno\tP5\r\n"
            + "O9\tC5\t2099-04-01\t1\t15\tno\tP5\r\n",
            Rows: 9, Accepted: 3, Flagged: 1,
            Rejected: new Dictionary<string, int>
            {
                ["negative_quantity"] = 1, ["invalid_date"] = 1, ["invalid_number"] = 1, ["absurd_amount"] = 1, ["invalid_boolean"] = 1, ["future_date"] = 1,
            }),

        new("orders: pipes, unterminated quote, ragged rows", "erp/orders/dump.csv",
            "order_id|customer_id|order_date|amount\n"
            + "A|1|2024-01-01|10\n"
            + "F|6|2024-01-01|\"6\"\"0\"\n"
            + "C|3|2024-01-01|30\n"
            + "D|4|2024-01-01\n"
            + "E|5|2024-01-01|50|extra\n"
            + "B|2|2024-01-01|\"20\n",
            Rows: 6, Accepted: 2, Flagged: 0,
            Rejected: new Dictionary<string, int> { ["malformed"] = 3, ["invalid_number"] = 1 }),

        new("events: JSON lines with numbers, nesting, blanks and garbage", "app/events/stream.jsonl",
            "{\"event_id\": 1, \"customer_id\": 42, \"timestamp\": \"2024-03-12T10:00:00+01:00\", \"type\": \"App Open\", \"context\": {\"os\": \"ios\"}}\n"
            + "\n"
            + "{\"event_id\": 2, \"customer_id\": \"42\", \"ts\": 1710237600, \"event_type\": \"view\", \"product\": \"P-1\", \"value\": 3.5}\n"
            + "{\"event_id\": 3, \"customer_id\": \"43\", \"timestamp\": \"2024-03-12\"}\n"
            + "{\"event_id\": 4, \"customer_id\": \"43\", \"timestamp\": \"2024-03-12\", \"type\": \"click\"\n"
            + "   \r\n"
            + "\"just a string\"\n"
            + "{\"event_id\": 5, \"customer_id\": null, \"timestamp\": \"2024-03-12\", \"type\": \"click\"}\n"
            + "{\"event_id\": 6, \"customer_id\": \"44\", \"timestamp\": \"2024-03-12\", \"type\": \"click\", \"value\": \"lots\"}\n",
            Rows: 7, Accepted: 2, Flagged: 0,
            Rejected: new Dictionary<string, int> { ["required"] = 2, ["malformed"] = 2, ["invalid_number"] = 1 }),

        new("feedback: multi-line quoted text and ratings", "callcenter/feedback/survey.csv",
            "id,customer,date,comment,stars\n"
            + "F1,C1,12 Mar 2024,\"Great service,\nwould \"\"definitely\"\" return\",5\n"
            + "F2,C2,2024-03-12,\"\",4\n"
            + "F3,C3,2024-03-12,Meh,7\n"
            + "F4,C4,2024-03-12,Fine,\n",
            Rows: 4, Accepted: 2, Flagged: 0,
            Rejected: new Dictionary<string, int> { ["required"] = 1, ["rating_out_of_range"] = 1 }),

        new("subscriptions: gzip", "erp/subscriptions/subs.csv.gz",
            "customer_id,plan,start_date,end_date,amount,period\n"
            + "C1,Premium,2023-01-01,,9.99,monthly\n"
            + "C2,Basic,2023-05-01,2023-04-01,4.99,monthly\n"
            + "C3,Basic,2023-05-01,,,\n",
            Rows: 3, Accepted: 2, Flagged: 0,
            Rejected: new Dictionary<string, int> { ["invalid_date_range"] = 1 }),
    ];
}
