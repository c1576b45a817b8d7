using System.CommandLine;
using Cryo.Check;
using Cryo.Checkpoint;
using Cryo.Tracing;

namespace Cryo.Cli;

/// <summary>`cryo checkpoint PID -o FILE|-`: freeze, write the image, then kill the process or let it run on.</summary>
internal static class CheckpointCommand
{
    public static Command Create(Option<bool> verbose, Option<string?> logFile)
    {
        var pid = new Argument<int>("pid") { Description = "the process (and, later, its tree) to checkpoint" };
        var output = new Option<string>("--output", "-o") { Description = "checkpoint file, or - for standard output", Required = true };
        var leaveRunning = new Option<bool>("--leave-running") { Description = "let the process run on after the checkpoint (default: kill it)" };
        var noSnapshot = new Option<bool>("--no-snapshot")
        {
            Description = "with --leave-running: keep the process frozen until every page is written, rather than let it run on " +
                "once a copy-on-write fork of it exists (no copied pages or extra page faults for it afterwards, but a longer freeze)",
        };
        var pipeDump = new Option<PipeDumpStrategy>("--pipe-dump")
        {
            Description = "how pipe contents are read: tee (default, never touches the pipe) or drain (read, then write back and verify)",
            DefaultValueFactory = _ => PipeDumpStrategy.Tee,
        };
        var deletedFileLimit = new Option<int>("--deleted-file-limit")
        {
            Description = "the most data, in MiB, saved of one file deleted while the process holds it (default 64); a larger one is refused",
            DefaultValueFactory = _ => 64,
        };
        var command = new Command("checkpoint", "write the state of a running process to a checkpoint file") { pid, output, leaveRunning, noSnapshot, pipeDump, deletedFileLimit };
        command.Validators.Add(result =>
        {
            if (result.GetValue(deletedFileLimit) < 0)
                result.AddError("--deleted-file-limit is a number of MiB, 0 or more");
            if (result.GetValue(noSnapshot) && !result.GetValue(leaveRunning))
                result.AddError("--no-snapshot only applies with --leave-running (a checkpoint that kills the process never lets it run on)");
        });
        command.SetAction(parsed =>
        {
            using var log = Log.Open(parsed.GetValue(verbose), parsed.GetValue(logFile));
            using var cancel = CancelOnSignals.Create(log);
            if (KernelFeatures.AssumptionNote() is { } note) log.Warn(note);
            int target = parsed.GetValue(pid);
            string file = parsed.GetValue(output)!;
            return Errors.Guard(log, $"checkpoint of pid {target}", () =>
            {
                using var tracer = new Tracer();
                var options = new CheckpointOptions(parsed.GetValue(leaveRunning), parsed.GetValue(pipeDump), !parsed.GetValue(noSnapshot),
                    (long)parsed.GetValue(deletedFileLimit) << 20);
                var report = new Checkpointer(tracer, options, log).Run(target, file, cancel.Token);
                Console.Error.WriteLine(
                    $"cryo: checkpointed pid {target} to {(file == "-" ? "stdout" : file)}: {report.Processes} process(es), {report.Threads} thread(s), " +
                    $"{Size(report.Bytes)} ({report.PageBytes / Environment.SystemPageSize} pages); frozen {report.Frozen.TotalMilliseconds:F1} ms; " +
                    $"{(options.LeaveRunning ? "left running" : "killed")}; {report.Phases}");
                return 0;
            });
        });
        return command;
    }

    public static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):F1} MiB" : $"{bytes / 1024.0:F1} KiB";
}
