using System.Globalization;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// File locks (FLCK) through real checkpoints and restores, with testprogs/locks: a shared flock,
/// two POSIX record locks (a write lock on a range, a read lock to the end of the file) and an
/// OFD lock. The program probes each from a second open file description after the restore.
/// </summary>
public class LockTests
{
    [Fact]
    public void Locks_are_saved_and_taken_again_after_the_restore()
    {
        using var dir = new TestDirectory("locks");
        string image = Checkpoints.Kill(dir, "locks").Image;

        Assert.Equal(
            [(3, FileLockKind.Flock, false, 0UL, 0UL), (4, FileLockKind.Posix, true, 10UL, 10UL), (4, FileLockKind.Posix, false, 100UL, 0UL),
             (5, FileLockKind.OpenFileDescription, true, 0UL, 4096UL)],
            ImageItems.Of<FileLock>(image).Select(l => (l.Fd, l.Kind, l.Exclusive, l.Start, l.Length)));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>Reading the locks (fdinfo) takes none away: the original holds them all and passes.</summary>
    [Fact]
    public void Leave_running_leaves_the_locks_of_the_original() =>
        Assert.Equal("PASS", CheckpointRestoreTests.LeaveRunning("locks-leave", "locks"));
}
