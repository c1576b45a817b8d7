using System.Globalization;
using Cryo.Interop;

namespace Cryo.Tests.Golden.Support;

/// <summary>
/// A test program started with posix_spawn under the common protocol (pidfile, outfile, SIGTERM
/// self-check). This test process is its parent and reaps it; Dispose kills and reaps it on every path.
/// </summary>
public sealed class RunningProgram : IDisposable
{
    // Generous: the programs fsync their pid and out files, and with other jobs writing large
    // images to the same disk an ext4 journal commit can hold an fsync for many seconds.
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private bool _reaped;

    private RunningProgram(string name, int pid, TestDirectory dir)
    {
        Name = name;
        Pid = pid;
        Dir = dir;
    }

    public string Name { get; }
    public int Pid { get; }
    public TestDirectory Dir { get; }
    public int? ExitCode { get; private set; }

    public static RunningProgram Start(string name, TestDirectory dir, params string[] args)
    {
        string exe = TestPrograms.Path(name);
        int pid = PosixSpawn.Spawn(exe, [exe, $"--pidfile={dir.PidFile}", $"--outfile={dir.OutFile}", .. args],
            environment: null, outputPath: dir.LogFile, newSession: false);
        var program = new RunningProgram(name, pid, dir);
        try
        {
            Wait.Until(() => File.Exists(dir.PidFile) || program.HasExited(), Timeout, $"pidfile of {name} (pid {pid})", program.Describe);
            if (program._reaped) throw new InvalidOperationException($"{name} exited before it was ready. {program.Describe()}");
            int written = int.Parse(File.ReadAllText(dir.PidFile).Trim(), CultureInfo.InvariantCulture);
            if (written != pid) throw new InvalidOperationException($"pidfile says {written}, spawned {pid}");
            return program;
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }

    /// <summary>True once the program has exited and been reaped (its pid is free again).</summary>
    public bool HasExited()
    {
        if (_reaped) return true;
        int r = Native.WaitPid(Pid, out int status, Native.WNOHANG);
        if (r == Pid)
        {
            _reaped = true;
            var s = new WaitStatus(Pid, status);
            ExitCode = s.Exited ? s.ExitCode : 128 + s.TermSignal;
        }
        return _reaped;
    }

    /// <summary>Waits until the program is gone, e.g. after cryo checkpointed and killed it.</summary>
    public void WaitForExit(string why) => Wait.Until(HasExited, Timeout, $"{Name} (pid {Pid}) to exit: {why}", Describe);

    /// <summary>Sends SIGTERM and returns the program's verdict from its outfile.</summary>
    public string Terminate()
    {
        Native.Kill(Pid, Signals.SIGTERM);
        WaitForExit("after SIGTERM");
        return Dir.Verdict();
    }

    public string Describe() => Dir.Describe($"{Name} pid {Pid}");

    /// <summary>The pids of the program's children, from /proc/PID/task/*/children, space-separated ("" for none).</summary>
    public string Children() =>
        string.Join(' ', Directory.GetDirectories($"/proc/{Pid}/task").Select(task => File.ReadAllText(System.IO.Path.Combine(task, "children")).Trim())).Trim();

    public void Dispose()
    {
        if (!HasExited())
        {
            Native.Kill(Pid, Signals.SIGKILL);
            Wait.Until(HasExited, Timeout, $"{Name} (pid {Pid}) to die after SIGKILL", Describe);
        }
    }
}
