using System.Text;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// eventfd, signalfd, timerfd and epoll through real checkpoints and restores, with
/// testprogs/eventfiles: counters (one in semaphore mode, one with a dup), a signalfd with two
/// signals pending for it, five timerfds (relative, periodic, absolute with cancel-on-set, expired
/// and unread, disarmed), and an epoll instance watching five of them (one a fired one-shot). The program checks each after the restore; the tests check the image too.
/// </summary>
public class EventFilesTests
{
    [Fact]
    public void Counters_signal_masks_and_timers_are_saved_and_made_again()
    {
        using var dir = new TestDirectory("eventfiles");
        string image = Checkpoints.Kill(dir, "eventfiles").Image;

        // fd 40 is a dup of the first counter: one description, one EVFD.
        var counters = ImageItems.Of<EventCounter>(image);
        Assert.Equal([(3UL, EventCounter.Semaphore), (12UL, 0u)], counters.Select(c => (c.Count, c.Flags)).Order());
        var masks = ImageItems.Of<SignalQueueFile>(image);
        // SIGUSR1 (10) and glibc's SIGRTMIN + 2 (36): bit n is signal n + 1.
        Assert.Equal((1UL << 9) | (1UL << 35), Assert.Single(masks).Mask);
        var timers = ImageItems.Of<TimerFile>(image);
        Assert.Equal(5, timers.Count);
        Assert.Contains(timers, t => t.ClockId == 0 && t.Flags == (TimerFile.Absolute | TimerFile.CancelOnSet));
        Assert.Contains(timers, t => t.ClockId == 1 && t.Ticks == 1 && t.ValueNanoseconds == 0);
        Assert.Contains(timers, t => t.ClockId == 7 && t.ValueNanoseconds == 0);
        Assert.Contains(timers, t => t.IntervalNanoseconds == 10_000_000);
        var epoll = Assert.Single(ImageItems.Of<EventPollFile>(image));
        Assert.Equal([0xAUL, 0x5, 0x7, 0x9, 0xB], epoll.Watches.OrderBy(w => w.TargetFd).Select(w => w.Data));
        Assert.Contains(epoll.Watches, w => w.Data == 0xB && w.Events == 0x4000_0000); // the fired one-shot: disabled

        var anonymous = ImageItems.Of<FileDescriptor>(image).Where(f => f.Kind == FileKind.AnonInode).Select(f => Encoding.UTF8.GetString(f.Path)).ToList();
        Assert.Equal(3, anonymous.Count(p => p == "anon_inode:[eventfd]"));

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>Reading the state takes nothing from the files: the original passes, and so does the copy.</summary>
    [Fact]
    public void Leave_running_leaves_the_originals_files_as_they_were_and_the_copy_passes() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("eventfiles-leave", "eventfiles"));

    [Fact]
    public void Three_cycles_in_a_row_pass() => Assert.Equal("PASS", CheckpointRestoreTests.Cycles("eventfiles-cycles", 3, "eventfiles"));

    /// <summary>
    /// testprogs/epollstate: what epoll has already reported stays reported. Its instance Q was
    /// idle (EPQT, naming its two ready edge-triggered watches): their edges and its fired one-shot
    /// watches do not come back; P had an edge waiting (no EPQT), which comes back once.
    /// </summary>
    [Fact]
    public void Reported_edges_and_fired_one_shot_watches_are_not_reported_again()
    {
        using var dir = new TestDirectory("epollstate");
        string image = Checkpoints.Kill(dir, "epollstate").Image;

        var epolls = ImageItems.Of<EventPollFile>(image);
        Assert.Equal(2, epolls.Count);
        var idle = epolls.Single(e => e.Watches.Length == 6);
        var quiet = Assert.Single(ImageItems.Of<EventPollIdle>(image));
        Assert.Equal(idle.Fd, quiet.Fd);
        // E and X: edge-triggered, ready, reported. Not A (one-shot, armed, not ready) nor P's edge (P had an event waiting).
        Assert.Equal(idle.Watches.Where(w => w.Events == 0x8000_0019).Select(w => w.TargetFd), quiet.ReportedEdges);
        Assert.Equal(2, idle.Watches.Count(w => w.Events == EventPollFile.OneShot)); // S and D: fired, disabled

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Epoll_state_left_running_the_original_and_the_copy_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("epollstate-leave", "epollstate"));

    [Fact]
    public void Epoll_state_survives_three_cycles() => Assert.Equal("PASS", CheckpointRestoreTests.Cycles("epollstate-cycles", 3, "epollstate"));
}
