namespace iCrm.DataGen;

public sealed record Product(int Index, string Id, string Name, int Category, string CategoryName, string Group, decimal ListPrice, int[] Complements);

/// <summary>
/// Products in categories in affinity groups. Popularity within a category is Zipf-like, and each product has a few
/// complements in other categories of its group, bought together often enough for a recommender to learn.
/// </summary>
public sealed class ProductCatalogue
{
    private readonly double[][] _categoryCumulative;
    private readonly int[][] _categoryProducts;
    private readonly double[] _globalCumulative;

    public ProductCatalogue(int productCount, int seed)
    {
        var rng = Rng.For(seed, 0, 100);
        var categories = new List<(string Name, string Group, int GroupIndex, decimal BasePrice)>();
        for (int g = 0; g < Vocabulary.CategoryGroups.Length; g++)
        {
            var (group, names, basePrice) = Vocabulary.CategoryGroups[g];
            foreach (string name in names) categories.Add((name, group, g, basePrice));
        }
        CategoryNames = categories.Select(c => c.Name).ToArray();
        CategoryGroup = categories.Select(c => c.GroupIndex).ToArray();

        var members = categories.Select(_ => new List<int>()).ToArray();
        var products = new Product[Math.Max(productCount, categories.Count)];
        for (int i = 0; i < products.Length; i++)
        {
            int category = i % categories.Count;
            var c = categories[category];
            // Log-normal-ish prices around the category's base price.
            decimal price = Math.Round(c.BasePrice * (decimal)Math.Exp(0.6 * rng.Normal()), 2);
            if (price < 1.99m) price = 1.99m;
            string name = $"{rng.Pick(Vocabulary.ProductAdjectives)} {c.Name.TrimEnd('s')} {1 + members[category].Count}";
            products[i] = new Product(i, $"SKU-{i + 1:D5}", name, category, c.Name, c.Group, price, []);
            members[category].Add(i);
        }
        _categoryProducts = members.Select(m => m.ToArray()).ToArray();
        _categoryCumulative = _categoryProducts.Select(m => Cumulative(m.Length)).ToArray();

        // Complements: 3 products from other categories of the same group, biased to popular ones.
        for (int i = 0; i < products.Length; i++)
        {
            var p = products[i];
            var sameGroup = Enumerable.Range(0, categories.Count).Where(k => CategoryGroup[k] == CategoryGroup[p.Category] && k != p.Category).ToArray();
            var complements = new int[3];
            for (int k = 0; k < complements.Length; k++)
            {
                int category = sameGroup[rng.Next(sameGroup.Length)];
                complements[k] = _categoryProducts[category][rng.PickCumulative(_categoryCumulative[category])];
            }
            products[i] = p with { Complements = complements };
        }
        Products = products;
        _globalCumulative = Cumulative(products.Length);
    }

    public IReadOnlyList<Product> Products { get; }
    public string[] CategoryNames { get; }
    public int[] CategoryGroup { get; }
    public int CategoryCount => CategoryNames.Length;

    public Product PickInCategory(int category, Rng rng) =>
        Products[_categoryProducts[category][rng.PickCumulative(_categoryCumulative[category])]];

    public Product PickAny(Rng rng) => Products[rng.PickCumulative(_globalCumulative)];

    private static double[] Cumulative(int count)
    {
        var cumulative = new double[count];
        double total = 0;
        for (int rank = 0; rank < count; rank++)
        {
            total += 1.0 / Math.Pow(rank + 1, 0.8);
            cumulative[rank] = total;
        }
        return cumulative;
    }
}
