using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// POSIX timers (PTMR) through real checkpoints and restores, with testprogs/posixtimers: a timer
/// per kind of notification (a signal to the process with a handler, none, a signal to a second
/// thread, glibc's SIGEV_THREAD on its helper thread), on five clocks, with a gap in the ids.
/// The program checks the ids, the settings and that every armed timer fires on; the test checks
/// the image.
/// </summary>
public class PosixTimerTests
{
    [Fact]
    public void Every_timer_comes_back_with_its_id_clock_notification_and_setting()
    {
        using var dir = new TestDirectory("posixtimers");
        string image = Checkpoints.Kill(dir, "posixtimers").Image;

        var timers = ImageItems.Of<PosixTimer>(image);
        // The deleted timer was id 2: a gap the restore must keep.
        Assert.Equal([0, 1, 3, 4, 5], timers.Select(t => t.Id));
        Assert.Equal(
            [(1, PosixTimerNotify.Process), (0, PosixTimerNotify.None), (7, PosixTimerNotify.Thread), (-6, PosixTimerNotify.None), (1, PosixTimerNotify.Thread)],
            timers.Select(t => (t.ClockId, t.Notify)));
        Assert.Equal(0x1111UL, timers[0].Value);
        Assert.Equal(20_000_000UL, timers[0].IntervalNanoseconds);
        Assert.InRange(timers[1].ValueNanoseconds, 3000_000_000_000UL, 3600_000_000_000UL);
        Assert.Equal(0x3333UL, timers[2].Value);
        Assert.Equal(0UL, timers[3].ValueNanoseconds);

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Leave_running_leaves_the_timers_of_the_original_and_the_copy_passes() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("posixtimers-leave", "posixtimers"));

    /// <summary>A restored process's timers are read again like the original's: their ids and settings hold over cycles.</summary>
    [Fact]
    public void Two_cycles_in_a_row_pass() => Assert.Equal("PASS", CheckpointRestoreTests.Cycles("posixtimers-cycles", 2, "posixtimers"));
}
