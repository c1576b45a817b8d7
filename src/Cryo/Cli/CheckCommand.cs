using System.CommandLine;
using Cryo.Check;
using Cryo.Interop;

namespace Cryo.Cli;

/// <summary>`cryo check [--json]`: probes every kernel feature cryo uses; exit 0 when all it needs is there.</summary>
internal static class CheckCommand
{
    public static Command Create(Option<bool> verbose, Option<string?> logFile)
    {
        var json = new Option<bool>("--json") { Description = "print the results as JSON (schema cryo-check/1, see docs/cryo-check.md)" };
        var command = new Command("check", "probe the kernel features cryo needs or can use; exit 1 if a needed one is missing") { json };
        command.SetAction(parsed =>
        {
            using var log = Log.Open(parsed.GetValue(verbose), parsed.GetValue(logFile));
            return Execute(Probes.All, parsed.GetValue(json), Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>
    /// Runs <paramref name="probes"/>, prints the table or the JSON to <paramref name="output"/> and the
    /// verdict to <paramref name="errors"/>, records the results as <see cref="KernelFeatures.Current"/>,
    /// and returns the exit code. Tests pass their own probes here.
    /// </summary>
    internal static int Execute(IEnumerable<Probe> probes, bool json, TextWriter output, TextWriter errors)
    {
        // A misspelt name would silently assume nothing.
        foreach (string name in KernelFeatures.AssumedMissing.Where(n => Probes.All.All(p => p.Name != n)).Order())
            errors.WriteLine($"cryo: warning: {KernelFeatures.AssumeMissingVariable} names '{name}', which is no probe of cryo check");
        var results = Probes.RunAll(probes);
        var report = new CheckReport(results, Native.KernelRelease());
        var features = KernelFeatures.FromResults(results);
        KernelFeatures.Learn(features);
        output.Write(json ? report.Json(features) : report.Table());
        output.Flush();
        errors.WriteLine(report.Verdict());
        return report.ExitCode;
    }
}
