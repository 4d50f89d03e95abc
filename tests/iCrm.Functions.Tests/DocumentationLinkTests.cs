using System.Text.RegularExpressions;

namespace iCrm.Functions.Tests;

/// <summary>
/// The README and the docs are read in a clone, on GitHub or offline: every relative link must reach a file of the
/// repository (and a heading of it, when the link names one), and nothing may point outside the repository.
/// </summary>
public sealed partial class DocumentationLinkTests
{
    private static readonly string RepoRoot = FindRepoRoot();

    public static TheoryData<string> Documents() => new(DocumentPaths());

    /// <summary>Every Markdown file of the repository (not of its build outputs or installed packages).</summary>
    private static List<string> DocumentPaths()
    {
        var skipped = new[] { "node_modules", "bin", "obj", ".git", ".artifacts", ".tools", ".local", "TestResults" };
        return Directory.EnumerateFiles(RepoRoot, "*.md", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RepoRoot, f).Replace('\\', '/'))
            .Where(f => !f.Split('/').Any(part => skipped.Contains(part)))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    [Fact]
    public void The_README_and_the_architecture_page_are_checked()
    {
        var documents = DocumentPaths();

        Assert.Contains("README.md", documents);
        Assert.Contains("docs/architecture.md", documents);
        Assert.Contains(Links("README.md"), link => link.Target == "docs/architecture.md");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_relative_link_resolves_to_a_file_in_the_repository(string document)
    {
        var problems = new List<string>();
        foreach (var (line, target) in Links(document))
        {
            if (IsExternal(target)) continue;

            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var pathPart = Uri.UnescapeDataString(hash < 0 ? target : target[..hash]);
            var anchor = hash < 0 ? null : target[(hash + 1)..];
            var resolved = pathPart.Length == 0
                ? Path.Combine(RepoRoot, document)
                : Path.GetFullPath(Path.Combine(RepoRoot, Path.GetDirectoryName(document) ?? "", pathPart));

            if (!resolved.StartsWith(RepoRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                problems.Add($"line {line}: '{target}' points outside the repository");
            else if (!File.Exists(resolved) && !Directory.Exists(resolved))
                problems.Add($"line {line}: '{target}' does not exist");
            else if (anchor is { Length: > 0 } && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !HeadingSlugs(resolved).Contains(anchor))
                problems.Add($"line {line}: '{target}' names no heading of {Path.GetRelativePath(RepoRoot, resolved)}");
        }

        Assert.True(problems.Count == 0, $"{document}:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void No_document_mentions_a_path_outside_the_repository(string document)
    {
        // The design notes and data sets next to the repository (../shared/) are not part of a clone.
        var lines = File.ReadAllLines(Path.Combine(RepoRoot, document));
        var outside = lines
            .Select((text, index) => (text, line: index + 1))
            .Where(l => l.text.Contains("../shared/", StringComparison.Ordinal) || l.text.Contains("/work/", StringComparison.Ordinal))
            .Select(l => $"line {l.line}: {l.text.Trim()}")
            .ToList();

        Assert.True(outside.Count == 0, $"{document}:{Environment.NewLine}{string.Join(Environment.NewLine, outside)}");
    }

    [Fact]
    public void The_link_check_reports_a_missing_file_and_a_missing_heading()
    {
        var slugs = HeadingSlugs(Path.Combine(RepoRoot, "README.md"));

        Assert.Contains("data-drops", slugs);
        Assert.DoesNotContain("no-such-heading", slugs);
        Assert.Equal("febrl--identity-resolution-with-ground-truth", Slug("febrl/ — identity resolution with ground truth"));
        Assert.Equal("run-icrm-on-your-own-data", Slug("Run iCrm on your own data"));
        Assert.Equal(new[] { (2, "missing.md") }, LinksIn(["# t", "see [x](missing.md) and `[y](z.md)`", "```", "[c](code.md)", "```"]));
    }

    private static List<(int Line, string Target)> Links(string document) =>
        LinksIn(File.ReadAllLines(Path.Combine(RepoRoot, document)));

    /// <summary>Inline links and reference definitions outside fenced code blocks and code spans.</summary>
    private static List<(int Line, string Target)> LinksIn(IReadOnlyList<string> lines)
    {
        var links = new List<(int, string)>();
        var inFence = false;
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                continue;
            }

            if (inFence) continue;
            var text = CodeSpan().Replace(lines[i], "");
            foreach (Match link in InlineLink().Matches(text)) links.Add((i + 1, link.Groups[1].Value));
            if (ReferenceDefinition().Match(text) is { Success: true } definition) links.Add((i + 1, definition.Groups[1].Value));
        }

        return links;
    }

    private static bool IsExternal(string target) =>
        target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase);

    private static HashSet<string> HeadingSlugs(string markdownFile)
    {
        var slugs = new HashSet<string>(StringComparer.Ordinal);
        var inFence = false;
        foreach (var line in File.ReadLines(markdownFile))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            else if (!inFence && Heading().Match(line) is { Success: true } heading) slugs.Add(Slug(heading.Groups[1].Value));
        }

        return slugs;
    }

    /// <summary>GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen.</summary>
    private static string Slug(string heading)
    {
        var text = heading.Trim().ToLowerInvariant().Replace("`", "", StringComparison.Ordinal);
        var kept = text.Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray();
        return new string(kept).Replace(' ', '-');
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "iCrm.Functions.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException($"iCrm.Functions.sln not found above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\]\(\s*<?([^)\s>]+)>?(?:\s+""[^""]*"")?\s*\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*\s*$")]
    private static partial Regex Heading();
}
