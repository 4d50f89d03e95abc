using System.Text;
using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Tests.Training;

/// <summary>A model kind whose next challenger has a chosen metric value, or fails in a chosen way: for promotion rules.</summary>
public sealed class FixedKind(string kind, PromotionRule rule, bool higherIsBetter = true) : IModelTrainer, IModelLoader
{
    public static readonly byte[] GoodBundle = Encoding.UTF8.GetBytes("fixed-model-v1");

    public string Kind => kind;

    public PromotionRule Promotion => rule;

    public double NextValue { get; set; } = 0.7;

    public bool FailTraining { get; set; }

    public bool NotEnoughData { get; set; }

    public bool ProduceCorruptBundle { get; set; }

    /// <summary>Marks the next card "not comparable" with this reason (<see cref="PromotionGate"/>).</summary>
    public string? NotComparable { get; set; }

    /// <summary>Marks the next card "unsound" with this reason.</summary>
    public string? Unsound { get; set; }

    public string Protocol { get; set; } = "";

    public Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken)
    {
        if (NotEnoughData)
        {
            throw new NotEnoughDataException("no feedback texts yet");
        }
        if (FailTraining)
        {
            throw new InvalidOperationException("not enough data");
        }
        var card = new ModelCard
        {
            Kind = kind,
            Version = version,
            CreatedAt = DateTimeOffset.UtcNow,
            PromotionMetric = "metric",
            PromotionValue = NextValue,
            HigherIsBetter = higherIsBetter,
            EvaluationProtocol = Protocol,
            Details = new System.Text.Json.Nodes.JsonObject
            {
                [PromotionGate.NotComparableKey] = NotComparable,
                [PromotionGate.UnsoundKey] = Unsound,
            },
        };
        return Task.FromResult(new TrainedModel(card, ProduceCorruptBundle ? [1, 2, 3] : GoodBundle));
    }

    public IProfileScorer Load(Stream bundle, ModelCard card)
    {
        using var buffer = new MemoryStream();
        bundle.CopyTo(buffer);
        if (!buffer.ToArray().AsSpan().SequenceEqual(GoodBundle))
        {
            throw new InvalidDataException("not a fixed model");
        }
        return new Scorer(kind, card.Version, card.PromotionValue);
    }

    private sealed class Scorer(string kind, string version, double value) : IProfileScorer
    {
        public string Kind => kind;

        public string Version => version;

        public Prediction Score(CustomerProfile profile, DateTimeOffset asOf) => new(version, asOf, value, "fixed", []);
    }
}
