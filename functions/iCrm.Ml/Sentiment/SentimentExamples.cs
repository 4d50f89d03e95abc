using iCrm.Core.Profiles;

namespace iCrm.Ml.Sentiment;

/// <summary>Where the local model's labels come from.</summary>
public static class SentimentExamples
{
    /// <summary>
    /// The tenant's own rated feedback as weak labels: rating ≥ 4 positive, ≤ 2 negative; 3 and unrated are left out
    /// (too ambiguous to teach anything), as is feedback without text.
    /// </summary>
    public static List<SentimentExample> FromFeedback(IEnumerable<FeedbackItem> feedback) =>
        feedback
            .Where(f => f.Rating is >= 4 or <= 2 && !string.IsNullOrWhiteSpace(f.Text))
            .Select(f => new SentimentExample(f.Text, f.Rating >= 4))
            .ToList();

    /// <summary>
    /// Reads <c>sentence&lt;TAB&gt;label</c> lines (label 1 = positive, 0 = negative), as in the UCI "Sentiment
    /// Labelled Sentences" files. A sentence may be wrapped in double quotes with inner quotes doubled.
    /// </summary>
    public static List<SentimentExample> ReadLabelledSentences(TextReader reader)
    {
        var examples = new List<SentimentExample>();
        while (reader.ReadLine() is { } line)
        {
            var tab = line.LastIndexOf('\t');
            if (tab <= 0)
            {
                continue;
            }

            var label = line[(tab + 1)..].Trim();
            if (label is not ("0" or "1"))
            {
                continue;
            }

            var text = line[..tab].Trim();
            if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
            {
                text = text[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal);
            }

            examples.Add(new SentimentExample(text, label == "1"));
        }

        return examples;
    }
}
