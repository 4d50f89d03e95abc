using System.Globalization;
using System.Text;
using iCrm.Core.Storage;
using Microsoft.Azure.Cosmos;

namespace iCrm.Azure.Store;

/// <summary>
/// Turns a <see cref="CustomerListQuery"/> into Cosmos SQL over the paths of <see cref="CustomerIndexing"/>. Properties are
/// written in bracket form (<c>c["predictions"]["churn"]["value"]</c>) because <c>value</c> is a reserved word.
/// Undefined is neither true nor false in Cosmos SQL, so "not consented" is spelled out as undefined, null or not true.
/// </summary>
public static class CustomerListSql
{
    public static QueryDefinition Select(CustomerListQuery query)
    {
        var (where, parameters) = Where(query);
        var sql = new StringBuilder("SELECT * FROM c WHERE ").Append(where);
        if (query.Sort != CustomerSort.None)
        {
            sql.Append(" ORDER BY ");
            foreach (var prefix in SortPrefix(query))
            {
                sql.Append(Property(prefix)).Append(" ASC, ");
            }
            sql.Append(Property(CustomerIndexing.Score(query.Sort))).Append(" DESC");
        }
        return Define(sql.ToString(), parameters);
    }

    public static QueryDefinition Count(CustomerListQuery query)
    {
        // Keeps the sort's "scored customers only" condition: a count describes the list, in any order.
        var (where, parameters) = Where(query);
        return Define("SELECT VALUE COUNT(1) FROM c WHERE " + where, parameters);
    }

    /// <summary>The equality-filtered paths the ORDER BY leads with (a composite index serves them with the score), or none.</summary>
    public static IReadOnlyList<string> SortPrefix(CustomerListQuery query) =>
        query.Segment is not null ? [CustomerIndexing.SegmentLabel]
        : query.Cluster is not null ? [CustomerIndexing.Cluster]
        : query is { Recency: not null, Frequency: not null } ? [CustomerIndexing.Recency, CustomerIndexing.Frequency]
        : query.Recency is not null ? [CustomerIndexing.Recency]
        : query.Frequency is not null ? [CustomerIndexing.Frequency]
        : query.WithConsent is { } channel ? [CustomerIndexing.Consent(channel)]
        : [];

    /// <summary>The ORDER BY of a query as (path, descending) pairs, for checking it against the composite indexes.</summary>
    public static IReadOnlyList<(string Path, bool Descending)> OrderBy(CustomerListQuery query) =>
        query.Sort == CustomerSort.None ? []
        : [.. SortPrefix(query).Select(p => (p, false)), (CustomerIndexing.Score(query.Sort), true)];

    private static (string Where, List<(string Name, object Value)> Parameters) Where(CustomerListQuery query)
    {
        var clauses = new List<string> { $"NOT IS_DEFINED({Property(CustomerIndexing.MergedInto)})" };
        var parameters = new List<(string, object)>();
        if (query.Segment is { } segment)
        {
            clauses.Add($"{Property(CustomerIndexing.SegmentLabel)} = @segment");
            parameters.Add(("@segment", segment));
        }
        if (query.Cluster is { } cluster)
        {
            clauses.Add($"{Property(CustomerIndexing.Cluster)} = @cluster");
            parameters.Add(("@cluster", cluster));
        }
        if (query.Recency is { } recency)
        {
            clauses.Add($"{Property(CustomerIndexing.Recency)} = @recency");
            parameters.Add(("@recency", recency));
        }
        if (query.Frequency is { } frequency)
        {
            clauses.Add($"{Property(CustomerIndexing.Frequency)} = @frequency");
            parameters.Add(("@frequency", frequency));
        }
        if (query.MinChurn is { } minChurn)
        {
            clauses.Add($"{Property(CustomerIndexing.Churn)} >= @minChurn");
            parameters.Add(("@minChurn", minChurn));
        }
        if (query.MaxChurn is { } maxChurn)
        {
            clauses.Add($"{Property(CustomerIndexing.Churn)} <= @maxChurn");
            parameters.Add(("@maxChurn", maxChurn));
        }
        if (query.MinClv is { } minClv)
        {
            clauses.Add($"{Property(CustomerIndexing.Clv)} >= @minClv");
            parameters.Add(("@minClv", minClv));
        }
        if (query.WithConsent is { } with)
        {
            clauses.Add($"{Property(CustomerIndexing.Consent(with))} = true");
        }
        if (query.WithoutConsent is { } without)
        {
            var p = Property(CustomerIndexing.Consent(without));
            clauses.Add($"(NOT IS_DEFINED({p}) OR IS_NULL({p}) OR {p} != true)");
        }
        if (query.Source is { } source)
        {
            clauses.Add($"ARRAY_CONTAINS({Property(CustomerIndexing.Identities)}, {{\"source\": @source}}, true)");
            parameters.Add(("@source", source));
        }
        if (query.Sort != CustomerSort.None)
        {
            // Cosmos and the local server disagree on whether ORDER BY returns items without the property: ask for the
            // scored customers only, which is also what a "highest risk" list means.
            clauses.Add($"IS_DEFINED({Property(CustomerIndexing.Score(query.Sort))})");
        }
        var profiling = Property(CustomerIndexing.ConsentProfiling);
        if (query.ExcludeProfilingWithdrawn)
        {
            clauses.Add($"(NOT IS_DEFINED({profiling}) OR IS_NULL({profiling}) OR {profiling} != false)");
        }
        if (query.OnlyProfilingWithdrawn)
        {
            clauses.Add($"{profiling} = false");
        }
        return (string.Join(" AND ", clauses), parameters);
    }

    private static QueryDefinition Define(string sql, List<(string Name, object Value)> parameters)
    {
        var definition = new QueryDefinition(sql);
        foreach (var (name, value) in parameters)
        {
            definition.WithParameter(name, value);
        }
        return definition;
    }

    /// <summary><c>/a/b</c> → <c>c["a"]["b"]</c>.</summary>
    public static string Property(string path) =>
        "c" + string.Concat(path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(s => string.Create(CultureInfo.InvariantCulture, $"[\"{s}\"]")));
}
