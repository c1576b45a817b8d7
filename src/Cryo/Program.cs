using System.CommandLine;
using Cryo.Cli;
using Cryo.Interop;

namespace Cryo;

public static class Program
{
    public static int Main(string[] args)
    {
        // A parent that ignores SIGCHLD makes the kernel reap our children on its own, which
        // would steal the exit of a restored process; the default must be back before anything else.
        const int SIGCHLD = 17, SIG_IGN = 1;
        if (Native.SetSignalHandler(SIGCHLD, Native.SigDefault) is var previous && previous != SIG_IGN)
            Native.SetSignalHandler(SIGCHLD, previous);
        if (Native.GetPid() == 1)
        {
            // As pid 1 the .NET runtime reaps every child itself, stealing ptrace stops.
            Console.Error.WriteLine("cryo: refusing to run as pid 1 (the runtime would reap traced children); run it under an init such as tini");
            return 1;
        }

        var verbose = new Option<bool>("--verbose", "-v") { Description = "say what is being done", Recursive = true };
        var logFile = new Option<string?>("--log-file") { Description = "append a time-stamped log to this file", Recursive = true };
        var root = new RootCommand("cryo: checkpoint and restore live Linux processes")
        {
            verbose, logFile,
            CheckpointCommand.Create(verbose, logFile),
            RestoreCommand.Create(verbose, logFile),
            CheckCommand.Create(verbose, logFile),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"cryo: {error.Message}");
            Console.Error.WriteLine("usage: cryo checkpoint PID -o FILE|- [--leave-running] | cryo restore FILE|- [--detach] [--pidfile F] [--inherit-fd pipe:[N]=FD]   (see --help)");
            return 2;
        }
        return parsed.Invoke();
    }
}
