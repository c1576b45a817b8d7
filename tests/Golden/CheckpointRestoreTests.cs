using System.Globalization;
using Cryo.Tests.Golden.Support;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Cryo.Tests.Golden;

/// <summary>
/// The test programs through real checkpoints and restores: the image's golden item stream, then
/// the restored program's own verdict. Also the C/R cycles of issue 3: leave-running, three
/// cycles in a row, and a checkpoint streamed through a pipe into a restore.
/// </summary>
public class CheckpointRestoreTests
{
    public static TheoryData<string, string[]> Programs => new()
    {
        { "sleep", [] },
        { "pipe", ["--size=5000", "--seed=1"] },
        { "memhog", ["--mib=8"] },
    };

    [Theory]
    [MemberData(nameof(Programs))]
    public void Image_is_golden_and_restore_passes(string name, string[] args) =>
        Assert.Equal("PASS", GoldenCycle.Run(name, args, (image, dir, _) => Normalized(image, dir)));

    [Fact]
    public void Leave_running_keeps_the_original_passing() =>
        Assert.Equal("PASS", LeaveRunning("leave", "pipe", "--size=3000"));

    /// <summary>Starts <paramref name="program"/>, checkpoints it with --leave-running, and returns the verdict of the original, which must still run.</summary>
    internal static string LeaveRunning(string name, string program, params string[] args)
    {
        using var dir = new TestDirectory(name);
        using var running = RunningProgram.Start(program, dir, args);
        CryoTool.Must(dir, "checkpoint", running.Pid.ToString(), "-o", dir.File("image.cryo"), "--leave-running");
        Assert.False(running.HasExited(), $"the original died. {running.Describe()}");
        return running.Terminate();
    }

    /// <summary>
    /// --leave-running --no-snapshot onto tmpfs: the reserved image is touched before the freeze,
    /// so that the frozen window holds only the copy (docs/benchmarks.md); what was reserved but
    /// not written is given back, and both the original and the restored copy pass.
    /// </summary>
    [Fact]
    public void Leave_running_onto_tmpfs_touches_the_reservation_before_the_freeze()
    {
        using var dir = new TestDirectory("leave-tmpfs");
        using var tmpfs = new TmpfsMount(dir.File("shm"), "size=64m");
        string image = Path.Combine(tmpfs.Path, "image.cryo");
        using (var program = RunningProgram.Start("memhog", dir, "--mib=16"))
        {
            var result = CryoTool.Must(dir, "checkpoint", program.Pid.ToString(), "-o", image, "--leave-running", "--no-snapshot", "--verbose");
            Assert.Matches(@"touched the 1[6-9] MiB reserved on tmpfs in \d+ ms", result.StandardError);
            Assert.Matches(@"frozen [0-9.]+ ms; left running; reserve [0-9.]+ ms, freeze", result.StandardError);
            Assert.Equal("PASS", program.Terminate());
        }
        var verify = CryoTool.Dump("--verify", image);
        Assert.True(verify.ExitCode == 0, $"cryo-dump --verify: {verify.StandardOutput}{verify.StandardError}");
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Three_cycles_in_a_row_pass() =>
        Assert.Equal("PASS", Cycles("cycles", 3, "pipe", "--size=7000"));

    /// <summary>
    /// A timed wait stopped by the checkpoint goes on after the restore: it neither fails with
    /// EINTR (no handler ran) nor ends early. The kernel resumes these calls through the task's
    /// restart block, which a restored task does not have: a sleep that reported its remaining
    /// time sleeps what was left, a futex wait with an absolute timeout ends when it would have,
    /// the others wait their whole timeout again. epoll_wait, sigtimedwait and semtimedop the kernel
    /// never restarts: the freeze cuts them short with EINTR, and cryo sets them to be made again
    /// (their whole timeout). napper naps 300 ms at a time in the call given; two cycles each.
    /// </summary>
    [Theory]
    [InlineData("nanosleep")]
    [InlineData("clock")]
    [InlineData("nanosleep-norem")]
    [InlineData("poll")]
    [InlineData("futex")]
    [InlineData("futex-abs")]
    [InlineData("epoll")]
    [InlineData("sigtimedwait")]
    [InlineData("semtimedop")]
    public void Interrupted_timed_waits_go_on_after_the_restore(string call) =>
        Assert.Equal("PASS", Cycles($"naps-{call}", 2, "napper", "--nap-ms=300", $"--calls={call}"));

    /// <summary>
    /// The waits the kernel never restarts return EINTR to a process left running too, unless cryo
    /// sets them to be made again: the original naps on without an error, and so does the copy.
    /// </summary>
    [Fact]
    public void Waits_the_kernel_never_restarts_go_on_in_a_process_left_running()
    {
        using var dir = new TestDirectory("naps-leave");
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start("napper", dir, "--nap-ms=1500", "--calls=epoll,sigtimedwait,semtimedop"))
        {
            for (int i = 0; i < 3; i++)
                CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running");
            Assert.Equal("PASS", program.Terminate());
        }
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>Checkpoint (kill) and restore <paramref name="count"/> times in a row; the verdict of the last restore.</summary>
    internal static string Cycles(string name, int count, string program, params string[] args)
    {
        using var dir = new TestDirectory(name);
        string image = dir.File("image.cryo");
        int pid;
        using (var running = RunningProgram.Start(program, dir, args))
        {
            pid = running.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(), "-o", image);
            running.WaitForExit("checkpointed");
        }
        for (int cycle = 1; cycle < count; cycle++)
        {
            using var restored = Restored.Start(image, dir);
            Assert.Equal(pid, restored.Pid);
            CryoTool.Must(dir, "checkpoint", pid.ToString(), "-o", image);
            restored.WaitForCryo($"cycle {cycle}: the restored process was checkpointed and killed", expectSuccess: false);
        }
        return Restored.RunToVerdict(image, dir);
    }

