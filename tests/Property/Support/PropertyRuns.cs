using System.Diagnostics;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace Cryo.Tests.Property.Support;

/// <summary>
/// Runs a property over real processes with FsCheck: the default counts keep tests/Property at
/// about two minutes; CRYO_PROPERTY_RUNS=N runs every property N times instead (soak runs). A
/// failure is shrunk (each step is a real checkpoint/restore, so shrinking takes a while) and
/// reported with FsCheck's replay seed and the minimal case's full message; CRYO_PROPERTY_SHRINK=0
/// reports the failing case as generated instead (the kernel matrix: under emulation a shrink can
/// take hours).
/// </summary>
public static class PropertyRuns
{
    public const string Variable = "CRYO_PROPERTY_RUNS";
    public const string ShrinkVariable = "CRYO_PROPERTY_SHRINK";

    public static int Count(int defaultRuns) =>
        int.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : defaultRuns;

    public static void Run<T>(ITestOutputHelper output, string name, Arbitrary<T> cases, int defaultRuns, Action<T> property, Func<T, string>? classify = null)
    {
        int runs = Count(defaultRuns);
        if (Environment.GetEnvironmentVariable(ShrinkVariable) == "0") cases = Arb.From(cases.Generator);
        var clock = Stopwatch.StartNew();
        var classes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int executed = 0;
        var config = Config.QuickThrowOnFailure.WithMaxTest(runs).WithQuietOnSuccess(true);
        try
        {
            FsCheck.Check.One(config, Prop.ForAll(cases, (T value) =>
            {
                executed++;
                property(value);
                if (classify is not null)
                {
                    string c = classify(value);
                    classes[c] = classes.GetValueOrDefault(c) + 1;
                }
            }));
        }
        finally
        {
            output.WriteLine($"{name}: {runs} case(s) asked, {executed} run (shrinking included) in {clock.Elapsed.TotalSeconds:F1} s" +
                (classes.Count == 0 ? "" : "; " + string.Join(", ", classes.Select(kv => $"{kv.Key}: {kv.Value}"))));
        }
    }

    /// <summary>A short description of a case for the run statistics.</summary>
    public static string Classify(PipeSet set) =>
        $"{set.Strategy.ToString().ToLowerInvariant()}{(set.Strategy == PipeStrategy.Drain && set.DrainRefuses ? " (refused)" : "")}";
}
