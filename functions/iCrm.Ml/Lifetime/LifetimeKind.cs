using System.Diagnostics;
using System.Text.Json.Nodes;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Lifetime;

/// <summary>
/// The CLV model kind, fitted as of the end of the data (<see cref="TrainingSnapshot.DataEnd"/>): the run's asOf, or the
/// day after the latest activity when that is earlier, so an export that ended years ago is not fitted at today's date.
/// Evaluation (protocol <see cref="EvaluationProtocols.TimeHoldout"/>): fit on the history before that end −
/// <see cref="HoldoutDays"/>, predict purchases in the holdout, compare with what happened and with the naive baseline
/// (historical rate). The shipped model is refitted on all history up to the end. Promotion: mean absolute error of
/// holdout purchases, lower is better, 2 % relative tolerance, with the champion measured on the same holdout.
/// A holdout with fewer than <see cref="MinimumHoldoutCustomers"/> customers, no purchases, or too few repeat buyers to fit
/// marks the card not comparable (<see cref="PromotionGate"/>); a BG/NBD fit that did not converge or sits at a parameter
/// bound marks it unsound.
/// </summary>
public sealed class LifetimeKind(int holdoutDays = 182, double monthlyDiscountRate = 0.01, int minimumHoldoutCustomers = 100) : IModelTrainer, IModelLoader, IChampionEvaluator
{
    private const string Entry = "clv.json";

    /// <summary>Repeat buyers a BG/NBD fit needs; fewer in all the data is "not enough data", fewer before the holdout
    /// cutoff makes the evaluation not comparable.</summary>
    public const int MinimumRepeatBuyers = 20;

    public int HoldoutDays { get; } = holdoutDays;

    /// <summary>Customers (with a purchase before the cutoff) the holdout needs for its error to be compared.</summary>
    public int MinimumHoldoutCustomers { get; } = minimumHoldoutCustomers;

    public string Kind => ModelKinds.Clv;

    public PromotionRule Promotion { get; } = new(0.02, Relative: true);

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var profiles = snapshot.Profiles.Where(p => p.MergedInto is null).ToList();
        var end = snapshot.DataEnd();
        var cutoff = end.AddDays(-HoldoutDays);
        var current = profiles.Select(p => CustomerSummary.FromProfile(p, end)).OfType<CustomerSummary>().ToList();
        var repeatBuyers = current.Count(c => c.Frequency > 0);
        if (repeatBuyers < MinimumRepeatBuyers)
        {
            throw new NotEnoughDataException($"CLV needs at least {MinimumRepeatBuyers} repeat buyers before {end:yyyy-MM-dd}; found {repeatBuyers}.");
        }
        var final = LifetimeTrainer.Train(current, monthlyDiscountRate);
        cancellationToken.ThrowIfCancellationRequested();
        var model = final.Model with { AsOf = end };

