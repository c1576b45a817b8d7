using System.Globalization;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Signal-driven I/O (FOWN) through real checkpoints and restores, with testprogs/sigio: owners
/// of three kinds (process, thread, process group) and F_SETSIG signals on a pipe's ends and a
/// file; after the restore a byte written into the O_ASYNC pipe must raise the program's signal
/// with the read end's number as si_fd.
/// </summary>
public class SignalDrivenIoTests
{
    [Fact]
    public void Owners_and_signals_are_saved_and_the_signal_comes_after_the_restore()
    {
        using var dir = new TestDirectory("sigio");
        var (image, pid) = Checkpoints.Kill(dir, "sigio");

        var owners = ImageItems.Of<FileOwner>(image);
        Assert.Equal(
            [(3, FileOwnerKind.Process, pid, 34u + 2), (4, FileOwnerKind.Thread, pid, 0u), (5, FileOwnerKind.ProcessGroup, pid, 10u)],
            owners.Select(o => (o.Fd, o.Kind, o.Owner, o.Signal)));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Leave_running_leaves_the_owners_of_the_original() =>
        Assert.Equal("PASS", CheckpointRestoreTests.LeaveRunning("sigio-leave", "sigio"));

    [Fact]
    public void An_owner_outside_the_tree_is_refused_and_the_program_runs_on()
    {
        using var dir = new TestDirectory("sigio-outside");
        using var program = RunningProgram.Start("sigio", dir, "--owner-outside");
        var result = CryoTool.Run("checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", dir.File("image.cryo"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches($@"pid {program.Pid}: fd \d+: its I/O signals go to process \d+ \(F_SETOWN\), which is not in the checkpointed tree", result.StandardError);
        Assert.False(File.Exists(dir.File("image.cryo")), "a refused checkpoint left an image behind");
        Assert.Equal("PASS", program.Terminate());
    }
}
