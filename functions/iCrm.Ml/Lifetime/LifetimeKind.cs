using System.Diagnostics;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Lifetime;

/// <summary>
/// The CLV model kind. Evaluation: fit on the history before asOf − <see cref="HoldoutDays"/>, predict purchases in the
/// holdout, compare with what happened and with the naive baseline (historical rate). The shipped model is refitted on
/// all history up to asOf. Promotion: mean absolute error of holdout purchases, lower is better, 2 % relative tolerance.
/// </summary>
public sealed class LifetimeKind(int holdoutDays = 182, double monthlyDiscountRate = 0.01) : IModelTrainer, IModelLoader
{
    private const string Entry = "clv.json";

    public int HoldoutDays { get; } = holdoutDays;

    public string Kind => ModelKinds.Clv;

    public PromotionRule Promotion { get; } = new(0.02, Relative: true);

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var profiles = snapshot.Profiles.Where(p => p.MergedInto is null).ToList();
        var cutoff = snapshot.AsOf.AddDays(-HoldoutDays);
        var observations = LifetimeTrainer.FromProfiles(profiles, cutoff, snapshot.AsOf);
        if (observations.Count(o => o.Summary.Frequency > 0) < 20)
        {
            throw new NotEnoughDataException($"CLV needs at least 20 repeat buyers before {cutoff:yyyy-MM-dd}; found {observations.Count(o => o.Summary.Frequency > 0)}.");
        }
        var evaluated = LifetimeTrainer.TrainAndEvaluate(observations, HoldoutDays / 7.0, monthlyDiscountRate);
        var m = evaluated.Holdout!;
        cancellationToken.ThrowIfCancellationRequested();
        var current = profiles.Select(p => CustomerSummary.FromProfile(p, snapshot.AsOf)).OfType<CustomerSummary>().ToList();
        var final = LifetimeTrainer.Train(current, monthlyDiscountRate);
        var model = final.Model;
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "Customer lifetime value: BG/NBD gives expected purchases and the probability the customer is still active; " +
                $"Gamma-Gamma gives spend per purchase; value = discounted expected spend over {model.HorizonMonths} months (revenue, not margin).",
            Algorithm = "BG/NBD + Gamma-Gamma, maximum likelihood (MathNet BFGS)",
            PromotionMetric = "purchases_mae",
            PromotionValue = m.PurchasesMae,
            HigherIsBetter = false,
            Metrics =
            {
                ["purchases_mae"] = ModelCards.Round(m.PurchasesMae),
                ["spend_mae"] = ModelCards.Round(m.SpendMae, 2),
                ["predicted_purchases_total"] = Math.Round(m.PredictedPurchasesTotal, 1),
                ["actual_purchases_total"] = m.ActualPurchasesTotal,
                ["holdout_weeks"] = Math.Round(m.HorizonWeeks, 2),
            },
            Baselines =
            {
                ["historical_rate"] = new Dictionary<string, double>
                {
                    ["purchases_mae"] = ModelCards.Round(m.PurchasesMaeNaive),
                    ["spend_mae"] = ModelCards.Round(m.SpendMaeNaive, 2),
                },
            },
            FeatureSchema =
            [
                new("frequency", "integer", "repeat purchase days"),
                new("recency", "weeks", "weeks from first to last purchase"),
                new("age", "weeks", "weeks from first purchase to the scoring date"),
                new("monetary_value", "currency", "average spend per repeat purchase"),
            ],
            TrainingWindowStart = FirstPurchase(profiles),
            Cutoff = cutoff,
            RowCounts =
            {
                ["profiles"] = profiles.Count,
                ["holdout_customers"] = m.Customers,
                ["final_fit_customers"] = current.Count,
                ["repeat_buyers"] = current.Count(c => c.Frequency > 0),
            },
            Parameters = Parameters(model),
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            Details = new JsonObject
            {
                ["timeUnit"] = model.TimeUnit,
                ["bgNbdLogLikelihood"] = Math.Round(model.Purchases.LogLikelihood, 2),
                ["gammaGammaLogLikelihood"] = model.Spend is null ? null : Math.Round(model.Spend.LogLikelihood, 2),
                ["evaluation"] = $"fitted on history before {cutoff:yyyy-MM-dd}, predicted purchase days in the {HoldoutDays} days after; shipped model refitted on all history to {snapshot.AsOf:yyyy-MM-dd}",
                ["baseline"] = "historical rate: repeat purchases (and spend) per week so far × holdout weeks",
            },
        };
        return Task.FromResult(new TrainedModel(card, ModelCards.JsonBundle(Entry, model)));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card)
    {
        var model = ModelCards.ReadJsonBundle<LifetimeValueModel>(bundle, Entry);
        if (!double.IsFinite(model.Purchases.R) || model.Purchases.R <= 0)
        {
            throw new InvalidDataException("CLV bundle has unusable BG/NBD parameters.");
        }
        return new LifetimeProfileScorer(card.Version, model);
    }

    private static DateTimeOffset? FirstPurchase(List<CustomerProfile> profiles)
    {
        DateTimeOffset? first = null;
        foreach (var p in profiles)
        {
            if (p.Orders.Count > 0 && (first is null || p.Orders[0].Date < first))
            {
                first = p.Orders[0].Date; // the order log is kept oldest first
            }
        }
        return first;
    }

    private static Dictionary<string, string> Parameters(LifetimeValueModel model)
    {
        static string F(double v) => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture);
        var p = new Dictionary<string, string>
        {
            ["bgnbd_r"] = F(model.Purchases.R),
            ["bgnbd_alpha"] = F(model.Purchases.Alpha),
            ["bgnbd_a"] = F(model.Purchases.A),
            ["bgnbd_b"] = F(model.Purchases.B),
            ["monthly_discount_rate"] = F(model.MonthlyDiscountRate),
            ["horizon_months"] = model.HorizonMonths.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["time_unit"] = model.TimeUnit,
        };
        if (model.Spend is { } s)
        {
            p["gammagamma_p"] = F(s.P);
            p["gammagamma_q"] = F(s.Q);
            p["gammagamma_gamma"] = F(s.Gamma);
        }
        return p;
    }
}