        var observations = LifetimeTrainer.FromProfiles(profiles, cutoff, end);
        var holdoutRepeatBuyers = observations.Count(o => o.Summary.Frequency > 0);
        var weeks = HoldoutDays / 7.0;
        LifetimeTrainingResult? evaluated = holdoutRepeatBuyers >= MinimumRepeatBuyers
            ? LifetimeTrainer.TrainAndEvaluate(observations, weeks, monthlyDiscountRate)
            : null;
        var m = evaluated?.Holdout ?? LifetimeTrainer.Evaluate(model, [], weeks);
        var notComparable =
            observations.Count < MinimumHoldoutCustomers ? $"the holdout has {observations.Count} customers with a purchase before {cutoff:yyyy-MM-dd}, fewer than the {MinimumHoldoutCustomers} needed"
            : evaluated is null ? $"the holdout has {holdoutRepeatBuyers} repeat buyers before {cutoff:yyyy-MM-dd}, fewer than the {MinimumRepeatBuyers} a fit needs"
            : m.ActualPurchasesTotal == 0 ? $"nobody bought anything in the holdout ({cutoff:yyyy-MM-dd} to {end:yyyy-MM-dd}), so its error measures nothing"
            : evaluated.PurchasesFit.Problem is { } evaluationProblem ? $"the evaluation fit is unusable: {evaluationProblem}"
            : null;
        var unsound = final.PurchasesFit.Problem;
        var deciles = evaluated is null ? [] : LifetimeTrainer.ByDecile(evaluated.Model, observations, weeks);
        var explicitAsOf = end == snapshot.AsOf;
        var card = new ModelCard
        {
            Kind = Kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            Description = "Customer lifetime value: BG/NBD gives expected purchases and the probability the customer is still active; " +
                $"Gamma-Gamma gives spend per purchase; value = discounted expected spend over {model.HorizonMonths} months (revenue, not margin). " +
                $"Fitted as of {end:yyyy-MM-dd}; stored and live scores are computed as of that date (or a later purchase of the customer).",
            Algorithm = "BG/NBD + Gamma-Gamma, maximum likelihood (MathNet BFGS)",
            PromotionMetric = "purchases_mae",
            // A value measured on a holdout that cannot support a comparison is not a value to compare with.
            PromotionValue = notComparable is null ? m.PurchasesMae : double.NaN,
            HigherIsBetter = false,
            EvaluationProtocol = $"{EvaluationProtocols.TimeHoldout}: fitted on history before {cutoff:yyyy-MM-dd}, predicted purchase days in the " +
                $"{HoldoutDays} days to {end:yyyy-MM-dd} for {m.Customers:N0} customers; the shipped model is refit on all history of {current.Count:N0} customers to {end:yyyy-MM-dd}",
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
                ["holdout_repeat_buyers"] = holdoutRepeatBuyers,
                ["holdout_purchases"] = (long)m.ActualPurchasesTotal,
                ["final_fit_customers"] = current.Count,
                ["repeat_buyers"] = repeatBuyers,
            },
            Parameters = Parameters(model),
            DurationSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            DataFingerprint = ModelCards.Fingerprint(snapshot.Profiles),
            Charts = deciles.Count == 0 ? [] : new()
            {
                ["predicted_vs_actual_by_decile"] = new CardChart(
                    "Holdout purchases per customer by decile of predicted purchases",
                    "predicted purchases (mean of the decile)", "actual purchases (mean of the decile)",
                    [.. deciles.Select(d => new CardPoint(Math.Round(d.Predicted, 4), Math.Round(d.Actual, 4), $"decile {d.Decile} ({d.Customers} customers)"))],
                    m.Customers),
            },
            Details = new JsonObject
            {
                ["timeUnit"] = model.TimeUnit,
                ["referenceDate"] = end.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
                ["referenceDateSource"] = explicitAsOf
                    ? "the run's asOf"
                    : $"the end of the data (latest activity {snapshot.LatestActivity():yyyy-MM-dd}), earlier than the run's asOf {snapshot.AsOf:yyyy-MM-dd}",
                ["bgNbdLogLikelihood"] = Math.Round(model.Purchases.LogLikelihood, 2),
                ["bgNbdFit"] = $"{final.PurchasesFit.Method}; gradient {final.PurchasesFit.GradientNorm:G3}",
                ["gammaGammaLogLikelihood"] = model.Spend is null ? null : Math.Round(model.Spend.LogLikelihood, 2),
                ["baseline"] = "historical rate: repeat purchases (and spend) per week so far × holdout weeks",
                [PromotionGate.NotComparableKey] = notComparable,
                [PromotionGate.UnsoundKey] = unsound,
            },
        };
        return Task.FromResult(new TrainedModel(card, ModelCards.JsonBundle(Entry, model)));
    }

    /// <summary>The champion's purchases MAE on the challenger's holdout (same customers, cutoff and end).</summary>
    public double? EvaluateChampion(IProfileScorer champion, TrainingSnapshot snapshot, ModelCard challenger)
    {
        if (champion is not LifetimeProfileScorer scorer || challenger.Cutoff is not { } cutoff
            || challenger.Details?["referenceDate"]?.GetValue<string>() is not { } reference
            || !DateTimeOffset.TryParse(reference, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var end))
        {
            return null;
        }
        var observations = LifetimeTrainer.FromProfiles(snapshot.Profiles.Where(p => p.MergedInto is null), cutoff, end);
        return observations.Count == 0 ? null : LifetimeTrainer.Evaluate(scorer.Model, observations, (end - cutoff).TotalDays / 7).PurchasesMae;
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
            ["as_of"] = model.AsOf?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) ?? "",
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

    /// <summary>Null for a customer with no purchase before the scoring date (the model says nothing about prospects).
    /// The customer is scored as of <see cref="LifetimeValueModel.ScoringDate"/>, not later than <paramref name="asOf"/>.</summary>
    public LifetimeScore? Predict(CustomerProfile profile, DateTimeOffset asOf) =>
        CustomerSummary.FromProfile(profile, model.ScoringDate(profile, asOf)) is { } summary ? model.Score(summary) : null;

    /// <summary>The stored prediction; its <see cref="Prediction.At"/> is the date the value was computed as of (the
    /// model's reference date for a historical export), which may be earlier than <paramref name="asOf"/>.</summary>
    public Prediction Score(CustomerProfile profile, DateTimeOffset asOf)
    {
        var at = model.ScoringDate(profile, asOf);
        if (Predict(profile, asOf) is not { } s)
        {
            return new Prediction(version, at, 0, "no purchases yet", []);
        }
        return new Prediction(version, at, Math.Round(s.Clv, 2),
            $"{s.ExpectedPurchases:0.0} purchases expected in {model.HorizonMonths} months, P(active) {s.ProbabilityAlive:0.00}",
            [
                new Factor("expected_purchases", $"expected purchases in {model.HorizonMonths} months", Math.Round(s.ExpectedPurchases, 3)),
                new Factor("probability_alive", "probability the customer is still active", Math.Round(s.ProbabilityAlive, 3)),
                new Factor("expected_spend_per_purchase", "expected spend per purchase", Math.Round(s.ExpectedAverageSpend, 2)),
            ]);
    }
}
