using iCrm.Core.Profiles;
using iCrm.Ml.Tests.Churn;
using iCrm.Ml.Training;
using iCrm.Testing;

namespace iCrm.Ml.Tests.Training;

/// <summary>
/// Small worlds for training tests: the synthetic churn customers (Poisson buyers who silently drop out) plus rated
/// feedback whose words follow the rating, and helpers to put them in an in-memory store and build a runner.
/// </summary>
public static class TrainingWorld
{
    public static DateTimeOffset AsOf => SyntheticCustomers.DataEnd;

    private static readonly string[] Happy = ["great service, fast delivery", "love it, will buy again", "excellent quality and friendly staff", "very happy with my order", "perfect fit, recommended"];
    private static readonly string[] Unhappy = ["terrible, arrived broken", "awful support, never again", "late delivery and rude staff", "poor quality, asked for a refund", "disappointed, the item was wrong"];

    public static List<CustomerProfile> Profiles(int count = 1_200, int seed = 7)
    {
        var profiles = SyntheticCustomers.Generate(count, seed);
        var rng = new Random(seed + 1);
        foreach (var p in profiles)
        {
            var satisfaction = int.Parse(p.Attributes["satisfaction"], System.Globalization.CultureInfo.InvariantCulture);
            foreach (var order in p.Orders.Where(o => o.Line == 1 && rng.NextDouble() < 0.25).ToList())
            {
                var rating = Math.Clamp((int)Math.Round(satisfaction / 2.0 + rng.NextDouble() * 2 - 1), 1, 5);
                var words = rating >= 4 ? Happy : rating <= 2 ? Unhappy : [.. Happy, .. Unhappy];
                p.Feedback.Add(new FeedbackItem
                {
                    Timestamp = order.Date.AddDays(2),
                    Rating = rng.NextDouble() < 0.9 ? rating : null,
                    Channel = "web",
                    Text = words[rng.Next(words.Length)],
                });
            }
            p.Feedback.RemoveAll(f => f.Timestamp >= AsOf);
        }
        return profiles;
    }

    public static async Task<InMemoryCustomerStore> StoreAsync(IEnumerable<CustomerProfile> profiles)
    {
        var store = new InMemoryCustomerStore();
        foreach (var p in profiles)
        {
            await store.TryCreateAsync(p);
        }
        return store;
    }

    public static TrainingRunner Runner(InMemoryCustomerStore store, InMemoryModelRegistry registry, IEnumerable<(IModelTrainer, IModelLoader)> kinds, TimeProvider? time = null)
    {
        var list = kinds.ToList();
        time ??= TimeProvider.System;
        var champions = new ChampionModels(registry, list.Select(k => k.Item2), time) { RefreshInterval = TimeSpan.Zero };
        return new TrainingRunner(store, registry, registry, registry, list.Select(k => k.Item1), list.Select(k => k.Item2), champions, time);
    }

    public static ChampionModels Champions(InMemoryModelRegistry registry, IEnumerable<IModelLoader> loaders) =>
        new(registry, loaders, TimeProvider.System) { RefreshInterval = TimeSpan.Zero };

    public static iCrm.Ml.Registry.TrainingRunRecord Run(string? id = null, params string[] kinds) => new()
    {
        RunId = id ?? Guid.NewGuid().ToString("N"),
        Trigger = "test",
        RequestedAt = AsOf,
        AsOf = AsOf,
        Kinds = [.. kinds],
    };
}
