using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Cryo.Bench;

/// <summary>
/// The engine against memhog N (N MiB touched with a pattern), areas N (2N small memory areas) and sleep, through the real `cryo`
/// executable, as a user runs it (runtime start-up included): checkpoint with kill, checkpoint
/// with --leave-running (and how long the process stood frozen), restore (until the process
/// runs, --detach), and the image size. Each checkpoint gets a fresh program; one warm-up run first;
/// medians. The restored program is checked (SIGTERM, PASS) after every run, so a fast but wrong
/// engine cannot score.
/// <para>This machine hands memory that stays free for a few seconds back to its host, and the
/// first touch of such a page costs 2–7 µs more (the host's fault): how much of a command's new
/// memory (the image, a restored process) comes from there decides its time more than cryo does,
/// and it depends on what ran just before (the kill-mode checkpoint reuses the pages the
/// leave-running image just freed). With --warm, as much memory as the command will allocate is
/// touched and freed right before it, so every command starts from the same, recently used free
/// memory, as on a machine that keeps its memory.</para>
/// </summary>
public static partial class EngineBench
{
    private sealed record Sample(double Kill, double Leave, double Frozen, double Restore, long ImageBytes);

    public static int Run(BenchOptions o, string cryo, string testprogs)
    {
        // With a baseline, both builds are measured in the same runs, in alternating order, each
        // on a fresh program: their ratios hold even when the machine's speed drifts.
        var builds = new List<(string Label, string Path)> { ("cryo", cryo) };
        if (o.Baseline is not null) builds.Add(("baseline", o.Baseline));
        Console.WriteLine("| program | build | checkpoint (kill) | checkpoint --leave-running | frozen | restore | image | dirty memory |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var (name, args, dirty) in Programs(o))
        {
            var runs = builds.ToDictionary(b => b.Label, _ => new List<Sample>());
            for (int i = 0; i <= o.Runs; i++)
            {
                foreach (var (label, path) in i % 2 == 0 ? builds : Enumerable.Reverse(builds))
                {
                    var r = Once(path, testprogs, name, args, o.Directory, o.Warm ? (dirty + 64) << 20 : 0);
                    if (i > 0) runs[label].Add(r);
                    Console.Error.WriteLine($"{name} {string.Join(' ', args)} {label} run {i}: kill {r.Kill:F3} s, leave {r.Leave:F3} s (frozen {r.Frozen:F3} s), restore {r.Restore:F3} s, {r.ImageBytes >> 20} MiB");
                }
            }
            foreach (var (label, _) in builds)
            {
                var m = runs[label];
                long image = m[0].ImageBytes;
                Console.WriteLine($"| {name} {string.Join(' ', args)} | {label} | {Median(m, r => r.Kill):F3} s | {Median(m, r => r.Leave):F3} s | {Median(m, r => r.Frozen):F3} s | " +
                                  $"{Median(m, r => r.Restore):F3} s | {image / 1048576.0:F1} MiB | {(dirty == 0 ? "-" : $"{dirty} MiB ({(image - (dirty << 20)) * 100.0 / (dirty << 20):+0.00;-0.00} %)")} |");
            }
            if (o.Baseline is null) continue;
            double Ratio(Func<Sample, double> pick) => Median(runs["cryo"], pick) / Median(runs["baseline"], pick);
            Console.WriteLine($"| {name} {string.Join(' ', args)} | cryo / baseline | {Ratio(r => r.Kill):P0} | {Ratio(r => r.Leave):P0} | {Ratio(r => r.Frozen):P0} | {Ratio(r => r.Restore):P0} | | |");
        }
        Console.WriteLine($"median of {o.Runs} runs after one warm-up; wall-clock times of the cryo command, runtime start-up included; " +
            $"{(o.Warm ? "free memory warmed before each command" : "free memory as the machine left it")}; {DateTime.UtcNow:yyyy-MM-dd}");
        return 0;
    }

    private static IEnumerable<(string Name, string[] Args, long DirtyMib)> Programs(BenchOptions o)
    {
        yield return ("sleep", [], 0);
        foreach (int mib in o.Sizes) yield return ("memhog", [$"--mib={mib}"], mib);
        // Two areas per count, 1.75 pages of data each on average: the per-area costs of a process with many small mappings.
        foreach (int count in o.Areas ?? []) yield return ("areas", [$"--count={count}", "--plain-names"], count * 7 / 1024);
    }

    private static Sample Once(string cryo, string testprogs, string name, string[] args, string where, long warm)
    {
        string dir = Path.Combine(where, $"cryo-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string image = Path.Combine(dir, "image.cryo");
            // Each checkpoint gets a fresh program: one checkpointed before has paid for it (after a
            // --leave-running snapshot its pages are no longer exclusively its own, and reading them
            // again costs a fault each: docs/engine-memory.md), and a user's kill-mode checkpoint
            // usually meets a program that was never checkpointed.
            double leave, frozen;
            string leaveDir = Directory.CreateDirectory(Path.Combine(dir, "leave")).FullName;
            using (var original = Target.Start(Path.Combine(testprogs, name), leaveDir, args))
            {
                WarmFreeMemory(warm);
                leave = Time(() => Cryo(cryo, "checkpoint", original.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running"), out string leaveOut);
                frozen = double.Parse(FrozenMs().Match(leaveOut).Groups[1].Value, CultureInfo.InvariantCulture) / 1000;
                File.Delete(image); // else the next checkpoint's rename must first free the old image, which is not the checkpoint's cost
                original.CheckRunning();
            }
            using var program = Target.Start(Path.Combine(testprogs, name), dir, args);
            WarmFreeMemory(warm);
            double kill = Time(() => Cryo(cryo, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image), out _);
            program.WaitForExit();
            long size = new FileInfo(image).Length;
            string pidFile = Path.Combine(dir, "restored");
            WarmFreeMemory(warm);
            double restore = Time(() => Cryo(cryo, "restore", image, "--detach", "--pidfile", pidFile), out _);
            int restored = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
            program.CheckRestored(restored);
            return new Sample(kill, leave, frozen, restore, size);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Touches <paramref name="bytes"/> of fresh memory, one byte per page, and frees it again.</summary>
    private static unsafe void WarmFreeMemory(long bytes)
    {
        if (bytes == 0) return;
        byte* memory = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)bytes);
        try
        {
            for (long offset = 0; offset < bytes; offset += Environment.SystemPageSize) memory[offset] = 1;
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free(memory); }
    }

    [GeneratedRegex(@"frozen ([0-9.]+) ms")]
    private static partial Regex FrozenMs();

    private static string Cryo(string cryo, params string[] args)
    {
        var start = new ProcessStartInfo(cryo) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"cryo {string.Join(' ', args)} exited {process.ExitCode}: {stderr}");
        return stderr;
    }

    private static double Time(Func<string> action, out string output)
    {
        var clock = Stopwatch.StartNew();
        output = action();
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<Sample> runs, Func<Sample, double> pick)
    {
        var sorted = runs.Select(pick).Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
