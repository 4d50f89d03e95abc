namespace iCrm.DataGen;

/// <summary>Word lists behind the synthetic people, places, products and feedback. Fictional but plausible (US shop).</summary>
internal static class Vocabulary
{
    public static readonly string[] FemaleFirstNames =
    [
        "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
        "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
        "Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia",
        "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Emma", "Nicole", "Helen",
        "Samantha", "Katherine", "Christine", "Debra", "Rachel", "Carolyn", "Janet", "Catherine", "Maria", "Heather",
        "Olivia", "Sophia", "Isabella", "Mia", "Charlotte", "Harper", "Zoe", "Chloe", "Grace", "Lucia",
    ];

    public static readonly string[] MaleFirstNames =
    [
        "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Charles",
        "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
        "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward", "Jason", "Jeffrey", "Ryan",
        "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
        "Benjamin", "Samuel", "Gregory", "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry",
        "Liam", "Noah", "Ethan", "Lucas", "Mason", "Logan", "Elijah", "Aiden", "Carlos", "Mateo",
    ];

    public static readonly string[] LastNames =
    [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
        "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
        "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
        "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
        "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
        "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
        "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
        "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
        "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
        "O'Brien", "O'Connor", "McDonald", "MacKenzie", "Van Dyke", "De La Cruz", "Smith-Jones", "Nowak", "Schmidt", "Müller",
    ];

    public static readonly string[] StreetNames =
    [
        "Maple", "Oak", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Main",
        "Sunset", "Lincoln", "Jackson", "Church", "Highland", "River", "Spring", "Meadow", "Forest", "Willow",
        "Cherry", "Walnut", "Chestnut", "Madison", "Franklin", "Jefferson", "Adams", "Ridge", "Valley", "Lakeview",
    ];

    public static readonly (string Long, string Short)[] StreetTypes =
    [
        ("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Lane", "Ln"), ("Boulevard", "Blvd"), ("Court", "Ct"),
    ];

    /// <summary>City, state, ZIP prefix (3 digits, some with a leading zero), area codes.</summary>
    public static readonly (string City, string State, string ZipPrefix, string[] AreaCodes)[] Cities =
    [
        ("New York", "NY", "100", ["212", "646", "917"]),
        ("Brooklyn", "NY", "112", ["718", "347"]),
        ("Los Angeles", "CA", "900", ["213", "310", "323"]),
        ("San Francisco", "CA", "941", ["415", "628"]),
        ("San Diego", "CA", "921", ["619", "858"]),
        ("Chicago", "IL", "606", ["312", "773"]),
        ("Houston", "TX", "770", ["713", "832"]),
        ("Austin", "TX", "787", ["512", "737"]),
        ("Dallas", "TX", "752", ["214", "469"]),
        ("Phoenix", "AZ", "850", ["602", "480"]),
        ("Philadelphia", "PA", "191", ["215", "267"]),
        ("Pittsburgh", "PA", "152", ["412"]),
        ("Seattle", "WA", "981", ["206", "425"]),
        ("Portland", "OR", "972", ["503", "971"]),
        ("Denver", "CO", "802", ["303", "720"]),
        ("Boston", "MA", "021", ["617", "857"]),
        ("Cambridge", "MA", "021", ["617"]),
        ("Newark", "NJ", "071", ["973", "862"]),
        ("Jersey City", "NJ", "073", ["201", "551"]),
        ("Hartford", "CT", "061", ["860"]),
        ("Providence", "RI", "029", ["401"]),
        ("Atlanta", "GA", "303", ["404", "678"]),
        ("Miami", "FL", "331", ["305", "786"]),
        ("Orlando", "FL", "328", ["407", "321"]),
        ("Tampa", "FL", "336", ["813"]),
        ("Charlotte", "NC", "282", ["704", "980"]),
        ("Nashville", "TN", "372", ["615", "629"]),
        ("Detroit", "MI", "482", ["313"]),
        ("Minneapolis", "MN", "554", ["612"]),
        ("St. Louis", "MO", "631", ["314"]),
        ("New Orleans", "LA", "701", ["504"]),
        ("Las Vegas", "NV", "891", ["702", "725"]),
        ("Salt Lake City", "UT", "841", ["801", "385"]),
        ("Columbus", "OH", "432", ["614"]),
        ("Cleveland", "OH", "441", ["216"]),
        ("Baltimore", "MD", "212", ["410", "443"]),
        ("Richmond", "VA", "232", ["804"]),
        ("Albuquerque", "NM", "871", ["505"]),
        ("Kansas City", "MO", "641", ["816"]),
        ("Milwaukee", "WI", "532", ["414"]),
    ];

