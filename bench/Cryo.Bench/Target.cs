using System.Globalization;
using Cryo.Interop;

namespace Cryo.Bench;

/// <summary>A test program under the common protocol, started with posix_spawn and reaped here.</summary>
internal sealed class Target : IDisposable
{
    private readonly string _dir;
    private bool _reaped;

    private Target(int pid, string dir) { Pid = pid; _dir = dir; }

    public int Pid { get; }

    public static Target Start(string exe, string dir, string[] args)
    {
        int pid = PosixSpawn.Spawn(exe, [exe, $"--pidfile={dir}/pid", $"--outfile={dir}/out", .. args], null, $"{dir}/log", newSession: false);
        var target = new Target(pid, dir);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!File.Exists($"{dir}/pid"))
        {
            if (target.Exited() || DateTime.UtcNow > deadline) throw new InvalidOperationException($"{exe} did not get ready: {File.ReadAllText($"{dir}/log")}");
            Thread.Sleep(5);
        }
        return target;
    }

    private bool Exited()
    {
        if (!_reaped && Native.WaitPid(Pid, out _, Native.WNOHANG) == Pid) _reaped = true;
        return _reaped;
    }

    public void WaitForExit()
    {
        if (!_reaped && Native.WaitPid(Pid, out _, 0) == Pid) _reaped = true;
    }

    /// <summary>A program left running by a checkpoint must pass its own check (SIGTERM, PASS); it is reaped here.</summary>
    public void CheckRunning()
    {
        if (Exited()) throw new InvalidOperationException($"pid {Pid} died after the checkpoint: {File.ReadAllText($"{_dir}/log")}");
        Native.Kill(Pid, Signals.SIGTERM);
        WaitForExit();
        string verdict = File.Exists($"{_dir}/out") ? File.ReadAllText($"{_dir}/out").Trim() : "no verdict";
        if (verdict != "PASS") throw new InvalidOperationException($"pid {Pid}, left running, says {verdict}");
    }

    /// <summary>The restored program (no longer our child) must pass its own check.</summary>
    public void CheckRestored(int pid)
    {
        if (pid != Pid) throw new InvalidOperationException($"restored as pid {pid}, not {Pid}");
        Native.Kill(pid, Signals.SIGTERM);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!File.Exists($"{_dir}/out") || Directory.Exists($"/proc/{pid}/task") && File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] != "Z")
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"restored pid {pid} did not finish its check");
            Thread.Sleep(5);
        }
        string verdict = File.ReadAllText($"{_dir}/out").Trim();
        if (verdict != "PASS") throw new InvalidOperationException($"restored pid {pid} says {verdict}");
    }

    public void Dispose()
    {
        if (!Exited()) { Native.Kill(Pid, Signals.SIGKILL); WaitForExit(); }
    }
}
