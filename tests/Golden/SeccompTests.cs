using System.Globalization;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// seccomp (SCMF, SCMT) through real checkpoints and restores, with testprogs/seccomp: the main
/// thread under filters A and B (B with SECCOMP_FILTER_FLAG_LOG), a second thread that inherited
/// them and added C, and with --deny-seccomp a filter D on the main thread that refuses seccomp()
/// itself. The program checks every filter's answer in each thread (the errno of the newest
/// filter shows their order) and the filter counts; the tests check the image, both ways of
/// checkpointing, cycles, and the refusal of a thread in strict mode.
/// </summary>
public class SeccompTests
{
    [Fact]
    public void Threads_come_back_under_their_filter_chains_written_once_each()
    {
        using var dir = new TestDirectory("seccomp");
        var (image, _) = Checkpoints.Kill(dir, "seccomp");
        var filters = ImageItems.Of<SeccompFilter>(image);
        // A, B (on A, logged), C (on B): the thread's chain shares A and B with the main thread's.
        Assert.Equal([(1u, 0u, 0u), (2u, 1u, SeccompFilter.Log), (3u, 2u, 0u)], filters.Select(f => (f.FilterId, f.ParentId, f.Flags)));
        Assert.Equal([new ThreadSeccomp(SeccompMode.Filter, 2), new ThreadSeccomp(SeccompMode.Filter, 3)], ImageItems.Of<ThreadSeccomp>(image));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>D refuses seccomp() itself: it must be the last filter installed, and a restored process still cannot add one.</summary>
    [Fact]
    public void A_filter_that_refuses_seccomp_itself_comes_back_last()
    {
        using var dir = new TestDirectory("seccomp-deny");
        var (image, _) = Checkpoints.Kill(dir, "seccomp", "--deny-seccomp");
        Assert.Equal(4, ImageItems.Of<SeccompFilter>(image).Count);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Leave_running_snapshots_a_filtered_process_and_both_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("seccomp-leave", "seccomp", "--deny-seccomp"));

    /// <summary>Filters installed by a restore are read back as the same chains.</summary>
    [Fact]
    public void Three_cycles_in_a_row_pass() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("seccomp-cycles", 3, "seccomp"));

    /// <summary>
    /// A thread in strict mode allows no call cryo reads a thread's state with: refused at the
    /// freeze, naming the thread, and the program (whose strict thread must still answer) passes.
    /// </summary>
    [Fact]
    public void A_thread_in_strict_mode_is_refused_and_the_program_runs_on()
    {
        using var dir = new TestDirectory("seccomp-strict");
        using var program = RunningProgram.Start("seccomp", dir, "--strict-thread");
        var result = CryoTool.Run("checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", dir.File("image.cryo"));
        Assert.Equal(1, result.ExitCode);
        Assert.Matches($@"cannot checkpoint pid {program.Pid}: tid \d+: it is in seccomp strict mode", result.StandardError);
        Assert.False(File.Exists(dir.File("image.cryo")));
        Assert.Equal("PASS", program.Terminate());
    }
}
