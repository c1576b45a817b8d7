using System.Buffers.Binary;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// Interval timers (ITMR): ITIMER_REAL (setitimer, alarm), ITIMER_VIRTUAL and ITIMER_PROF. The
/// kernel shows them nowhere in /proc, so each is read with an injected getitimer(which, &amp;old)
/// (which changes nothing, so --leave-running leaves the timers as they were); armed timers are
/// written, and a stopped ITIMER_REAL that keeps an interval (see <see cref="Decode"/>). Restored
/// with an injected setitimer(which, &amp;saved, NULL) late in the finish phase, after the signal
/// handlers, so that the first expiry finds the program's handler: the remaining time goes on from
/// where it stood at the checkpoint, and the time between checkpoint and restore does not count
/// (as in CRIU). The timers belong to the process, not to a thread.
/// </summary>
internal sealed class Timers : IResourceKind
{
    /// <summary>struct itimerval: it_interval, then it_value, each a struct timeval { long tv_sec; long tv_usec; }.</summary>
    private const int ItimervalSize = 32;

    private static readonly IntervalTimerKind[] Kinds = [IntervalTimerKind.Real, IntervalTimerKind.Virtual, IntervalTimerKind.Profiling];

    public static string NameOf(IntervalTimerKind which) => which switch
    {
        IntervalTimerKind.Real => "ITIMER_REAL",
        IntervalTimerKind.Virtual => "ITIMER_VIRTUAL",
        IntervalTimerKind.Profiling => "ITIMER_PROF",
        _ => $"interval timer {(int)which}",
    };

    public string Name => "Timers";

    public bool Handles(CheckpointItem item) => item is IntervalTimer;

    // ---------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        var timers = new List<CheckpointItem>();
        using var scratch = process.Scratch(ItimervalSize);
        Span<byte> raw = stackalloc byte[ItimervalSize];
        foreach (var which in Kinds)
        {
            process.Syscalls.Checked($"getitimer({NameOf(which)})", SyscallNumbers.Getitimer, (long)which, (long)scratch.Address);
            scratch.Read(0, raw);
            if (Decode(process.Pid, which, raw) is { } timer) timers.Add(timer);
        }
        return new DumpedItems(timers);
    }

    /// <summary>
    /// The item for a struct itimerval as getitimer wrote it; null for a timer that is off. A
    /// stopped ITIMER_REAL (it_value 0) that keeps an interval is not off: the kernel stops a
    /// periodic real-time timer when it fires and re-arms it, one interval on, only when the
    /// program takes the SIGALRM from the shared queue (dequeue_signal). A checkpoint that comes
    /// while that SIGALRM is pending (PEND saves it) finds the timer in that state; see
    /// <see cref="Encode"/> for how it comes back.
    /// </summary>
    internal static IntervalTimer? Decode(int pid, IntervalTimerKind which, ReadOnlySpan<byte> raw)
    {
        var (intervalSeconds, intervalMicroseconds) = Timeval(pid, which, "interval", raw);
        var (valueSeconds, valueMicroseconds) = Timeval(pid, which, "value", raw[16..]);
        bool stopped = valueSeconds == 0 && valueMicroseconds == 0;
        bool keepsInterval = which == IntervalTimerKind.Real && (intervalSeconds != 0 || intervalMicroseconds != 0);
        if (stopped && !keepsInterval) return null;
        return new IntervalTimer(which, intervalSeconds, intervalMicroseconds, valueSeconds, valueMicroseconds);
    }

    private static (ulong Seconds, uint Microseconds) Timeval(int pid, IntervalTimerKind which, string field, ReadOnlySpan<byte> raw)
    {
        long seconds = BinaryPrimitives.ReadInt64LittleEndian(raw);
        long microseconds = BinaryPrimitives.ReadInt64LittleEndian(raw[8..]);
        if (seconds < 0 || microseconds < 0 || microseconds >= IntervalTimer.MicrosecondsPerSecond)
            throw new InvalidOperationException(
                $"pid {pid}: getitimer({NameOf(which)}) reported the {field} as {seconds} s {microseconds} µs, which is not a valid time");
        return ((ulong)seconds, (uint)microseconds);
    }

    // ---------------------------------------------------------------- restore

    internal sealed class TimerState
    {
        public Dictionary<IntervalTimerKind, IntervalTimer> Timers { get; } = [];
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException("ITMR outside a PROC section");
        var timer = (IntervalTimer)item;
        if (!process.State<TimerState>().Timers.TryAdd(timer.Which, timer))
            throw new InvalidDataException($"image of pid {process.Pid}: a second ITMR for {NameOf(timer.Which)}");
    }

    /// <summary>Sets every saved timer to its interval and the time that was left at the checkpoint.</summary>
    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var timers = process.State<TimerState>().Timers;
        if (timers.Count == 0) return;
        var scratch = process.ScratchFor("setitimer");
        Span<byte> raw = stackalloc byte[ItimervalSize];
        foreach (var timer in timers.Values.OrderBy(t => t.Which))
        {
            string what = $"setitimer({NameOf(timer.Which)}, interval {Show(timer.IntervalSeconds, timer.IntervalMicroseconds)}, " +
                          $"value {Show(timer.ValueSeconds, timer.ValueMicroseconds)})";
            if (timer.IntervalSeconds > long.MaxValue || timer.ValueSeconds > long.MaxValue)
                throw new InvalidDataException($"image of pid {process.Pid}: {what}: the seconds do not fit the kernel's time_t");
            Encode(timer, raw);
            scratch.Write(0, raw);
            process.Syscalls.Checked(what, SyscallNumbers.Setitimer, (long)timer.Which, (long)scratch.Address, 0);
        }
    }

    /// <summary>
    /// The struct itimerval for setitimer. A running timer is never saved with it_value 0 (the
    /// kernel reports one about to expire as at least 1 µs); it_value 0 is a stopped ITIMER_REAL
    /// that keeps its interval. setitimer with it_value 0 would clear the interval too, so it is
    /// armed as 1 µs: it fires at once, its SIGALRM merges with the one re-queued from PEND (a
    /// standard signal is pending at most once), and the timer is stopped with its interval
    /// until the program takes that signal, as it was at the checkpoint.
    /// </summary>
    internal static void Encode(IntervalTimer timer, Span<byte> raw)
    {
        uint valueMicroseconds = timer.ValueSeconds == 0 && timer.ValueMicroseconds == 0 ? 1 : timer.ValueMicroseconds;
        BinaryPrimitives.WriteInt64LittleEndian(raw, (long)timer.IntervalSeconds);
        BinaryPrimitives.WriteInt64LittleEndian(raw[8..], timer.IntervalMicroseconds);
        BinaryPrimitives.WriteInt64LittleEndian(raw[16..], (long)timer.ValueSeconds);
        BinaryPrimitives.WriteInt64LittleEndian(raw[24..], valueMicroseconds);
    }

    private static string Show(ulong seconds, uint microseconds) =>
        $"{seconds}.{microseconds:D6} s";
}
