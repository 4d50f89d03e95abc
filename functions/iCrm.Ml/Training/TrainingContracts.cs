using iCrm.Core.Profiles;
using iCrm.Ml.Registry;

namespace iCrm.Ml.Training;

/// <summary>The profiles a run trains on, as read at the start of the run, and the date features are cut at.</summary>
public sealed record TrainingSnapshot(IReadOnlyList<CustomerProfile> Profiles, DateTimeOffset AsOf);

/// <summary>A trained challenger: its card (with the promotion metric) and its bundle bytes (<c>model.zip</c>).</summary>
public sealed record TrainedModel(ModelCard Card, byte[] Bundle);

/// <summary>Trains one model kind from a snapshot.</summary>
public interface IModelTrainer
{
    string Kind { get; }

    /// <summary>Absolute tolerance of the promotion metric: a challenger may be this much worse and still be kept.</summary>
    double Tolerance { get; }

    Task<TrainedModel> TrainAsync(TrainingSnapshot snapshot, string version, CancellationToken cancellationToken);
}

/// <summary>A loaded champion that scores one profile.</summary>
public interface IProfileScorer
{
    string Kind { get; }

    string Version { get; }

    Prediction Score(CustomerProfile profile, DateTimeOffset asOf);
}

/// <summary>Loads a model bundle of a kind into a scorer.</summary>
public interface IModelLoader
{
    string Kind { get; }

    IProfileScorer Load(Stream bundle, ModelCard card);
}
