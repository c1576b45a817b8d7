using System.CommandLine;
using System.Runtime.InteropServices;
using Cryo.Check;
using Cryo.Interop;
using Cryo.Resources;
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
        var inheritFd = new Option<string[]>("--inherit-fd")
        {
            Description = "LINK=FD: give the image's descriptors of LINK (e.g. pipe:[4332760], as the checkpoint's warning names an end held " +
                          "outside the tree) cryo's own fd FD instead of a new one; repeatable",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var tty = new Option<string?>("--tty")
        {
            Description = "PATH: the terminal put in place of the terminals the processes ran on (default: cryo's own); its settings become the image's",
        };
        var command = new Command("restore", "recreate the processes of a checkpoint file and let them run") { input, detach, pidFile, inheritFd, tty };
        command.Validators.Add(result =>
        {
            foreach (string spec in result.GetValue(inheritFd) ?? [])
                if (InheritedFd(spec) is { Error: { } error }) result.AddError($"--inherit-fd {spec}: {error}");
        });
        command.SetAction(parsed =>
        {
            using var log = Log.Open(parsed.GetValue(verbose), parsed.GetValue(logFile));
            using var cancel = CancelOnSignals.Create(log);
            if (KernelFeatures.AssumptionNote() is { } note) log.Warn(note);
            string file = parsed.GetValue(input)!;
            int rootPid = 0;
            TerminalHandover? terminal = null;
            int status = Errors.Guard(log, $"restore of {file}", () =>
            {
                using var tracer = new Tracer();
                var inherited = (parsed.GetValue(inheritFd) ?? []).Select(InheritedFd).ToDictionary(i => i.Link, i => i.Fd);
                var report = new Restorer(tracer, new RestoreOptions(parsed.GetValue(detach), inherited, parsed.GetValue(tty)), log).Run(file, cancel.Token);
                rootPid = report.RootPid;
                terminal = report.Terminal;
                Console.Error.WriteLine($"cryo: restored pid {report.RootPid} from {(file == "-" ? "stdin" : file)}: {report.Processes} process(es), " +
                    $"{CheckpointCommand.Size(report.Bytes)}; {report.Phases}");
                return 0;
            });
            if (status != 0) return status;
            using (terminal)
            {
                if (parsed.GetValue(pidFile) is { } path) WriteAtomically(path, $"{rootPid}\n");
                return parsed.GetValue(detach) ? 0 : WaitForExit(rootPid, terminal, log);
            }
        });
        return command;
    }

    /// <summary>"LINK=FD" of --inherit-fd: the link ("pipe:[N]") and an fd cryo has open, or why not.</summary>
    private static (string Link, int Fd, string? Error) InheritedFd(string spec)
    {
        int equals = spec.LastIndexOf('=');
        if (equals <= 0) return ("", -1, "expected LINK=FD, e.g. pipe:[4332760]=1");
        string link = spec[..equals];
        if (!int.TryParse(spec[(equals + 1)..], System.Globalization.CultureInfo.InvariantCulture, out int fd) || fd < 0)
            return (link, -1, $"'{spec[(equals + 1)..]}' is not a descriptor number");
        if (!link.StartsWith("pipe:[", StringComparison.Ordinal) || !link.EndsWith(']'))
            return (link, fd, "only pipes (pipe:[N]) can be inherited");
        if (Native.Fcntl(fd, Native.F_GETFD, 0) < 0) return (link, fd, $"cryo has no fd {fd} open");
        return (link, fd, null);
    }

    /// <summary>
    /// Waits for the restored root (our child) and turns its end into cryo's exit code. A job
    /// given cryo's terminal is watched for stops too: cryo then stops with it and continues it
    /// when continued itself (<see cref="TerminalHandover"/>), so that the shell's job control works.
    /// </summary>
    private static int WaitForExit(int pid, TerminalHandover? terminal, Log log)
    {
        const int WUNTRACED = 2;
        bool watchStops = terminal is { JobGroup: not 0 };
        while (true)
        {
            int r = Native.WaitPid(pid, out int raw, watchStops ? WUNTRACED : 0);
            if (r == pid)
            {
                var status = new WaitStatus(pid, raw);
                log.Info(status.ToString());
                if (status.Stopped)
                {
                    terminal!.JobStopped();
                    Native.Kill(-terminal.JobGroup, Interop.Signals.SIGCONT);
                    continue;
                }
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
