namespace iCrm.Ml.Sentiment;

/// <summary>
/// Sentiment from the local model. Disabled until a model is set (no rated feedback has been trained on yet);
/// <see cref="Model"/> can be swapped when a new champion is promoted.
/// </summary>
public sealed class LocalSentimentProvider(SentimentModel? model = null) : ISentimentProvider
{
    private volatile SentimentModel? _model = model;

    public SentimentModel? Model
    {
        get => _model;
        set => _model = value;
    }

    public bool IsEnabled => _model is not null;

    public Task<IReadOnlyList<SentimentResult>> ScoreAsync(IReadOnlyList<string> texts, CancellationToken ct)
    {
        var model = _model ?? throw new InvalidOperationException("No local sentiment model has been trained yet.");
        var results = new SentimentResult[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            results[i] = SentimentResult.FromScore(model.Score(texts[i]));
        }

        return Task.FromResult<IReadOnlyList<SentimentResult>>(results);
    }
}
