using System.Globalization;
using CliWrap.Buffered;
using Cryo.Tests.Golden.Support;

namespace Cryo.Tests.Property.Support;

/// <summary>Where pipeset put a pipe (its --layout file).</summary>
public sealed record PipeLayout(int Index, int ReadFd, int WriteFd, int Capacity, string Path);

/// <summary>
/// testprogs/pipeset running a <see cref="PipeSet"/>: spec, layout and report files in the test
/// directory, FIFOs in it too. Disposing kills and reaps the program (<see cref="RunningProgram"/>).
/// </summary>
public sealed class PipeSetProgram : IDisposable
{
    private PipeSetProgram(TestDirectory dir, PipeSet set, RunningProgram program, PipeLayout[] layout)
    {
        Dir = dir;
        Set = set;
        Program = program;
        Layout = layout;
    }

    public TestDirectory Dir { get; }
    public PipeSet Set { get; }
    public RunningProgram Program { get; }
    public PipeLayout[] Layout { get; }
    public int Pid => Program.Pid;
    public string ReportFile => Dir.File("report");

    public static PipeSetProgram Start(TestDirectory dir, PipeSet set, string? block = null)
    {
        File.WriteAllText(dir.File("spec"), set.SpecText);
        string[] args = [$"--spec={dir.File("spec")}", $"--dir={dir.Path}", $"--layout={dir.File("layout")}", $"--report={dir.File("report")}",
            .. block is null ? Array.Empty<string>() : [$"--block={block}"]];
        var program = RunningProgram.Start("pipeset", dir, args);
        try
        {
            var layout = File.ReadAllLines(dir.File("layout")).Select(ParseLayout).ToArray();
            if (layout.Length != set.Pipes.Length)
                throw new InvalidOperationException($"pipeset laid out {layout.Length} pipes, the spec has {set.Pipes.Length}. {program.Describe()}");
            return new PipeSetProgram(dir, set, program, layout);
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }

    private static PipeLayout ParseLayout(string line)
    {
        var f = Fields(line);
        return new PipeLayout(int.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture), int.Parse(f["rfd"], CultureInfo.InvariantCulture),
            int.Parse(f["wfd"], CultureInfo.InvariantCulture), int.Parse(f["cap"], CultureInfo.InvariantCulture), f["path"]);
    }

    /// <summary>key=value words of a line.</summary>
    public static Dictionary<string, string> Fields(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Contains('='))
            .Select(w => w.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);

    /// <summary>`cryo checkpoint PID -o image --pipe-dump S [--leave-running]`; the result whatever the exit code.</summary>
    public BufferedCommandResult Checkpoint(string image, PipeStrategy strategy, bool leaveRunning) =>
        CheckpointPid(Dir, Pid, image, strategy, leaveRunning);

    public static BufferedCommandResult CheckpointPid(TestDirectory dir, int pid, string image, PipeStrategy strategy, bool leaveRunning)
    {
        string[] args = ["checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--pipe-dump", strategy.ToString().ToLowerInvariant(),
            .. leaveRunning ? new[] { "--leave-running" } : []];
        var result = CryoTool.Run(args);
        File.AppendAllText(dir.File("cryo-checkpoint.log"), $"$ cryo {string.Join(' ', args)}\nexit {result.ExitCode}\n{result.StandardError}\n");
        return result;
    }

    /// <summary>Checkpoint that must succeed.</summary>
    public void MustCheckpoint(string image, PipeStrategy strategy, bool leaveRunning)
    {
        var result = Checkpoint(image, strategy, leaveRunning);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"cryo checkpoint ({strategy}{(leaveRunning ? ", leave running" : "")}) exited {result.ExitCode}: {result.StandardError}\n{Describe()}");
    }

    /// <summary>SIGTERM to the original, then its verdict and report.</summary>
    public PipeReport Terminate()
    {
        File.Delete(ReportFile);
        string verdict = Program.Terminate();
        return PipeReport.Read(ReportFile, verdict, Describe);
    }

    public string Describe() => $"case: {Set}\n{Program.Describe()}";

    public void Dispose() => Program.Dispose();
}

/// <summary>The program's verdict and its report, one line per pipe (see testprogs/pipeset.c).</summary>
public sealed class PipeReport
{
    private PipeReport(string verdict, List<Dictionary<string, string>> pipes, Func<string> describe)
    {
        Verdict = verdict;
        Pipes = pipes;
        Describe = describe;
    }

    public string Verdict { get; }
    public List<Dictionary<string, string>> Pipes { get; }
    public Func<string> Describe { get; }

    public static PipeReport Read(string path, string verdict, Func<string> describe)
    {
        var pipes = File.Exists(path)
            ? File.ReadAllLines(path).Where(l => l.StartsWith("pipe ", StringComparison.Ordinal)).Select(PipeSetProgram.Fields).ToList()
            : [];
        return new PipeReport(verdict, pipes, describe);
    }
}
