using iCrm.Core.Profiles;
using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Scoring;

/// <summary>Live scoring from the champions; a kind without a champion is reported in <see cref="CustomerScores.Unavailable"/>.</summary>
public sealed class ChampionScoring(ChampionModels champions) : ICustomerScoring
{
    public async Task<CustomerScores> ScoreAsync(CustomerProfile profile, DateTimeOffset asOf, ScoreRequest request, CancellationToken cancellationToken = default)
    {
        var versions = new Dictionary<string, string>();
        var unavailable = new Dictionary<string, string>();
        ChurnScore? churn = null;
        var (scorer, missing) = await champions.GetAsync(ModelKinds.Churn, cancellationToken);
        if (scorer is not null)
        {
            var prediction = scorer.Score(profile, asOf);
            churn = new ChurnScore(prediction.Value, prediction.Label ?? "", prediction.TopFactors);
            versions[ModelKinds.Churn] = scorer.Version;
        }
        else
        {
            unavailable[ModelKinds.Churn] = missing!.Reason;
        }
        return new CustomerScores(profile.Id, asOf, churn, null, null, null, null, versions, unavailable);
    }
}
