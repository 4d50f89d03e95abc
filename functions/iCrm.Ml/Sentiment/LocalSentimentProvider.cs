using iCrm.Ml.Registry;
using iCrm.Ml.Training;

namespace iCrm.Ml.Sentiment;

/// <summary>
/// Sentiment from the local model: a fixed model (tests), or the current sentiment champion, so a newly promoted model
/// is used without a restart. Scoring before any model exists throws <see cref="SentimentUnavailableException"/>.
/// </summary>
public sealed class LocalSentimentProvider : ISentimentProvider
{
    private readonly Func<ChampionModels>? _champions;
    private volatile SentimentModel? _model;

    public LocalSentimentProvider(SentimentModel? model = null) => _model = model;

    /// <param name="champions">Resolved lazily: the champion cache itself depends on the model kinds that use this provider.</param>
    public LocalSentimentProvider(Func<ChampionModels> champions) => _champions = champions;

    /// <summary>A fixed model; when set, it is used instead of the champion.</summary>
    public SentimentModel? Model
    {
        get => _model;
        set => _model = value;
    }

    public bool IsEnabled => _model is not null || _champions is not null;

    public async Task<IReadOnlyList<SentimentResult>> ScoreAsync(IReadOnlyList<string> texts, CancellationToken ct)
    {
        var model = _model ?? await ChampionModelAsync(ct)
            ?? throw new SentimentUnavailableException("No local sentiment model has been trained yet: run training (POST /api/train) first.");
        var results = new SentimentResult[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            results[i] = SentimentResult.FromScore(model.Score(texts[i]));
        }
        return results;
    }

    private async ValueTask<SentimentModel?> ChampionModelAsync(CancellationToken ct)
    {
        if (_champions is null)
        {
            return null;
        }
        var (scorer, _) = await _champions().GetAsync(ModelKinds.Sentiment, ct);
        return (scorer as SentimentProfileScorer)?.Model;
    }
}

/// <summary>The configured sentiment provider cannot answer yet (no model, or the service is not configured).</summary>
public sealed class SentimentUnavailableException(string message) : Exception(message);