    public static readonly string[] ConsumerDomains =
        ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "proton.me", "comcast.net"];

    /// <summary>Work addresses for the "fuzzy only" records: never a consumer domain, so never someone's primary email.</summary>
    public static readonly string[] WorkDomains =
        ["acme-corp.com", "globex.com", "initech.com", "umbrella-co.com", "hooli.com", "stark-ind.com", "wayne-ent.com"];

    /// <summary>Affinity groups: people prefer categories in one or two groups, and products co-sell within a group.</summary>
    public static readonly (string Group, string[] Categories, decimal BasePrice)[] CategoryGroups =
    [
        ("Coffee", ["Coffee Beans", "Grinders", "Mugs", "Espresso Machines"], 25m),
        ("Running", ["Running Shoes", "Sports Socks", "Water Bottles", "Fitness Trackers"], 40m),
        ("Baby", ["Diapers", "Baby Food", "Toys", "Strollers"], 30m),
        ("Gaming", ["Video Games", "Controllers", "Headsets", "Gaming Chairs"], 55m),
        ("Kitchen", ["Cookware", "Knives", "Cutting Boards", "Spices"], 35m),
        ("Garden", ["Seeds", "Garden Tools", "Planters", "Fertiliser"], 20m),
        ("Books", ["Fiction", "Cookbooks", "Children's Books", "Notebooks"], 15m),
        ("Beauty", ["Skincare", "Makeup", "Fragrance", "Hair Care"], 28m),
    ];

    public static readonly string[] ProductAdjectives =
        ["Classic", "Premium", "Eco", "Pro", "Mini", "Deluxe", "Essential", "Ultra", "Everyday", "Signature", "Organic", "Compact"];

    /// <summary>Seasonality of purchases by month (Jan..Dec); Nov/Dec peak for the holidays.</summary>
    public static readonly double[] MonthlySeasonality = [0.80, 0.78, 0.90, 0.92, 0.98, 0.95, 0.92, 0.97, 0.95, 1.02, 1.45, 1.86];

    // Feedback text follows the rating: 1–2 negative phrases, 3 mixed, 4–5 positive. Some phrases carry commas,
    // quotes and the odd newline so the CSV writer and the readers are exercised.
    public static readonly string[] NegativePhrases =
    [
        "Terrible experience, the {p} arrived broken.",
        "Very disappointed with the {p}.",
        "Awful customer service, nobody answered my emails.",
        "The {p} was a waste of money.",
        "Delivery was late again and the box was damaged.",
        "Poor quality, it stopped working after a week.",
        "Never again. I asked for a refund.",
        "The so-called \"premium\" {p} is cheap plastic.",
        "Rude staff at the store, terrible attitude.",
        "Worst purchase this year; disappointed and annoyed.",
    ];

    public static readonly string[] MixedPhrases =
    [
        "The {p} is okay, but delivery took a while.",
        "Average quality for the price.",
        "Decent {p}, nothing special.",
        "It works, but the instructions could be better.",
        "Some items were fine, others not so much.",
        "Okay overall; the packaging was a bit much.",
        "Not bad, not great. The {p} is average.",
    ];

    public static readonly string[] PositivePhrases =
    [
        "Great {p}, I love it!",
        "Excellent quality and fast delivery.",
        "Highly recommend this shop, friendly staff.",
        "Perfect, exactly as described.",
        "Love the {p}, will buy again.",
        "Great value, my family is very happy with it.",
        "Excellent service, the \"express\" shipping really was express.",
        "Fantastic {p}; great quality, great price.",
        "Happy customer for years, always great.",
    ];

    public static readonly (string Plan, decimal Amount, string Period)[] Plans =
    [
        ("basic", 9.99m, "monthly"), ("plus", 19.99m, "monthly"), ("premium", 199.00m, "annual"),
    ];
}
