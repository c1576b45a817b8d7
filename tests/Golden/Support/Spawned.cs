using Cryo.Interop;

namespace Cryo.Tests.Golden.Support;

/// <summary>A helper process of a test that does not follow the pidfile protocol (a real program, ttyrun): its output goes to NAME.log in the test directory; Dispose kills and reaps it.</summary>
public sealed class Spawned(int pid, string name, TestDirectory dir) : IDisposable
{
    private int? exitCode;

    public int Pid { get; } = pid;

    public static Spawned Start(TestDirectory dir, string name, string path, params string[] args) =>
        StartLoggingTo(dir, name, dir.File($"{name}.log"), path, args);

    /// <summary>Starts it with its output appended to <paramref name="output"/> instead (a file elsewhere: what it has open matters to the test).</summary>
    public static Spawned StartLoggingTo(TestDirectory dir, string name, string output, string path, params string[] args) =>
        new(PosixSpawn.Spawn(path, [path, .. args], environment: null, outputPath: output, newSession: false), name, dir);

    public bool HasExited()
    {
        if (exitCode is not null) return true;
        if (Native.WaitPid(Pid, out int raw, Native.WNOHANG) != Pid) return false;
        var status = new WaitStatus(Pid, raw);
        exitCode = status.Exited ? status.ExitCode : 128 + status.TermSignal;
        return true;
    }

    public int WaitForExit(string why)
    {
        Wait.Until(HasExited, RunningProgram.Timeout, $"{name} (pid {Pid}) to exit: {why}", Describe);
        return exitCode!.Value;
    }

    /// <summary>What it wrote so far.</summary>
    public string Output => File.Exists(dir.File($"{name}.log")) ? File.ReadAllText(dir.File($"{name}.log")) : "";

    public string Describe() => dir.Describe($"{name} pid {Pid}");

    public void Dispose()
    {
        if (HasExited()) return;
        Native.Kill(Pid, Signals.SIGKILL);
        Native.Kill(Pid, Signals.SIGCONT);
        Wait.Until(HasExited, RunningProgram.Timeout, $"{name} (pid {Pid}) to die after SIGKILL", Describe);
    }
}
