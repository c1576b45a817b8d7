using System.CommandLine;
using System.Runtime.InteropServices;
using Cryo.Check;
using Cryo.Interop;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Cli;

/// <summary>
/// `cryo restore FILE|-`: recreate the processes and let them run. cryo stays the parent of the
/// restored root and exits with its exit status (128 + signal if it was killed), unless --detach.
/// </summary>
internal static class RestoreCommand
{
    public static Command Create(Option<bool> verbose, Option<string?> logFile)
    {
        var input = new Argument<string>("file") { Description = "checkpoint file, or - for standard input" };
        var detach = new Option<bool>("--detach") { Description = "return as soon as the process runs instead of waiting for it" };
        var pidFile = new Option<string?>("--pidfile") { Description = "write the restored root pid to this file once it runs" };
        var command = new Command("restore", "recreate the processes of a checkpoint file and let them run") { input, detach, pidFile };
        command.SetAction(parsed =>
        {
            using var log = Log.Open(parsed.GetValue(verbose), parsed.GetValue(logFile));
            using var cancel = CancelOnSignals.Create(log);
            if (KernelFeatures.AssumptionNote() is { } note) log.Warn(note);
            string file = parsed.GetValue(input)!;
            int rootPid = 0;
            int status = Errors.Guard(log, $"restore of {file}", () =>
            {
                using var tracer = new Tracer();
                var report = new Restorer(tracer, new RestoreOptions(parsed.GetValue(detach)), log).Run(file, cancel.Token);
                rootPid = report.RootPid;
                Console.Error.WriteLine($"cryo: restored pid {report.RootPid} from {(file == "-" ? "stdin" : file)}: {report.Processes} process(es), " +
                    $"{CheckpointCommand.Size(report.Bytes)}; {report.Phases}");
                return 0;
            });
            if (status != 0) return status;
            if (parsed.GetValue(pidFile) is { } path) WriteAtomically(path, $"{rootPid}\n");
            return parsed.GetValue(detach) ? 0 : WaitForExit(rootPid, log);
        });
        return command;
    }

    /// <summary>Waits for the restored root (our child) and turns its end into cryo's exit code.</summary>
    private static int WaitForExit(int pid, Log log)
    {
        while (true)
        {
            int r = Native.WaitPid(pid, out int raw, 0);
            if (r == pid)
            {
                var status = new WaitStatus(pid, raw);
                log.Info(status.ToString());
                return status.Exited ? status.ExitCode : 128 + status.TermSignal;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != 4) // EINTR
            {
                log.Error($"waiting for restored pid {pid}: {ErrnoNames.Name(errno)}");
                return 1;
            }
        }
    }

    private static void WriteAtomically(string path, string text)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
