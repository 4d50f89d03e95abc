using Microsoft.ML;
using Microsoft.ML.Data;

namespace iCrm.Ml.Churn;

/// <summary>ML.NET's view of a labelled feature vector; the vector's length is set at run time from the schema.</summary>
internal sealed class ChurnRow
{
    public bool Label { get; set; }

    public float[] Features { get; set; } = [];

    public static SchemaDefinition Definition(int featureCount)
    {
        var definition = SchemaDefinition.Create(typeof(ChurnRow));
        definition[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        return definition;
    }

    public static IDataView Load(MLContext ml, IReadOnlyList<float[]> features, IReadOnlyList<bool> labels, int featureCount) =>
        ml.Data.LoadFromEnumerable(
            Enumerable.Range(0, features.Count).Select(i => new ChurnRow { Label = labels[i], Features = features[i] }),
            Definition(featureCount));
}

internal sealed class ChurnScoreRow
{
    public float Score { get; set; }

    public float Probability { get; set; }
}
