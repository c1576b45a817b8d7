using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Restore;
using Cryo.Tests.Engine.Support;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// Timers: armed inside a stopped stub by the restore side (injected setitimer), read back by the
/// dump side (injected getitimer). The stub stays stopped, so neither timer fires meanwhile.
/// </summary>
public sealed class TimersTests(ResourcePrograms programs) : IClassFixture<ResourcePrograms>
{
    private static readonly DumpSession Session = new(new CheckpointOptions(true, PipeDumpStrategy.Tee));

    private static List<IntervalTimer> Dump(FrozenRun run) => [.. run.Dump<Timers>(Session).Cast<IntervalTimer>()];

    private static void RestoreAndFinish(FrozenRun run, IEnumerable<CheckpointItem> items) => run.RestoreAndFinish<Timers>(run.Restoring(), items);

    [Fact]
    public void Timers_are_armed_inside_the_process_and_read_back_with_their_remaining_time()
    {
        using var run = FrozenRun.StartStub(programs, "plain");
        Assert.Empty(Dump(run)); // no timer, no ITMR item

        var real = new IntervalTimer(IntervalTimerKind.Real, 3600, 250_000, 7200, 500_000);
        var prof = new IntervalTimer(IntervalTimerKind.Profiling, 0, 0, 1000, 0);
        RestoreAndFinish(run, [prof, real]);

        var dumped = Dump(run);
        Assert.Equal([IntervalTimerKind.Real, IntervalTimerKind.Profiling], dumped.Select(t => t.Which));
        Assert.Equal((3600UL, 250_000U), (dumped[0].IntervalSeconds, dumped[0].IntervalMicroseconds));
        Assert.InRange(dumped[0].ValueSeconds * 1_000_000 + dumped[0].ValueMicroseconds, 7100_000_000UL, 7200_500_000UL);
        Assert.Equal((0UL, 0U), (dumped[1].IntervalSeconds, dumped[1].IntervalMicroseconds));
        // CPU time: the stopped stub used only the injected calls' few microseconds; the kernel adds
        // one tick (1 to 10 ms, by CONFIG_HZ) to a CPU-time timer it arms, so that it never fires early.
        Assert.InRange(dumped[1].ValueSeconds * 1_000_000 + dumped[1].ValueMicroseconds, 999_000_000UL, 1000_010_000UL);
    }

    [Fact]
    public void A_second_item_for_one_timer_is_refused_naming_pid_and_timer()
    {
        using var run = FrozenRun.StartStub(programs, "plain");
        var real = new IntervalTimer(IntervalTimerKind.Real, 0, 0, 100, 0);
        var e = Assert.Throws<InvalidDataException>(() => RestoreAndFinish(run, [real, real with { ValueSeconds = 200 }]));
        Assert.Contains($"pid {run.Pid}", e.Message, StringComparison.Ordinal);
        Assert.Contains("a second ITMR for ITIMER_REAL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_remaining_time_of_zero_is_armed_as_one_microsecond_not_disarmed()
    {
        Span<byte> raw = stackalloc byte[32];
        Timers.Encode(new IntervalTimer(IntervalTimerKind.Real, 0, 50_000, 0, 0), raw);
        Assert.Equal(new long[] { 0, 50_000, 0, 1 }, Words(raw));
        Timers.Encode(new IntervalTimer(IntervalTimerKind.Virtual, 7, 250_000, 2000, 42), raw);
        Assert.Equal(new long[] { 7, 250_000, 2000, 42 }, Words(raw));

        static long[] Words(ReadOnlySpan<byte> raw)
        {
            var words = new long[4];
            for (int i = 0; i < words.Length; i++) words[i] = BitConverter.ToInt64(raw.Slice(i * 8, 8));
            return words;
        }
    }

    /// <summary>
    /// A periodic ITIMER_REAL that has fired and whose SIGALRM is pending is stopped with its
    /// interval (the kernel re-arms it when the signal is taken): restored as 1 µs, it fires at once
    /// in the stopped stub and is in that state again.
    /// </summary>
    [Fact]
    public void A_fired_periodic_real_timer_is_saved_and_comes_back_stopped_with_its_interval()
    {
        using var run = FrozenRun.StartStub(programs, "plain");
        var fired = new IntervalTimer(IntervalTimerKind.Real, 0, 50_000, 0, 0);
        RestoreAndFinish(run, [fired]);
        Wait.Until(() => (ProcStatus.Read(run.Pid).SharedSigPending & Interop.Signals.Bit(Interop.Signals.SIGALRM)) != 0,
            TimeSpan.FromSeconds(5), "the SIGALRM of a timer armed 1 µs ahead", () => $"pid {run.Pid}");
        Assert.Equal(fired, Assert.Single(Dump(run)));
    }

    [Fact]
    public void A_disarmed_timer_gives_no_item_and_an_impossible_time_is_reported()
    {
        Assert.Null(Timers.Decode(7, IntervalTimerKind.Real, new byte[32]));
        var stoppedWithInterval = new byte[32];
        BitConverter.TryWriteBytes(stoppedWithInterval.AsSpan(8), 50_000L); // it_interval.tv_usec
        Assert.Null(Timers.Decode(7, IntervalTimerKind.Profiling, stoppedWithInterval)); // a CPU-time timer's interval alone does nothing
        Assert.Equal(new IntervalTimer(IntervalTimerKind.Real, 0, 50_000, 0, 0), Timers.Decode(7, IntervalTimerKind.Real, stoppedWithInterval));
        var bad = new byte[32];
        BitConverter.TryWriteBytes(bad.AsSpan(24), 1_000_000L); // it_value.tv_usec out of range
        var e = Assert.Throws<InvalidOperationException>(() => Timers.Decode(7, IntervalTimerKind.Profiling, bad));
        Assert.Contains("pid 7: getitimer(ITIMER_PROF) reported the value as 0 s 1000000 µs", e.Message, StringComparison.Ordinal);
    }
}