    /// <summary>
    /// `cryo checkpoint PID -o - | cryo restore -` on one machine: the restore meets the pid while
    /// the original is still frozen, and an image larger than the pipe's buffers (memhog) can only
    /// get through if the restore keeps reading while it waits for the pid.
    /// </summary>
    [Theory]
    [InlineData("pipe", "--size=4000")]
    [InlineData("memhog", "--mib=16")]
    public async Task A_checkpoint_streams_through_a_pipe_into_a_restore(string name, string arg)
    {
        using var dir = new TestDirectory("stream");
        using var program = RunningProgram.Start(name, dir, arg);
        int pid = program.Pid;
        // cryo checkpoint PID -o - | cryo restore - : the restore waits on the pid, freed once we reap it.
        var restore = CryoTool.Cryo("restore", "-", "--pidfile", dir.File("restored.pid"));
        var checkpoint = CryoTool.Cryo("checkpoint", pid.ToString(), "-o", "-") | restore;
        using var cts = new CancellationTokenSource(CryoTool.Timeout);
        var stderr = new System.Text.StringBuilder();
        var running = (checkpoint.WithStandardErrorPipe(CliWrap.PipeTarget.ToStringBuilder(stderr))).ExecuteAsync(cts.Token);
        program.WaitForExit("checkpointed into the pipe");
        Support.Wait.Until(() => File.Exists(dir.File("restored.pid")) || running.Task.IsCompleted, RunningProgram.Timeout,
            "the restored pidfile", () => $"{stderr} {dir.Describe(name)}");
        Assert.True(File.Exists(dir.File("restored.pid")), $"restore from the pipe failed: {stderr}");
        Interop.Native.Kill(pid, Interop.Signals.SIGTERM);
        var result = await running;
        Assert.True(result.ExitCode == 0, $"restored program exited {result.ExitCode}: {stderr}\n{dir.Describe(name)}");
        Assert.Equal("PASS", dir.Verdict());
    }

    internal static string GoldenDirectory => GoldenCycle.Directory;

    internal static string Normalized(string image, TestDirectory dir)
    {
        var dump = CryoTool.Dump("--normalize", "--path-alias", $"{dir.Path}=<tmp>", "--path-alias", $"{GoldenFile.RepoRoot()}=<repo>", image);
        Assert.True(dump.ExitCode == 0, $"cryo-dump failed: {dump.StandardError}");
        return dump.StandardOutput;
    }
}
