using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// pidfds (PIDF) through real checkpoints and restores, with testprogs/pidfd: pidfds of a live
/// child (two descriptors of one description), of a zombie child (PIDFD_NONBLOCK), of a child
/// made by clone3 with CLONE_PIDFD, and of the program itself; after the restore the program
/// signals, polls and reaps its children through them.
/// </summary>
public class PidFdTests
{
    [Fact]
    public void Pidfds_refer_to_the_restored_processes_with_the_same_pids()
    {
        using var dir = new TestDirectory("pidfd");
        var (image, pid) = Checkpoints.Kill(dir, "pidfd");
        var pidfds = ImageItems.Of<PidFd>(image);
        // fd 41 is a dup of fd 40: one description, one PIDF.
        Assert.Equal([40, 42, 43, 44], pidfds.Select(p => p.Fd));
        Assert.Equal(pid, pidfds[3].Pid);
        var processes = ImageItems.Of<ProcessInfo>(image);
        Assert.All(pidfds, p => Assert.Contains(processes, info => info.Pid == p.Pid));
        Assert.Equal(ProcessState.Zombie, processes.Single(info => info.Pid == pidfds[1].Pid).State);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Left_running_the_original_and_the_copy_pass()
    {
        var (original, copy) = Checkpoints.LeaveRunningThenRestore("pidfd-leave", "pidfd");
        Assert.Equal(("PASS", "PASS"), (original, copy));
    }
}
