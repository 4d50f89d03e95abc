namespace iCrm.Core.Features;

/// <summary>One customer's feature vector as of a cutoff, laid out by <see cref="Schema"/>.</summary>
public sealed record CustomerFeatures(string CustomerId, DateTimeOffset AsOf, float[] Values, FeatureSchema Schema)
{
    public float this[string name] => Values[Schema.IndexOf(name) is var i and >= 0 ? i : throw new KeyNotFoundException(name)];
}
