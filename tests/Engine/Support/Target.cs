using System.Runtime.InteropServices;
using System.Globalization;
using Cryo.Interop;

namespace Cryo.Tests.Engine.Support;

/// <summary>
/// One running instance of the C target, started with posix_spawn. Dispose kills and reaps it
/// on every path. Dispose any Tracer attached to it first (declare the Target before the Tracer
/// in a using block), so that no tracer thread waits on it concurrently.
/// </summary>
internal sealed class Target : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private bool reaped;

    private Target(int pid, string directory)
    {
        Pid = pid;
        Directory = directory;
    }

    public int Pid { get; }
    public string Directory { get; }
    public string PidFile => Path.Combine(Directory, "pid");
    public string OutFile => Path.Combine(Directory, "out");
    public string InfoFile => Path.Combine(Directory, "info");
    public string LogFile => Path.Combine(Directory, "log");

    /// <summary>Starts the target in <paramref name="mode"/> and waits until it wrote its pidfile.</summary>
    public static Target Start(TargetProgram program, string mode)
    {
        string directory = Path.Combine(program.Directory, $"run-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        int pid = PosixSpawn.Spawn(program.ExecutablePath,
            [program.ExecutablePath, $"--pidfile={directory}/pid", $"--outfile={directory}/out",
             $"--infofile={directory}/info", $"--mode={mode}"],
            environment: null, outputPath: Path.Combine(directory, "log"), newSession: false);
        var target = new Target(pid, directory);
        try
        {
            Wait.Until(() => File.Exists(target.PidFile) || target.HasExited(), Timeout, $"pidfile of pid {pid}", target.Describe);
            if (target.reaped) throw new InvalidOperationException($"target exited before it was ready; {target.Describe()}");
            int written = int.Parse(File.ReadAllText(target.PidFile).Trim(), CultureInfo.InvariantCulture);
            if (written != pid) throw new InvalidOperationException($"pidfile says {written}, spawned {pid}");
            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }

    /// <summary>Address of the target's global mailbox buffer.</summary>
    public ulong MailboxAddress
    {
        get
        {
            string line = File.ReadAllText(InfoFile).Trim();
            return ulong.Parse(line["mailbox=0x".Length..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The syscall number the target is blocked in (first field of /proc/PID/syscall), or -1 if running.</summary>
    public long CurrentSyscall()
    {
        string text = File.ReadAllText($"/proc/{Pid}/syscall").Trim();
        string first = text.Split(' ')[0];
        return long.TryParse(first, CultureInfo.InvariantCulture, out long nr) ? nr : -1;
    }

    /// <summary>Waits until the target sleeps in one of the syscalls <paramref name="numbers"/>; returns which.</summary>
    public long WaitUntilInSyscall(params long[] numbers)
    {
        long current = -1;
        Wait.Until(() => numbers.Contains(current = CurrentSyscall()), Timeout,
            $"pid {Pid} asleep in syscall {string.Join(" or ", numbers)}", Describe);
        return current;
    }

    /// <summary>Sends SIGTERM, waits for the exit and returns (exit code, outfile text).</summary>
    public (int ExitCode, string Output) Terminate()
    {
        if (Native.Kill(Pid, Signals.SIGTERM) != 0) throw new SysCallException("kill(SIGTERM)", Marshal.GetLastPInvokeError(), $"pid {Pid}");
        int exitCode = -1;
        Wait.Until(() => TryReap(out exitCode), Timeout, $"exit of pid {Pid} after SIGTERM", Describe);
        string output = File.Exists(OutFile) ? File.ReadAllText(OutFile).Trim() : "(no outfile)";
        return (exitCode, output);
    }

    public string Describe()
    {
        string Read(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "(none)";
        string state = reaped ? "reaped" : File.Exists($"/proc/{Pid}/stat") ? File.ReadAllText($"/proc/{Pid}/stat") : "gone";
        return $"target pid {Pid}: stat [{state}] log [{Read(LogFile)}] out [{Read(OutFile)}]";
    }

    public void Dispose()
    {
        if (reaped) return;
        reaped = true;
        // Signal the pid only while it is our unreaped child: once reaped (e.g. by a tracer's
        // Kill) the number may already belong to another process.
        int result = Native.WaitPid(Pid, out int status, Native.WNOHANG | Native.WALL);
        if (result < 0 || (result == Pid && new WaitStatus(Pid, status).Gone)) return;
        Native.Kill(Pid, Signals.SIGKILL);
        // SIGKILL ends it promptly; block until it is reaped (skipping any leftover stop report).
        while (Native.WaitPid(Pid, out status, Native.WALL) == Pid && !new WaitStatus(Pid, status).Gone) { }
    }

    private bool HasExited() => TryReap(out _);

    private bool TryReap(out int exitCode) => Reaping.TryReap(Pid, ref reaped, out exitCode);
}
