using System.Diagnostics;
using System.Diagnostics.Metrics;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Training;

/// <summary>
/// Traces and metrics of training, with System.Diagnostics only (the host picks them up by name, <c>iCrm.*</c>). A run
/// is one span; each model kind is a child span with its own train, evaluate, publish and promote children, and its
/// outcome as a tag. Attributes name run ids, kinds, versions, metric names and outcomes: never a profile's value.
/// </summary>
public static class TrainingTelemetry
{
    public const string Name = "iCrm.Training";

    public const string RunSpan = "train run";
    public const string ModelSpan = "train model";
    public const string TrainSpan = "model train";
    public const string EvaluateSpan = "model evaluate";
    public const string PublishSpan = "model publish";
    public const string PromoteSpan = "model promote";

    public const string PromotionMetricName = "icrm.training.model.promotion_metric";
    public const string DurationName = "icrm.training.model.duration";

    public static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);
    private static readonly Histogram<double> PromotionMetric = Meter.CreateHistogram<double>(PromotionMetricName, "1",
        "A trained model's promotion metric (its card's value, e.g. AUC or MAE), by kind, metric and promotion outcome.");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(DurationName, "s",
        "Time to train, evaluate, publish and promote one model kind.");

    public static Activity? StartRun(TrainingRunRecord run) =>
        Source.StartActivity(RunSpan, ActivityKind.Internal)?
            .SetTag("icrm.training.run_id", run.RunId)
            .SetTag("icrm.training.trigger", run.Trigger);

    public static Activity? StartModel(string kind) =>
        Source.StartActivity(ModelSpan, ActivityKind.Internal)?.SetTag("icrm.model.kind", kind);

    public static Activity? StartStep(string step, string kind) =>
        Source.StartActivity(step, ActivityKind.Internal)?.SetTag("icrm.model.kind", kind);

    /// <summary>Records a finished run's status on its span.</summary>
    public static void Finish(Activity? activity, TrainingRunRecord run)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetTag("icrm.training.status", run.Status.ToString())
            .SetTag("icrm.training.profiles", run.Profiles)
            .SetTag("icrm.training.kinds", run.Models.Count);
        if (run.Status == TrainingRunStatus.Failed)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    /// <summary>Records one kind's outcome on its span and the meters.</summary>
    public static void Record(Activity? activity, string kind, ModelOutcome outcome, TimeSpan elapsed)
    {
        var result = OutcomeOf(outcome);
        var kindTag = new KeyValuePair<string, object?>("icrm.model.kind", kind);
        var outcomeTag = new KeyValuePair<string, object?>("icrm.model.outcome", result);
        Duration.Record(elapsed.TotalSeconds, kindTag, outcomeTag);
        if (double.IsFinite(outcome.Value))
        {
            PromotionMetric.Record(outcome.Value, kindTag, outcomeTag, new KeyValuePair<string, object?>("icrm.model.metric", outcome.Metric));
        }
        if (activity is null)
        {
            return;
        }
        activity.SetTag("icrm.model.version", outcome.Version)
            .SetTag("icrm.model.outcome", result)
            .SetTag("icrm.model.metric", outcome.Metric);
        if (double.IsFinite(outcome.Value))
        {
            activity.SetTag("icrm.model.metric_value", outcome.Value);
        }
        if (outcome.ChampionValue is { } champion && double.IsFinite(champion))
        {
            activity.SetTag("icrm.model.champion_metric_value", champion);
        }
        if (result == Failed)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    public const string Promoted = "promoted";
    public const string KeptChampion = "kept_champion";
    public const string NotComparable = "not_comparable";
    public const string NotPromoted = "not_promoted";
    public const string Skipped = "skipped";
    public const string Failed = "failed";

    /// <summary>
    /// The outcome as a low-cardinality value, from the reason's fixed opening (<see cref="TrainingRunner"/> writes
    /// those; the rest of a reason names versions and values, which vary).
    /// </summary>
    public static string OutcomeOf(ModelOutcome outcome) =>
        outcome.Promoted ? Promoted
        : outcome.Reason.StartsWith("failed", StringComparison.Ordinal) ? Failed
        : outcome.Reason.StartsWith("skipped", StringComparison.Ordinal) ? Skipped
        : outcome.Reason.StartsWith("not comparable", StringComparison.Ordinal) ? NotComparable
        : outcome.Reason.StartsWith("kept champion", StringComparison.Ordinal) ? KeptChampion
        : NotPromoted;
}
