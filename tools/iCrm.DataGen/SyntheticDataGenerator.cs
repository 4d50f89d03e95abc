using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace iCrm.DataGen;

/// <summary>
/// Writes realistic multi-channel drops (drops/{source}/{entity}/{file}) and their ground truth (truth/) for a
/// synthetic population, deterministically from <see cref="GeneratorOptions.Seed"/>. People are generated one at a
/// time and streamed to the files, so memory does not grow with the output.
/// </summary>
/// <example><code>
/// var summary = new SyntheticDataGenerator(new GeneratorOptions { Customers = 1_000, Seed = 7 }).Generate("out");
/// // out/drops/web/orders/orders-0001.csv, out/truth/people.csv, ...
/// </code></example>
public sealed class SyntheticDataGenerator(GeneratorOptions options)
{
    public GeneratorOptions Options { get; } = options;

    public GenerationSummary Generate(string outputDirectory)
    {
        Options.Validate();
        var stopwatch = Stopwatch.StartNew();
        string root = Path.GetFullPath(outputDirectory);
        // Stale files from an earlier, larger run would make the output depend on history, not on the seed.
        foreach (string folder in new[] { "drops", "truth" })
        {
            string path = Path.Combine(root, folder);
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        Directory.CreateDirectory(Path.Combine(root, "truth"));
        using var run = new GenerationRun(Options, root);
        run.Run();
        return run.Summarise(stopwatch.Elapsed.TotalSeconds);
    }
}

/// <summary>One generation: the open files, the id counters, and the per-person story.</summary>
internal sealed class GenerationRun : IDisposable
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly string[] SalesSources = ["web", "pos", "app"];
    private static readonly string[] ExtraSources = ["web", "pos", "app", "callcenter"];
    private static readonly double[] ExtraWeights = [0.5, 0.4, 0.4, 0.3];
    private static readonly string[] CallReasons = ["order status", "return", "complaint", "billing", "product question"];

    private readonly GeneratorOptions _o;
    private readonly string _root;
    private readonly ProductCatalogue _catalogue;
    private readonly PersonFactory _factory;
    private readonly DateTime _exportEnd;   // last instant in the drops (UTC)
    private readonly DateTime _horizonEnd;  // last instant simulated into the truth
    private readonly double[] _season;
    private readonly double _seasonMax;

    private readonly DropFileSet _webCustomers, _webOrders, _webEvents, _webFeedback;
    private readonly DropFileSet _posCustomers, _posOrders;
    private readonly DropFileSet _appCustomers, _appOrders, _appEvents;
    private readonly DropFileSet _ccCustomers, _ccEvents;
    private readonly DropFileSet _emailCustomers, _emailEvents;
    private readonly DropFileSet _erpCustomers, _erpSubscriptions;
    private readonly DropFileSet[] _sets;

    private readonly StreamWriter _truthPeople, _truthCustomers, _truthFuture;
    private readonly Dictionary<string, long> _customerCounters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _orderCounters = new(StringComparer.Ordinal);
    private long _eventCounter, _feedbackCounter, _sourceRecords, _futureLines;

    public GenerationRun(GeneratorOptions options, string root)
    {
        _o = options;
        _root = root;
        _catalogue = new ProductCatalogue(options.EffectiveProducts, options.Seed);
        _factory = new PersonFactory(options, _catalogue);
        _exportEnd = options.End.ToDateTime(new TimeOnly(23, 59, 59), DateTimeKind.Utc);
        _horizonEnd = options.End.AddDays(options.FutureDays).ToDateTime(new TimeOnly(23, 59, 59), DateTimeKind.Utc);
        double mean = Vocabulary.MonthlySeasonality.Average();
        _season = Vocabulary.MonthlySeasonality.Select(s => s / mean).ToArray();
        _seasonMax = _season.Max();

        DropFileSet Set(SourceFormat f, string entity, string? header, bool repeats, bool gzip = false) =>
            new(root, f, entity, header, gzip, repeats ? options.DuplicateRowRate : 0, options.Seed);
        var web = SourceFormats.Web; var pos = SourceFormats.Pos; var app = SourceFormats.App;
        var cc = SourceFormats.CallCenter; var email = SourceFormats.Email; var erp = SourceFormats.Erp;
        _webCustomers = Set(web, "customers", "customer_id,email,phone,first_name,last_name,birth_date,gender,street,city,postcode,state,country,signup_date,loyalty_id,consent_email,consent_sms", false);
        _webOrders = Set(web, "orders", "order_id,line,customer_id,order_date,product_id,quantity,unit_price,currency,channel,returned", true);
        _webEvents = Set(web, "events", "event_id,customer_id,timestamp,type,product_id,channel", true);
        _webFeedback = Set(web, "feedback", "feedback_id,customer_id,timestamp,rating,text,channel", true);
        _posCustomers = Set(pos, "customers", "Cust_ID;E-mail;phone;first_name;last_name;birth_date;street;city;postcode;loyalty_id;consent_sms;signup_date", false);
        _posOrders = Set(pos, "orders", "order_id;line;Cust_ID;order_date;product_id;quantity;unit_price;returned", true);
        _appCustomers = Set(app, "customers", null, false);
        _appOrders = Set(app, "orders", null, true);
        _appEvents = Set(app, "events", null, true);
        _ccCustomers = Set(cc, "customers", "customer_id\tfirst_name\tlast_name\tphone\temail\tstreet\tcity\tstate\tpostcode\tbirth_date", false);
        _ccEvents = Set(cc, "events", "event_id\tcustomer_id\ttimestamp\ttype\tvalue\treason", true);
        _emailCustomers = Set(email, "customers", "customer_id,email,first_name,consent_email,signup_date", false);
        _emailEvents = Set(email, "events", "customer_id,timestamp,type,campaign", true, options.GzipEmailEvents);
        _erpCustomers = Set(erp, "customers", "customer_id,email,first_name,last_name,phone,signup_date,churned,churned_at", false);
        _erpSubscriptions = Set(erp, "subscriptions", "customer_id,plan,start_date,end_date,amount,period", false);
        _sets =
        [
            _webCustomers, _webOrders, _webEvents, _webFeedback, _posCustomers, _posOrders, _appCustomers, _appOrders, _appEvents,
            _ccCustomers, _ccEvents, _emailCustomers, _emailEvents, _erpCustomers, _erpSubscriptions,
        ];

        _truthPeople = TruthWriter("people.csv",
            "person_id,signup_date,sources,lambda,p,spend_mean,dropped_out_at,alive_at_export,orders_to_export,spend_to_export,last_order_date,purchases_next_90d,purchases_next_365d,spend_next_365d,net_spend_next_365d,subscription_plan,subscription_end");
        _truthCustomers = TruthWriter("customers.csv", "source,customer_id,person_id,link,shared_keys");
        _truthFuture = TruthWriter("future_orders.csv",
            "person_id,source,customer_id,order_id,line,order_date,product_id,quantity,unit_price,amount,channel,returned");
    }

