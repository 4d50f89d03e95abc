namespace iCrm.Ml.Segments;

/// <summary>One customer's segment with the values a summary aggregates.</summary>
/// <param name="Value">The customer's value (e.g. CLV or historical spend).</param>
/// <param name="Churn">Churned (1/0) or a churn probability; null when unknown.</param>
public sealed record SegmentMember(string Segment, double Value, double? Churn);

/// <param name="ChurnRate">Mean of the known churn values in the segment; null when none is known.</param>
public sealed record SegmentSummary(string Segment, int Customers, double TotalValue, double AverageValue, double? ChurnRate);

/// <summary>Segment sizes, value and churn rate, computed by the training run (the local Cosmos server has no GROUP BY).</summary>
public static class SegmentSummaries
{
    /// <summary>One summary per segment, largest segment first (ties by name, so the order is stable).</summary>
    public static List<SegmentSummary> Summarise(IEnumerable<SegmentMember> members) =>
        members.GroupBy(m => m.Segment)
            .Select(g =>
            {
                var churn = g.Where(m => m.Churn.HasValue).Select(m => m.Churn!.Value).ToList();
                double total = g.Sum(m => m.Value);
                int n = g.Count();
                return new SegmentSummary(g.Key, n, total, total / n, churn.Count > 0 ? churn.Average() : null);
            })
            .OrderByDescending(s => s.Customers).ThenBy(s => s.Segment, StringComparer.Ordinal)
            .ToList();
}