/// <summary>Live CLV: the profile summarised as of the scoring date, scored by BG/NBD + Gamma-Gamma.</summary>
public sealed class LifetimeProfileScorer(string version, LifetimeValueModel model) : IProfileScorer
{
    public string Kind => ModelKinds.Clv;

    public string Version => version;

    public LifetimeValueModel Model => model;

    /// <summary>Null for a customer with no purchase before <paramref name="asOf"/> (the model says nothing about prospects).</summary>
    public LifetimeScore? Predict(CustomerProfile profile, DateTimeOffset asOf) =>
        CustomerSummary.FromProfile(profile, asOf) is { } summary ? model.Score(summary) : null;

    public Prediction Score(CustomerProfile profile, DateTimeOffset asOf)
    {
        if (Predict(profile, asOf) is not { } s)
        {
            return new Prediction(version, asOf, 0, "no purchases yet", []);
        }
        return new Prediction(version, asOf, Math.Round(s.Clv, 2),
            $"{s.ExpectedPurchases:0.0} purchases expected in {model.HorizonMonths} months, P(active) {s.ProbabilityAlive:0.00}",
            [
                new Factor("expected_purchases", $"expected purchases in {model.HorizonMonths} months", Math.Round(s.ExpectedPurchases, 3)),
                new Factor("probability_alive", "probability the customer is still active", Math.Round(s.ProbabilityAlive, 3)),
                new Factor("expected_spend_per_purchase", "expected spend per purchase", Math.Round(s.ExpectedAverageSpend, 2)),
            ]);
    }
}