    private StreamWriter TruthWriter(string name, string header)
    {
        var writer = new StreamWriter(Path.Combine(_root, "truth", name), false, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        writer.WriteLine(header);
        return writer;
    }

    public void Run()
    {
        int perFile = _o.EffectiveCustomersPerFile;
        for (int index = 0; index < _o.Customers; index++)
        {
            if (index > 0 && index % perFile == 0)
            {
                foreach (var set in _sets) set.RequestNextFile();
            }
            GeneratePerson(index);
        }
        WriteProducts();
        WriteSources();
    }

    // ---------------------------------------------------------------------------------------------- one person

    private void GeneratePerson(int index)
    {
        var person = _factory.Create(index);
        var sourceRng = Rng.For(_o.Seed, index, 2);
        var orderRng = Rng.For(_o.Seed, index, 3);
        var eventRng = Rng.For(_o.Seed, index, 4);
        var noise = new Noise(_o, Rng.For(_o.Seed, index, 5));
        var mess = Rng.For(_o.Seed, index, 7);

        AssignAccounts(person, sourceRng);
        var purchaseTimes = SimulatePurchases(person, orderRng);
        AssignSubscription(person, sourceRng);

        foreach (var account in person.Accounts) WriteCustomer(person, account, noise, mess);

        int ordersToExport = 0, next90 = 0, next365 = 0;
        decimal spendToExport = 0, spend365 = 0, netSpend365 = 0;
        DateTime? lastOrder = null;
        var exportedOrders = new List<Order>();
        foreach (var at in purchaseTimes)
        {
            var order = ComposeOrder(person, at, orderRng);
            if (at <= _exportEnd)
            {
                ordersToExport++;
                spendToExport += order.Total;
                lastOrder = at;
                WriteOrder(order, mess);
                exportedOrders.Add(order);
            }
            else
            {
                next365++;
                if (at <= _exportEnd.AddDays(90)) next90++;
                spend365 += order.Total;
                netSpend365 += order.Lines.Where(l => !l.Returned).Sum(l => l.Amount);
                WriteFutureOrder(person, order);
            }
        }

        WriteEvents(person, exportedOrders, eventRng, mess);
        WriteFeedback(person, exportedOrders, eventRng, mess);
        WriteSubscription(person, mess);

        var p = person;
        string dropped = p.DropoutAt is DateTime d ? d.ToString("yyyy-MM-dd", Invariant) : "";
        bool alive = p.DropoutAt is not DateTime dd || dd > _exportEnd;
        _truthPeople.Write(string.Create(Invariant,
            $"{p.Id},{p.Signup:yyyy-MM-dd},{string.Join('|', p.Accounts.Select(a => a.Source))},{p.Lambda:0.######},{p.DropoutProbability:0.######},{p.SpendMean:0.##},{dropped},{(alive ? "true" : "false")},{ordersToExport},{spendToExport:0.00},{lastOrder:yyyy-MM-dd},{next90},{next365},{spend365:0.00},{netSpend365:0.00},{p.Subscription?.Plan},{p.Subscription?.End:yyyy-MM-dd}\n"));
    }

    private void AssignAccounts(Person person, Rng rng)
    {
        double r = rng.NextDouble();
        string primary = r < 0.6 ? "web" : r < 0.85 ? "pos" : "app";
        var sources = new List<string> { primary };
        if (rng.Chance(_o.DuplicateAcrossSourcesRate))
        {
            int extras = 1 + (rng.Chance(0.35) ? 1 : 0) + (rng.Chance(0.1) ? 1 : 0);
            var candidates = ExtraSources.Where(s => s != primary).ToList();
            var weights = candidates.Select(s => ExtraWeights[Array.IndexOf(ExtraSources, s)]).ToList();
            for (int k = 0; k < extras && candidates.Count > 0; k++)
            {
                double target = rng.NextDouble() * weights.Sum();
                int chosen = 0;
                for (double acc = weights[0]; acc < target && chosen < candidates.Count - 1; acc += weights[++chosen]) { }
                sources.Add(candidates[chosen]);
                candidates.RemoveAt(chosen);
                weights.RemoveAt(chosen);
            }
        }
        // Some people register twice in the same shop (forgotten password, a work address): a second id in one source.
        bool secondAccount = primary is "web" or "app" && rng.Chance(_o.DuplicateWithinSourceRate);
        if (secondAccount) sources.Add(primary);
        int remaining = _o.End.DayNumber - person.Signup.DayNumber;
        for (int k = 0; k < sources.Count; k++)
        {
            person.Accounts.Add(new Account
            {
                Source = sources[k],
                CustomerId = NewCustomerId(sources[k]),
                Joined = k == 0 ? person.Signup : person.Signup.AddDays(rng.Next(remaining + 1)),
                IsPrimary = k == 0,
                SecondInSource = k > 0 && secondAccount && k == sources.Count - 1,
            });
        }
        if (person.Accounts.Count > 1 && rng.Chance(_o.FuzzyOnlyRate))
        {
            person.Accounts[1 + rng.Next(person.Accounts.Count - 1)].FuzzyOnly = true;
        }
        // The email platform knows the people who agreed to marketing email and have an online account.
        var online = person.Accounts.FirstOrDefault(a => a.Source is "web" or "app" && !a.FuzzyOnly);
        if (person.ConsentEmail && online is not null && rng.Chance(0.85))
        {
            person.Accounts.Add(new Account { Source = "email", CustomerId = NewCustomerId("email"), Joined = online.Joined, IsPrimary = false });
        }
        if (rng.Chance(_o.SubscriptionRate))
        {
            var joined = person.Signup.AddDays(rng.Next(121));
            if (joined > _o.End) joined = _o.End;
            person.Accounts.Add(new Account { Source = "erp", CustomerId = NewCustomerId("erp"), Joined = joined, IsPrimary = false });
        }

        // Which deterministic keys each record carries. The primary record carries all; every other record carries its
        // login key (email for web/app/email/erp, loyalty or phone for pos, phone for the call centre), so it shares at
        // least one key with the primary, except the fuzzy-only record, which has only name, postcode and birth date.
        foreach (var a in person.Accounts)
        {
            if (a.FuzzyOnly)
            {
                a.EmittedEmail = a.Source is "web" or "app" || rng.Chance(0.5) ? person.WorkEmail : null;
                continue;
            }
            if (a.SecondInSource)
            {
                // Registered with the work address; the phone number is what gives the second account away.
                a.EmittedEmail = person.WorkEmail;
                a.EmitsPhone = true;
                continue;
            }
            switch (a.Source)
            {
                case "web" or "app":
                    a.EmittedEmail = person.Email;
                    a.EmitsPhone = a.IsPrimary || rng.Chance(0.8);
                    a.EmitsLoyalty = person.Loyalty is not null && (a.IsPrimary || rng.Chance(0.5));
                    break;
                case "pos":
                    a.EmittedEmail = a.IsPrimary || rng.Chance(0.6) ? person.Email : null;
                    a.EmitsLoyalty = person.Loyalty is not null;
                    a.EmitsPhone = a.IsPrimary || person.Loyalty is null || rng.Chance(0.5);
                    break;
                case "callcenter":
                    a.EmitsPhone = true;
                    a.EmittedEmail = rng.Chance(0.4) ? person.Email : null;
                    break;
                case "email":
                    a.EmittedEmail = person.Email;
                    break;
                case "erp":
                    a.EmittedEmail = person.Email;
                    a.EmitsPhone = rng.Chance(0.7);
                    break;
            }
        }
        _sourceRecords += person.Accounts.Count;
    }

    /// <summary>
    /// BG/NBD story: the first purchase on signup; while alive, purchases arrive as a Poisson process with rate λ
    /// (modulated by the season, by thinning); after each purchase the person drops out with probability p.
    /// Simulated past the export date to the end of the truth horizon.
    /// </summary>
    private List<DateTime> SimulatePurchases(Person person, Rng rng)
    {
        var start = person.Signup.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var times = new List<DateTime> { OrderTime(start, rng) };
        if (rng.Chance(person.DropoutProbability))
        {
            person.DropoutAt = times[0];
            return times;
        }
        double horizonDays = (_horizonEnd - start).TotalDays;
        double ratePerDay = person.Lambda / 365.25 * _seasonMax;
        double t = 0;
        while (ratePerDay > 0)
        {
            t += rng.Exponential(ratePerDay);
            if (t >= horizonDays) break;
            var day = start.AddDays(Math.Floor(t));
            if (!rng.Chance(_season[day.Month - 1] / _seasonMax)) continue;
            var at = OrderTime(day, rng);
            if (at > _horizonEnd) break;
            times.Add(at);
            if (rng.Chance(person.DropoutProbability))
            {
                person.DropoutAt = at;
                break;
            }
        }
        return times;
    }

    /// <summary>Orders are placed in the (US) daytime: 13:00–23:00 UTC, so local dates equal UTC dates in every source.</summary>
    private static DateTime OrderTime(DateTime day, Rng rng) => day.Date.AddHours(13).AddSeconds(rng.Next(10 * 3600));

    private void AssignSubscription(Person person, Rng rng)
    {
        var erp = person.Accounts.FirstOrDefault(a => a.Source == "erp");
        if (erp is null) return;
        var (plan, amount, period) = rng.Pick(Vocabulary.Plans);
        var start = erp.Joined;
        DateOnly? end = null;
        if (person.DropoutAt is DateTime dropout)
        {
            var cancel = DateOnly.FromDateTime(dropout).AddDays(rng.Next(61));
            if (cancel < start) cancel = start;
            if (cancel <= _o.End) end = cancel;
        }
        else if (rng.Chance(0.1) && _o.End.DayNumber - start.DayNumber > 30)
        {
            end = start.AddDays(rng.Between(30, _o.End.DayNumber - start.DayNumber));
        }
        person.Subscription = new Subscription(plan, amount, period, start, end);
    }

    private Order ComposeOrder(Person person, DateTime at, Rng rng)
    {
        var day = DateOnly.FromDateTime(at);
        var eligible = person.Accounts.Where(a => a.Source is "web" or "pos" or "app" && a.Joined <= day).ToList();
        Account account = eligible.Count switch
        {
            0 => person.Accounts[0],
            1 => eligible[0],
            _ => PickWeighted(eligible, rng),
        };
        string channel = account.Source switch
        {
            "web" => rng.Chance(0.3) ? "mobile_web" : "web",
            "pos" => "store",
            _ => "app",
        };

        int lineCount = Math.Min(8, 1 + rng.Poisson(1.4));
        var products = new List<Product>(lineCount);
        for (int attempt = 0; products.Count < lineCount && attempt < lineCount * 3; attempt++)
        {
            Product candidate;
            double r = rng.NextDouble();
            if (products.Count == 0 || r >= 0.55 && r < 0.9)
            {
                candidate = _catalogue.PickInCategory(person.Categories[rng.PickCumulative(person.CategoryCumulative)], rng);
            }
            else if (r < 0.55)
            {
                var anchor = products[rng.Next(products.Count)];
                candidate = _catalogue.Products[anchor.Complements[rng.Next(anchor.Complements.Length)]];
            }
            else
            {
                candidate = _catalogue.PickAny(rng);
            }
            if (!products.Contains(candidate)) products.Add(candidate);
        }

        // Gamma–Gamma order value, spread over the lines in proportion to list price × quantity.
        double value = rng.Gamma(_o.SpendShape, person.SpendRate);
        var quantities = products.Select(_ => rng.NextDouble() switch { < 0.8 => 1, < 0.95 => 2, _ => 3 }).ToArray();
        decimal listTotal = products.Select((p, i) => p.ListPrice * quantities[i]).Sum();
        decimal scale = (decimal)value / listTotal;
        var lines = new List<OrderLine>(products.Count);
        for (int i = 0; i < products.Count; i++)
        {
            decimal unit = Math.Max(0.50m, Math.Round(products[i].ListPrice * scale, 2));
            lines.Add(new OrderLine(i + 1, products[i], quantities[i], unit, rng.Chance(_o.ReturnRate)));
        }
        return new Order(NewOrderId(account.Source, person), account, channel, at, lines);
    }

    private static Account PickWeighted(List<Account> accounts, Rng rng)
    {
        double Weight(Account a) => (a.Source switch { "web" => 0.6, "app" => 0.5, _ => 0.4 }) * (a.IsPrimary ? 2 : 1);
        double target = rng.NextDouble() * accounts.Sum(Weight);
        foreach (var a in accounts)
        {
            target -= Weight(a);
            if (target < 0) return a;
        }
        return accounts[^1];
    }

    // ---------------------------------------------------------------------------------------------- ids

    private string NewCustomerId(string source)
    {
        long c = _customerCounters[source] = _customerCounters.GetValueOrDefault(source) + 1;
        // Scrambled counters: unique per source, but the id says nothing about the person or the order of creation.
        return source switch
        {
            "web" => string.Create(Invariant, $"W{(c * 48271 + 1_000_003) % 100_000_000:D8}"),
            "pos" => string.Create(Invariant, $"7{(c * 69621 + 13) % 1_000_000_000:D9}"),
            "app" => string.Create(Invariant, $"app_{unchecked((uint)(c * 2654435761L)):x8}"),
            "callcenter" => string.Create(Invariant, $"CC{(c * 16807 + 7) % 10_000_000:D7}"),
            "email" => string.Create(Invariant, $"sub-{(c * 40693 + 5) % 100_000_000:D8}"),
            _ => string.Create(Invariant, $"ERP-{(c * 3141 + 17) % 10_000_000:D7}"),
        };
    }

    private string NewOrderId(string source, Person person)
    {
        long c = _orderCounters[source] = _orderCounters.GetValueOrDefault(source) + 1;
        return source switch
        {
            "web" => string.Create(Invariant, $"WEB-{c:D9}"),
            "pos" => string.Create(Invariant, $"S{person.City + 1:D2}-{c:D8}"),
            _ => string.Create(Invariant, $"A-{unchecked((ulong)c * 0x9E3779B97F4A7C15UL):x16}"),
        };
    }

    // ---------------------------------------------------------------------------------------------- customers

    private void WriteCustomer(Person p, Account a, Noise noise, Rng mess)
    {
        // Fuzzy-only records and the primary record they must be matched to keep the evidence a matcher needs
        // (name, postcode, birth date); other records may lose those fields.
        bool keepEvidence = a.FuzzyOnly || a.IsPrimary;
        string? first = noise.Optional(noise.Text(p.FirstName), keep: keepEvidence);
        string? last = noise.Optional(noise.Text(p.LastName), keep: keepEvidence);
        DateOnly? birth = noise.Optional("x", keep: keepEvidence) is null ? null : noise.BirthDate(p.BirthDate);
        string? email = a.EmittedEmail is null ? null : noise.Email(a.EmittedEmail);
        string? loyalty = a.EmitsLoyalty ? p.Loyalty : null;
        bool bad = mess.Chance(_o.BadRowRate);

        for (int pass = 0; pass < (bad ? 2 : 1); pass++)
        {
            string? id = pass == 0 ? a.CustomerId : null;
            switch (a.Source)
            {
                case "web":
                {
                    var f = SourceFormats.Web;
                    var s = _webCustomers;
                    s.Field(id, first: true).Field(email).Field(a.EmitsPhone ? noise.Phone(p.Phone, 0) : null)
                        .Field(first).Field(last).Field(birth is DateOnly b ? f.FormatDate(b) : null)
                        .Field(noise.Optional(p.Gender == 'X' ? null : p.Gender.ToString()))
                        .Field(noise.Optional(noise.Street(p))).Field(noise.Optional(noise.Text(p.CityName)))
                        .Field(noise.Optional(noise.Rng.Chance(0.1) ? $"{p.Postcode}-{noise.Rng.Next(10_000):D4}" : p.Postcode, keep: keepEvidence))
                        .Field(noise.Optional(p.State)).Field(noise.Optional("US"))
                        .Field(f.FormatDate(a.Joined)).Field(loyalty)
                        .Field(f.FormatBool(p.ConsentEmail)).Field(f.FormatBool(p.ConsentSms));
                    Commit(s, pass);
                    break;
                }
                case "pos":
                {
                    var f = SourceFormats.Pos;
                    var s = _posCustomers;
                    // The till exported postcodes as numbers: leading zeros are lost (02116 → 2116).
                    s.Field(id, first: true).Field(email).Field(a.EmitsPhone ? noise.Phone(p.Phone, 1) : null)
                        .Field(first).Field(last).Field(birth is DateOnly b ? f.FormatDate(b) : null)
                        .Field(noise.Optional(noise.Street(p))).Field(noise.Optional(noise.Text(p.CityName)))
                        .Field(noise.Optional(p.Postcode.TrimStart('0'), keep: keepEvidence)).Field(loyalty)
                        .Field(f.FormatBool(p.ConsentSms)).Field(f.FormatDate(a.Joined));
                    Commit(s, pass);
                    break;
                }
                case "app":
                {
                    var f = SourceFormats.App;
                    var row = _appCustomers.Row;
                    bool firstProperty = true;
                    row.Append('{');
                    Json.Property(row, "customer_id", id, ref firstProperty);
                    Json.Property(row, "email", email, ref firstProperty);
                    Json.Property(row, "phone", a.EmitsPhone ? noise.Phone(p.Phone, 2) : null, ref firstProperty);
                    Json.Property(row, "first_name", first, ref firstProperty);
                    Json.Property(row, "last_name", last, ref firstProperty);
                    Json.Property(row, "birth_date", birth is DateOnly b ? f.FormatDate(b) : null, ref firstProperty);
                    Json.Property(row, "gender", noise.Optional(p.Gender switch { 'F' => "female", 'M' => "male", _ => "other" }), ref firstProperty);
                    Json.Property(row, "postcode", noise.Optional(p.Postcode, keep: keepEvidence), ref firstProperty);
                    Json.Property(row, "loyalty_id", loyalty?.ToLowerInvariant(), ref firstProperty);
                    Json.RawProperty(row, "consent_email", p.ConsentEmail ? "true" : "false", ref firstProperty);
                    Json.RawProperty(row, "consent_sms", p.ConsentSms ? "true" : "false", ref firstProperty);
                    Json.Property(row, "signup_date", f.FormatDate(a.Joined), ref firstProperty);
                    row.Append('}');
                    Commit(_appCustomers, pass);
                    break;
                }
                case "callcenter":
                {
                    var f = SourceFormats.CallCenter;
                    var s = _ccCustomers;
                    s.Field(id, first: true).Field(first).Field(last).Field(a.EmitsPhone ? noise.Phone(p.Phone, 3) : null)
                        .Field(email).Field(noise.Optional(noise.Street(p))).Field(noise.Optional(noise.Text(p.CityName)))
                        .Field(noise.Optional(p.State)).Field(noise.Optional(p.Postcode, keep: keepEvidence))
                        .Field(birth is DateOnly b ? f.FormatDate(b) : null);
                    Commit(s, pass);
                    break;
                }
                case "email":
                {
                    var f = SourceFormats.Email;
                    var s = _emailCustomers;
                    s.Field(id, first: true).Field(email).Field(noise.Optional(first)).Field(f.FormatBool(true)).Field(f.FormatDate(a.Joined));
                    Commit(s, pass);
                    break;
                }
                default:
                {
                    var f = SourceFormats.Erp;
                    var s = _erpCustomers;
                    var end = p.Subscription?.End;
                    s.Field(id, first: true).Field(email).Field(first).Field(last)
                        .Field(a.EmitsPhone ? noise.Phone(p.Phone, 4) : null).Field(f.FormatDate(a.Joined))
                        .Field(f.FormatBool(end is not null)).Field(end is DateOnly e ? f.FormatDate(e) : null);
                    Commit(s, pass);
                    break;
                }
            }
        }

        var shared = new List<string>(3);
        var others = p.Accounts.Where(o => o != a).ToList();
        if (a.EmittedEmail is not null && others.Any(o => o.EmittedEmail == a.EmittedEmail)) shared.Add("email");
        if (a.EmitsPhone && others.Any(o => o.EmitsPhone)) shared.Add("phone");
        if (a.EmitsLoyalty && others.Any(o => o.EmitsLoyalty)) shared.Add("loyalty");
        string link = others.Count == 0 ? "single" : shared.Count == 0 ? "fuzzy" : "deterministic";
        _truthCustomers.Write($"{a.Source},{a.CustomerId},{p.Id},{link},{string.Join('|', shared)}\n");
    }

    /// <summary>Pass 0 is the real record; pass 1 is the same record again without its customer id (an injected bad row).</summary>
    private static void Commit(DropFileSet set, int pass)
    {
        if (pass == 0) set.Commit(mayRepeat: false);
        else set.CommitBad("missing_customer_id");
    }

    // ---------------------------------------------------------------------------------------------- orders

    private static readonly string[] OrderDefects = ["invalid_date", "negative_quantity", "absurd_amount", "missing_customer_id", "malformed_quotes"];
    private static readonly string[] AppOrderDefects = ["invalid_date", "negative_amount", "absurd_amount", "missing_customer_id", "malformed_json"];

    private void WriteOrder(Order order, Rng mess)
    {
        foreach (var line in order.Lines)
        {
            WriteOrderLine(order, line, null);
            if (mess.Chance(_o.BadRowRate))
            {
                string kind = order.Account.Source == "app" ? mess.Pick(AppOrderDefects) : mess.Pick(OrderDefects);
                // A bad row carries its own order id, so it never collides with a real line's natural key.
                var bad = order with { OrderId = NewOrderIdFor(order) };
                WriteOrderLine(bad, line with { Line = 1 }, kind, mess);
            }
        }
    }

    private string NewOrderIdFor(Order order)
    {
        long c = _orderCounters[order.Account.Source] = _orderCounters[order.Account.Source] + 1;
        return order.Account.Source switch
        {
            "web" => string.Create(Invariant, $"WEB-{c:D9}"),
            "pos" => string.Create(Invariant, $"S00-{c:D8}"),
            _ => string.Create(Invariant, $"A-{unchecked((ulong)c * 0x9E3779B97F4A7C15UL):x16}"),
        };
    }

    private void WriteOrderLine(Order order, OrderLine line, string? defect, Rng? mess = null)
    {
        string? customerId = defect == "missing_customer_id" ? null : order.Account.CustomerId;
        int quantity = defect == "negative_quantity" ? -line.Quantity : line.Quantity;
        decimal unit = defect == "absurd_amount" ? 9_999_999.99m : line.UnitPrice;
        bool returned = defect is "negative_quantity" or "negative_amount" ? false : line.Returned;
        switch (order.Account.Source)
        {
            case "web":
            {
                var f = SourceFormats.Web;
                var s = _webOrders;
                s.Field(order.OrderId, first: true).Field(line.Line.ToString(Invariant)).Field(customerId)
                    .Field(defect == "invalid_date" ? InvalidTimestamp(f, mess!) : f.FormatTimestamp(order.At));
                if (defect == "malformed_quotes") s.Row.Append(',').Append('"').Append(line.Product.Id).Append("\"x");
                else s.Field(line.Product.Id);
                s.Field(quantity.ToString(Invariant)).Field(f.FormatDecimal(unit)).Field("USD").Field(order.Channel).Field(f.FormatBool(returned));
                Finish(s, defect);
                break;
            }
            case "pos":
            {
                var f = SourceFormats.Pos;
                var s = _posOrders;
                s.Field(order.OrderId, first: true).Field(line.Line.ToString(Invariant)).Field(customerId)
                    .Field(defect == "invalid_date" ? InvalidTimestamp(f, mess!) : f.FormatTimestamp(order.At));
                if (defect == "malformed_quotes") s.Row.Append(';').Append('"').Append(line.Product.Id).Append("\"x");
                else s.Field(line.Product.Id);
                s.Field(quantity.ToString(Invariant)).Field(f.FormatDecimal(unit)).Field(f.FormatBool(returned));
                Finish(s, defect);
                break;
            }
            default:
            {
                var f = SourceFormats.App;
                var row = _appOrders.Row;
                decimal amount = defect switch
                {
                    "absurd_amount" => 9_999_999.99m,
                    "negative_amount" => -line.Amount,
                    _ => line.Amount,
                };
                bool first = true;
                row.Append('{');
                Json.Property(row, "order_id", order.OrderId, ref first);
                Json.RawProperty(row, "line", line.Line.ToString(Invariant), ref first);
                Json.Property(row, "customer_id", customerId, ref first);
                Json.Property(row, "order_date", defect == "invalid_date" ? InvalidTimestamp(f, mess!) : f.FormatTimestamp(order.At), ref first);
                Json.Property(row, "product_id", line.Product.Id, ref first);
                Json.RawProperty(row, "amount", amount.ToString("0.00", Invariant), ref first);
                Json.Property(row, "channel", order.Channel, ref first);
                Json.RawProperty(row, "returned", returned ? "true" : "false", ref first);
                row.Append('}');
                if (defect == "malformed_json") row.Length = row.Length / 2;
                Finish(_appOrders, defect);
                break;
            }
        }
    }

    private static void Finish(DropFileSet set, string? defect)
    {
        if (defect is null) set.Commit();
        else set.CommitBad(defect);
    }

    /// <summary>A timestamp no calendar has, in the source's own style (Feb 30, month 13) or plain junk.</summary>
    private static string InvalidTimestamp(SourceFormat f, Rng rng)
    {
        int year = 2023 + rng.Next(3);
        string date = rng.Next(4) switch
        {
            0 => f.DateFormat.Replace("yyyy", $"{year}").Replace("MM", "02").Replace("dd", "30"),
            1 => f.DateFormat.Replace("yyyy", $"{year}").Replace("MM", "13").Replace("dd", "05"),
            2 => "n/a",
            _ => "0000-00-00",
        };
        return date.Length > 5 && !date.StartsWith('0') ? date + (f.JsonLines || f.Source == "web" ? "T10:15:00Z" : " 10:15") : date;
    }

    private void WriteFutureOrder(Person person, Order order)
    {
        foreach (var l in order.Lines)
        {
            _truthFuture.Write(string.Create(Invariant,
                $"{person.Id},{order.Account.Source},{order.Account.CustomerId},{order.OrderId},{l.Line},{order.At:yyyy-MM-dd'T'HH:mm:ss'Z'},{l.Product.Id},{l.Quantity},{l.UnitPrice:0.00},{l.Amount:0.00},{order.Channel},{(l.Returned ? "true" : "false")}\n"));
            _futureLines++;
        }
    }

    // ---------------------------------------------------------------------------------------------- events

    private readonly record struct Event(DateTime At, string Type, string? ProductId, int Value, string? Detail);

    private static readonly string[] EventDefects = ["invalid_date", "missing_customer_id"];

    private void WriteEvents(Person person, List<Order> orders, Rng rng, Rng mess)
    {
        var events = new List<Event>();
        foreach (var account in person.Accounts)
        {
            if (account.Source is not ("web" or "app" or "email" or "callcenter")) continue;
            events.Clear();
            var from = account.Joined.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            // Month by month, a Poisson number of sessions whose intensity follows the person's engagement and fades before dropout.
            for (var monthStart = new DateTime(from.Year, from.Month, 1, 0, 0, 0, DateTimeKind.Utc); monthStart <= _exportEnd; monthStart = monthStart.AddMonths(1))
            {
                var windowStart = monthStart < from ? from : monthStart;
                var windowEnd = monthStart.AddMonths(1) > _exportEnd ? _exportEnd : monthStart.AddMonths(1);
                double span = (windowEnd - windowStart).TotalSeconds;
                if (span <= 0) continue;
                double fraction = span / (monthStart.AddMonths(1) - monthStart).TotalSeconds;
                var mid = windowStart.AddSeconds(span / 2);
                double activity = person.ActivityAt(mid);
                DateTime RandomTime() => windowStart.AddSeconds(rng.NextDouble() * span);
                switch (account.Source)
                {
                    case "web":
                    {
                        int sessions = rng.Poisson(0.45 * person.Engagement * activity * fraction);
                        for (int k = 0; k < sessions; k++) Session(person, RandomTime(), "visit", events, rng);
                        break;
                    }
                    case "app":
                    {
                        int sessions = rng.Poisson(0.6 * person.Engagement * activity * fraction);
                        for (int k = 0; k < sessions; k++) Session(person, RandomTime(), "app_open", events, rng);
                        break;
                    }
                    case "email":
                    {
                        int opens = rng.Poisson(1.2 * (0.5 + 0.5 * person.Engagement) * activity * fraction);
                        string campaign = string.Create(Invariant, $"cmp-{monthStart:yyyyMM}-{1 + rng.Next(4)}");
                        for (int k = 0; k < opens; k++)
                        {
                            var at = RandomTime();
                            events.Add(new Event(at, "email_open", null, 0, campaign));
                            if (rng.Chance(0.25)) events.Add(new Event(Min(at.AddSeconds(rng.Between(5, 600))), "email_click", null, 0, campaign));
                        }
                        break;
                    }
                    default:
                    {
                        // Calls come more often when things are going wrong, in the months before dropout.
                        double rate = (0.05 + (person.InDecline(mid) ? 0.3 : 0)) * fraction;
                        int calls = rng.Poisson(rate);
                        for (int k = 0; k < calls; k++)
                        {
                            string reason = person.InDecline(mid) && rng.Chance(0.5) ? "complaint" : rng.Pick(CallReasons);
                            events.Add(new Event(RandomTime(), "call", null, rng.Between(60, 1200), reason));
                        }
                        break;
                    }
                }
            }
            // Products viewed just before they were bought in this channel: co-view structure for recommenders.
            if (account.Source is "web" or "app")
            {
                foreach (var order in orders)
                {
                    if (order.Account != account || !rng.Chance(0.6)) continue;
                    foreach (var line in order.Lines.Take(3))
                    {
                        events.Add(new Event(order.At.AddSeconds(-rng.Between(60, 3600)), "view", line.Product.Id, 0, null));
                    }
                }
            }
            events.Sort((x, y) => x.At.CompareTo(y.At));
            foreach (var e in events)
            {
                WriteEvent(account, e, null, mess);
                if (mess.Chance(_o.BadRowRate)) WriteEvent(account, e, mess.Pick(EventDefects), mess);
            }
        }
    }

    private DateTime Min(DateTime at) => at > _exportEnd ? _exportEnd : at;

    private void Session(Person person, DateTime at, string opening, List<Event> events, Rng rng)
    {
        events.Add(new Event(at, opening, null, 0, null));
        int views = rng.Between(opening == "visit" ? 1 : 0, 3);
        Product? last = null;
        for (int v = 0; v < views; v++)
        {
            at = Min(at.AddSeconds(rng.Between(10, 300)));
            last = last is not null && rng.Chance(0.4)
                ? _catalogue.Products[last.Complements[rng.Next(last.Complements.Length)]]
                : _catalogue.PickInCategory(person.Categories[rng.PickCumulative(person.CategoryCumulative)], rng);
            events.Add(new Event(at, "view", last.Id, 0, null));
        }
        if (last is not null && rng.Chance(0.3)) events.Add(new Event(Min(at.AddSeconds(rng.Between(5, 120))), "click", last.Id, 0, null));
    }

    private void WriteEvent(Account account, Event e, string? defect, Rng mess)
    {
        string? customerId = defect == "missing_customer_id" ? null : account.CustomerId;
        switch (account.Source)
        {
            case "web":
            {
                var f = SourceFormats.Web;
                _webEvents.Field(NextEventId("we"), first: true).Field(customerId)
                    .Field(defect == "invalid_date" ? InvalidTimestamp(f, mess) : f.FormatTimestamp(e.At))
                    .Field(e.Type).Field(e.ProductId).Field("web");
                Finish(_webEvents, defect);
                break;
            }
            case "app":
            {
                var f = SourceFormats.App;
                var row = _appEvents.Row;
                bool first = true;
                row.Append('{');
                Json.Property(row, "event_id", NextEventId("ae"), ref first);
                Json.Property(row, "customer_id", customerId, ref first);
                Json.Property(row, "timestamp", defect == "invalid_date" ? InvalidTimestamp(f, mess) : f.FormatTimestamp(e.At), ref first);
                Json.Property(row, "type", e.Type, ref first);
                Json.Property(row, "product_id", e.ProductId, ref first);
                Json.Property(row, "channel", "app", ref first);
                row.Append('}');
                Finish(_appEvents, defect);
                break;
            }
            case "email":
            {
                var f = SourceFormats.Email;
                _emailEvents.Field(customerId, first: true)
                    .Field(defect == "invalid_date" ? InvalidTimestamp(f, mess) : f.FormatTimestamp(e.At))
                    .Field(e.Type).Field(e.Detail);
                Finish(_emailEvents, defect);
                break;
            }
            default:
            {
                var f = SourceFormats.CallCenter;
                _ccEvents.Field(NextEventId("call"), first: true).Field(customerId)
                    .Field(defect == "invalid_date" ? InvalidTimestamp(f, mess) : f.FormatTimestamp(e.At))
                    .Field(e.Type).Field(e.Value.ToString(Invariant)).Field(e.Detail);
                Finish(_ccEvents, defect);
                break;
            }
        }
    }

    private string NextEventId(string prefix) => string.Create(Invariant, $"{prefix}-{++_eventCounter:D10}");

    // ---------------------------------------------------------------------------------------------- feedback, subscriptions

    private void WriteFeedback(Person person, List<Order> orders, Rng rng, Rng mess)
    {
        var web = person.Accounts.FirstOrDefault(a => a.Source == "web");
        if (web is null) return;
        foreach (var order in orders)
        {
            if (!rng.Chance(_o.FeedbackRate)) continue;
            var at = order.At.AddSeconds(rng.Between(86_400, 14 * 86_400));
            if (at > _exportEnd) continue;
            bool anyReturn = order.Lines.Any(l => l.Returned);
            int rating = Math.Clamp((int)Math.Round(person.Satisfaction + 0.9 * rng.Normal()) - (anyReturn ? 1 : 0), 1, 5);
            string text = FeedbackText(rating, order.Lines[0].Product, rng);
            string? shownRating = rng.Chance(0.1) ? null : rating.ToString(Invariant);
            string channel = rng.Chance(0.7) ? "web" : "email_survey";
            var f = SourceFormats.Web;
            string id = string.Create(Invariant, $"fb-{++_feedbackCounter:D8}");
            _webFeedback.Field(id, first: true).Field(web.CustomerId).Field(f.FormatTimestamp(at)).Field(shownRating).Field(text).Field(channel);
            _webFeedback.Commit();
            if (mess.Chance(_o.BadRowRate))
            {
                string kind = mess.Pick(EventDefects);
                string badId = string.Create(Invariant, $"fb-{++_feedbackCounter:D8}");
                _webFeedback.Field(badId, first: true).Field(kind == "missing_customer_id" ? null : web.CustomerId)
                    .Field(kind == "invalid_date" ? InvalidTimestamp(f, mess) : f.FormatTimestamp(at)).Field(shownRating).Field(text).Field(channel);
                _webFeedback.CommitBad(kind);
            }
        }
    }

    /// <summary>One or two phrases matching the rating; one text in ten borrows a neighbouring rating's tone, as people do.</summary>
    internal static string FeedbackText(int rating, Product product, Rng rng)
    {
        int tone = rng.Chance(0.1) ? Math.Clamp(rating + (rng.Chance(0.5) ? 1 : -1), 1, 5) : rating;
        string[] pool = tone switch { <= 2 => Vocabulary.NegativePhrases, 3 => Vocabulary.MixedPhrases, _ => Vocabulary.PositivePhrases };
        string noun = product.CategoryName.ToLowerInvariant().TrimEnd('s');
        string first = rng.Pick(pool).Replace("{p}", noun);
        if (!rng.Chance(0.5)) return first;
        string second = rng.Pick(pool).Replace("{p}", noun);
        if (second == first) return first;
        return first + (rng.Chance(0.1) ? "\n" : " ") + second;
    }

    private void WriteSubscription(Person person, Rng mess)
    {
        if (person.Subscription is not { } sub) return;
        var erp = person.Accounts.First(a => a.Source == "erp");
        var f = SourceFormats.Erp;
        _erpSubscriptions.Field(erp.CustomerId, first: true).Field(sub.Plan).Field(f.FormatDate(sub.Start))
            .Field(sub.End is DateOnly e ? f.FormatDate(e) : null).Field(f.FormatDecimal(sub.Amount)).Field(sub.Period);
        _erpSubscriptions.Commit(mayRepeat: false);
        if (mess.Chance(_o.BadRowRate))
        {
            _erpSubscriptions.Field(erp.CustomerId, first: true).Field(sub.Plan).Field(InvalidTimestamp(f, mess).Split(' ')[0])
                .Field(null).Field(f.FormatDecimal(sub.Amount)).Field(sub.Period);
            _erpSubscriptions.CommitBad("invalid_date");
        }
    }

    // ---------------------------------------------------------------------------------------------- truth side files

    private void WriteProducts()
    {
        using var writer = TruthWriter("products.csv", "product_id,name,category,group,list_price,complements");
        foreach (var p in _catalogue.Products)
        {
            writer.Write(Csv.Row(',', p.Id, p.Name, p.CategoryName, p.Group, p.ListPrice.ToString("0.00", Invariant),
                string.Join('|', p.Complements.Select(c => _catalogue.Products[c].Id))));
            writer.Write('\n');
        }
    }

    private void WriteSources()
    {
        using var stream = File.Create(Path.Combine(_root, "truth", "sources.json"));
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartArray();
        foreach (var f in SourceFormats.All)
        {
            json.WriteStartObject();
            json.WriteString("source", f.Source);
            json.WriteString("format", f.JsonLines ? "jsonl" : "csv");
            if (!f.JsonLines) json.WriteString("separator", f.Separator.ToString());
            json.WriteString("newline", f.NewLine == "\r\n" ? "CRLF" : "LF");
            json.WriteBoolean("bom", f.Bom);
            json.WriteString("dateFormat", f.DateFormat);
            json.WriteString("timestampFormat", f.TimestampFormat);
            json.WriteString("utcOffset", f.UtcOffset.ToString(@"\-hh\:mm", Invariant).Replace("-00:00", "+00:00"));
            json.WriteString("decimalSeparator", f.DecimalSeparator.ToString());
            json.WriteString("true", f.TrueText);
            json.WriteString("false", f.FalseText);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var set in _sets) set.Dispose();
        _truthPeople.Dispose();
        _truthCustomers.Dispose();
        _truthFuture.Dispose();
    }

    public GenerationSummary Summarise(double seconds)
    {
        Dispose();
        var files = _sets.SelectMany(s => s.Files).ToList();
        WriteInjected(files);

        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var clean = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var bad = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            rows[file.Entity] = rows.GetValueOrDefault(file.Entity) + file.Rows;
            clean[file.Entity] = clean.GetValueOrDefault(file.Entity) + file.CleanRows;
            foreach (var (kind, n) in file.BadRows) bad[kind] = bad.GetValueOrDefault(kind) + n;
        }
        var truth = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["people"] = "truth/people.csv",
            ["customers"] = "truth/customers.csv",
            ["futureOrders"] = "truth/future_orders.csv",
            ["products"] = "truth/products.csv",
            ["sources"] = "truth/sources.json",
            ["injected"] = "truth/injected.json",
        };
        long truthBytes = truth.Values.Sum(t => new FileInfo(Path.Combine(_root, t)).Length);
        return new GenerationSummary(_root, _o.Seed, _o.Customers, _o.Start, _o.End, files, rows, clean, bad,
            files.Sum(f => f.DuplicateRows), _sourceRecords, _futureLines, truth, files.Sum(f => f.Bytes) + truthBytes, Math.Round(seconds, 3));
    }

    /// <summary>truth/injected.json: per file, rows written, clean rows, duplicates re-sent and bad rows by kind.</summary>
    private void WriteInjected(List<GeneratedFile> files)
    {
        using var stream = File.Create(Path.Combine(_root, "truth", "injected.json"));
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteNumber("seed", _o.Seed);
        json.WriteNumber("customers", _o.Customers);
        json.WriteNumber("badRowRate", _o.BadRowRate);
        json.WriteNumber("duplicateRowRate", _o.DuplicateRowRate);
        var totals = new SortedDictionary<string, long>(StringComparer.Ordinal);
        json.WriteStartArray("files");
        foreach (var file in files)
        {
            json.WriteStartObject();
            json.WriteString("path", file.Path);
            json.WriteString("source", file.Source);
            json.WriteString("entity", file.Entity);
            json.WriteNumber("rows", file.Rows);
            json.WriteNumber("cleanRows", file.CleanRows);
            json.WriteNumber("duplicateRows", file.DuplicateRows);
            json.WriteStartObject("badRows");
            foreach (var (kind, n) in file.BadRows)
            {
                json.WriteNumber(kind, n);
                totals[kind] = totals.GetValueOrDefault(kind) + n;
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartObject("totals");
        json.WriteNumber("rows", files.Sum(f => f.Rows));
        json.WriteNumber("cleanRows", files.Sum(f => f.CleanRows));
        json.WriteNumber("duplicateRows", files.Sum(f => f.DuplicateRows));
        json.WriteStartObject("badRows");
        foreach (var (kind, n) in totals) json.WriteNumber(kind, n);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
