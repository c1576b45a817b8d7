using System.Diagnostics;
using Cryo.Interop;
using Cryo.Tracing;

namespace Cryo.Check;

/// <summary>What a probe found: ok (works as cryo uses it), missing (not there), degraded (there, but limited).</summary>
internal enum ProbeStatus { Ok, Missing, Degraded }

/// <summary>The outcome of running one probe's test.</summary>
internal readonly record struct ProbeOutcome(ProbeStatus Status, string Detail)
{
    public static ProbeOutcome Ok(string detail) => new(ProbeStatus.Ok, detail);
    public static ProbeOutcome Missing(string detail) => new(ProbeStatus.Missing, detail);
    public static ProbeOutcome Degraded(string detail) => new(ProbeStatus.Degraded, detail);
}

/// <summary>
/// One row of `cryo check`: a kernel feature, whether cryo needs it (no fallback: without it the
/// simplest checkpoint or restore fails) or can do without it (a fallback, or only a narrower
/// feature is lost), what was found, and which cryo features depend on it.
/// </summary>
internal sealed record ProbeResult(string Name, ProbeStatus Status, bool Needed, string Detail, IReadOnlyList<string> Affects, double ElapsedMs = 0)
{
    /// <summary>"ok", "missing" or "degraded": the spelling used in the table and the JSON.</summary>
    public string StatusText => StatusName(Status);

    public static string StatusName(ProbeStatus status) => status switch
    {
        ProbeStatus.Ok => "ok",
        ProbeStatus.Missing => "missing",
        _ => "degraded",
    };
}

/// <summary>A probe: its name, whether cryo needs it, what depends on it and the test itself.</summary>
internal sealed record Probe(string Name, bool Needed, IReadOnlyList<string> Affects, Func<ProbeOutcome> Test)
{
    /// <summary>
    /// Runs the test; an exception is reported as "missing" with its message, never thrown. A probe
    /// named in CRYO_ASSUME_MISSING is not run and reported missing.
    /// </summary>
    public ProbeResult Run()
    {
        if (KernelFeatures.AssumedMissing.Contains(Name))
            return new ProbeResult(Name, ProbeStatus.Missing, Needed, $"not probed (assumed by {KernelFeatures.AssumeMissingVariable})", Affects);
        var clock = Stopwatch.StartNew();
        ProbeOutcome outcome;
        try
        {
            outcome = Test();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            outcome = ProbeOutcome.Missing($"{e.GetType().Name}: {e.Message}");
        }
        return new ProbeResult(Name, outcome.Status, Needed, outcome.Detail, Affects, clock.Elapsed.TotalMilliseconds);
    }
}

/// <summary>
/// A helper process for probes that need a target: /bin/sleep infinity started with posix_spawn
/// (empty environment, stdio on /dev/null), returned once it really sleeps. Dispose kills and
/// reaps it. Dispose a Tracer that seized it first (the tracer detaches), then this.
/// </summary>
internal sealed class ProbeTarget : IDisposable
{
    public const string Path = "/bin/sleep";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private bool reaped;

    private ProbeTarget(int pid) => Pid = pid;

    public int Pid { get; }

    public static ProbeTarget Start()
    {
        int pid = PosixSpawn.Spawn(Path, [Path, "infinity"], environment: [], outputPath: "/dev/null", newSession: false);
        var target = new ProbeTarget(pid);
        try
        {
            target.WaitUntilAsleep();
            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }

    private void WaitUntilAsleep()
    {
        var clock = Stopwatch.StartNew();
        string file = $"/proc/{Pid}/syscall";
        while (true)
        {
            if (Native.WaitPid(Pid, out int raw, Native.WNOHANG) == Pid)
            {
                reaped = true;
                throw new InvalidOperationException($"the probe target {Path} (pid {Pid}) ended at once: {new WaitStatus(Pid, raw)}");
            }
            string text;
            try { text = File.ReadAllText(file); }
            catch (IOException) { text = ""; }
            int space = text.IndexOf(' ');
            // pause (34), nanosleep (35), clock_nanosleep (230)
            if (space > 0 && long.TryParse(text.AsSpan(0, space), out long number) && number is 34 or 35 or 230) return;
            if (clock.Elapsed > ReadyTimeout)
                throw new TimeoutException($"the probe target {Path} (pid {Pid}) did not fall asleep within {ReadyTimeout.TotalSeconds:0} s");
            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        if (reaped) return;
        reaped = true;
        // Only signal it while it is our unreaped child (a tracer's Kill may have reaped it, and
        // a reaped pid can be reused): 0 means still running, anything else means gone.
        if (Native.WaitPid(Pid, out _, Native.WNOHANG | Native.WALL) != 0) return;
        Native.Kill(Pid, Signals.SIGKILL);
        while (Native.WaitPid(Pid, out _, Native.WALL) < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == ErrnoNames.EINTR) { }
    }
}
