using System.Globalization;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Interval timers (setitimer) through real checkpoints and restores, with testprogs/ticker: a
/// 50 ms ITIMER_REAL whose SIGALRM ticks must go on in the restored process, and two CPU-time
/// timers armed far ahead whose remaining time must survive. No golden item stream: whether a
/// tick is pending (PEND) at the freeze depends on the moment.
/// </summary>
public class TimerTests
{
    [Fact]
    public void Armed_interval_timers_are_saved_and_tick_on_after_the_restore()
    {
        using var dir = new TestDirectory("ticker");
        string image = Checkpoints.Kill(dir, "ticker").Image;

        var (timers, shared) = Read(image);
        Assert.Equal([IntervalTimerKind.Real, IntervalTimerKind.Virtual, IntervalTimerKind.Profiling], timers.Select(t => t.Which));
        var (real, cpuVirtual, prof) = (timers[0], timers[1], timers[2]);
        Assert.Equal((0UL, 50_000U), (real.IntervalSeconds, real.IntervalMicroseconds));
        // A freeze longer than a tick nearly always finds the timer fired: stopped (0 left) with its
        // SIGALRM pending, to be re-armed by the kernel when the program takes the signal.
        ulong realLeft = Microseconds(real.ValueSeconds, real.ValueMicroseconds);
        Assert.InRange(realLeft, 0UL, 50_000UL);
        if (realLeft == 0) Assert.Contains(shared.Signals, s => s.Signal == SIGALRM);
        Assert.Equal((7UL, 250_000U), (cpuVirtual.IntervalSeconds, cpuVirtual.IntervalMicroseconds));
        // The kernel adds one tick (at most 10 ms) to a CPU-time timer it arms.
        Assert.InRange(Microseconds(cpuVirtual.ValueSeconds, cpuVirtual.ValueMicroseconds), 1940_000_000UL, 2000_010_000UL);
        Assert.Equal((0UL, 0U), (prof.IntervalSeconds, prof.IntervalMicroseconds));
        Assert.InRange(Microseconds(prof.ValueSeconds, prof.ValueMicroseconds), 940_000_000UL, 1000_010_000UL);

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>A restored process's timers are checkpointed again like the original's.</summary>
    [Fact]
    public void Timers_survive_three_cycles_in_a_row() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("ticker-cycles", 3, "ticker"));

    /// <summary>Reading the timers (getitimer) changes nothing: the original ticks on and passes.</summary>
    [Fact]
    public void Leave_running_leaves_the_timers_of_the_original_running() =>
        Assert.Equal("PASS", CheckpointRestoreTests.LeaveRunning("ticker-leave", "ticker"));

    private const int SIGALRM = 14;

    /// <summary>The ITMR items and the shared PEND of the image's one process.</summary>
    private static (List<IntervalTimer> Timers, PendingSignals Shared) Read(string image)
    {
        var timers = new List<IntervalTimer>();
        PendingSignals? shared = null;
        using var reader = CheckpointReader.OpenFile(image);
        while (reader.GetNextItem() is { } item)
        {
            if (item is IntervalTimer timer) timers.Add(timer);
            if (item is PendingSignals { Queue: SignalQueue.Process } pending) shared = pending;
        }
        return (timers, shared ?? throw new InvalidDataException($"{image} has no process PEND item"));
    }

    private static ulong Microseconds(ulong seconds, uint microseconds) => seconds * 1_000_000 + microseconds;
}
