using CliWrap.Buffered;
using System.Globalization;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// multipipe (eight pipes: empty to a full 1 MiB, flags, a dup, packets, missing ends) and fifo
/// (named FIFOs: O_RDWR with 100 KiB unread, separate read and write ends) through the same
/// checkpoint/restore cycles as the other programs: golden item streams (the same for both pipe
/// dump strategies), restore, leave-running, three cycles, and a checkpoint on stdout restored from stdin.
/// </summary>
public class PipeProgramTests
{
    public static TheoryData<string, string[]> Programs => new()
    {
        { "multipipe", ["--seed=1"] },
        { "fifo", ["--seed=2"] },
    };

    public static TheoryData<string, string> ProgramsAndStrategies => new()
    {
        { "multipipe", "tee" },
        { "multipipe", "drain" },
        { "fifo", "tee" },
        { "fifo", "drain" },
    };

    public static TheoryData<string> Names => new() { "multipipe", "fifo" };

    [Theory]
    [MemberData(nameof(Programs))]
    public void Image_is_golden_and_restore_passes(string name, string[] args) =>
        Assert.Equal("PASS", GoldenCycle.Run(name, args, Normalized));

    /// <summary>Drain and write-back produces the very same item stream as tee (the same golden file), and restores.</summary>
    [Theory]
    [MemberData(nameof(Programs))]
    public void A_drain_image_is_the_same_golden_and_restore_passes(string name, string[] args)
    {
        using var dir = new TestDirectory($"{name}-drain");
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start(name, dir, args))
        {
            CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--pipe-dump", "drain");
            program.WaitForExit("cryo checkpoint kills it by default");
            string text = Normalized(image, dir, program.Pid);
            if (!GoldenFile.Accepting) GoldenFile.Verify(CheckpointRestoreTests.GoldenDirectory, name, text);
        }
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Theory]
    [MemberData(nameof(ProgramsAndStrategies))]
    public void Leave_running_keeps_the_original_passing(string name, string strategy)
    {
        using var dir = new TestDirectory($"{name}-leave");
        using var program = RunningProgram.Start(name, dir);
        for (int i = 0; i < 2; i++)
        {
            CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", dir.File($"image{i}.cryo"), "--leave-running", "--pipe-dump", strategy);
            Assert.False(program.HasExited(), $"the original died. {program.Describe()}");
        }
        Assert.Equal("PASS", program.Terminate());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Three_cycles_in_a_row_pass(string name)
    {
        using var dir = new TestDirectory($"{name}-cycles");
        string image = dir.File("image.cryo");
        int pid;
        using (var program = RunningProgram.Start(name, dir))
        {
            pid = program.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("checkpointed");
        }
        for (int cycle = 1; cycle < 3; cycle++)
        {
            using var restored = Restored.Start(image, dir);
            Assert.Equal(pid, restored.Pid);
            // Alternate the strategies: what one wrote back the other must read the same.
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--pipe-dump", cycle % 2 == 1 ? "drain" : "tee");
            restored.WaitForCryo($"cycle {cycle}: the restored process was checkpointed and killed", expectSuccess: false);
        }
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>
    /// A checkpoint written to stdout restores from stdin (no seekable file on either side). Not
    /// concurrently: these images (2.2 MiB, 250 KiB) do not fit the pipe buffers, so a restore
    /// started at once would reach the PINF while the checkpointer still holds the original
    /// frozen under the same pid (it kills only after the last byte is written).
    /// </summary>
    [Theory]
    [MemberData(nameof(Names))]
    public async Task A_checkpoint_on_stdout_restores_from_stdin(string name)
    {
        using var dir = new TestDirectory($"{name}-stream");
        var image = new MemoryStream();
        int pid;
        using (var program = RunningProgram.Start(name, dir))
        {
            pid = program.Pid;
            using var cts = new CancellationTokenSource(CryoTool.Timeout);
            var stderr = new System.Text.StringBuilder();
            var checkpoint = await CryoTool.Cryo("checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", "-")
                .WithStandardOutputPipe(CliWrap.PipeTarget.ToStream(image))
                .WithStandardErrorPipe(CliWrap.PipeTarget.ToStringBuilder(stderr)).ExecuteAsync(cts.Token);
            Assert.True(checkpoint.ExitCode == 0, $"checkpoint to stdout exited {checkpoint.ExitCode}: {stderr}\n{program.Describe()}");
            program.WaitForExit("checkpointed to stdout");
        }
        image.Position = 0;
        using (var restoreCts = new CancellationTokenSource(CryoTool.Timeout))
        {
            var stderr = new System.Text.StringBuilder();
            var running = CryoTool.Cryo("restore", "-", "--pidfile", dir.File("restored.pid"))
                .WithStandardInputPipe(CliWrap.PipeSource.FromStream(image))
                .WithStandardErrorPipe(CliWrap.PipeTarget.ToStringBuilder(stderr)).ExecuteAsync(restoreCts.Token);
            try
            {
                Wait.Until(() => File.Exists(dir.File("restored.pid")) || running.Task.IsCompleted, RunningProgram.Timeout,
                    "the restored pidfile", () => $"{stderr} {dir.Describe(name)}");
                Assert.True(File.Exists(dir.File("restored.pid")), $"restore from stdin failed: {stderr}");
                Interop.Native.Kill(pid, Interop.Signals.SIGTERM);
                var result = await running;
                Assert.True(result.ExitCode == 0, $"restored program exited {result.ExitCode}: {stderr}\n{dir.Describe(name)}");
                Assert.Equal("PASS", dir.Verdict());
            }
            finally
            {
                if (!running.Task.IsCompleted)
                {
                    if (File.Exists(dir.File("restored.pid"))) Interop.Native.Kill(pid, Interop.Signals.SIGKILL); // cryo restore then ends
                    else await restoreCts.CancelAsync();
                    try { await running; } catch (OperationCanceledException) { }
                }
            }
        }
    }

    /// <summary>The golden form; fifo's node names carry its pid, so they get aliases of their own.</summary>
    private static string Normalized(string image, TestDirectory dir, int pid)
    {
        var dump = CryoTool.Dump("--normalize",
            "--path-alias", $"{dir.Path}/fifo-rdwr.{pid}=<tmp>/fifo-rdwr.<pid>",
            "--path-alias", $"{dir.Path}/fifo-split.{pid}=<tmp>/fifo-split.<pid>",
            "--path-alias", $"{dir.Path}=<tmp>", "--path-alias", $"{GoldenFile.RepoRoot()}=<repo>", image);
        Assert.True(dump.ExitCode == 0, $"cryo-dump failed: {dump.StandardError}");
        return dump.StandardOutput;
    }

    /// <summary>
    /// `prog | cat`: the read end of the program's stdout is cat's, outside the checkpointed tree.
    /// The checkpoint says so, naming cat: a restore makes the pipe anew, without cat. The
    /// program, which writes nothing to stdout, passes after the restore.
    /// </summary>
    [Fact]
    public void A_pipe_also_held_outside_the_tree_is_named_in_a_checkpoint_warning()
    {
        using var dir = new TestDirectory("outside-pipe");
        string image = dir.File("image.cryo");
        string command = $"exec '{TestPrograms.Path("sleep")}' --pidfile={dir.PidFile} --outfile={dir.OutFile} 2>>{dir.LogFile} | cat > {dir.File("cat.out")}";
        int shell = Cryo.Interop.PosixSpawn.Spawn("/bin/sh", ["/bin/sh", "-c", command], environment: null, outputPath: dir.LogFile, newSession: false);
        int pid = 0;
        try
        {
            Wait.Until(() => File.Exists(dir.PidFile), RunningProgram.Timeout, "the program's pidfile", () => dir.Describe("sleep | cat"));
            pid = int.Parse(File.ReadAllText(dir.PidFile).Trim(), CultureInfo.InvariantCulture);
            var checkpoint = CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            Assert.Matches(@"cryo: warning: pipe:\[\d+\] is also held outside the checkpointed tree, by pid \d+ \(cat\) fd 0", checkpoint.StandardError);
        }
        finally
        {
            // The checkpoint kills the program (else this does), so cat sees the end of its input
            // and ends, and with it the shell, which is reaped here.
            if (pid > 0) Cryo.Interop.Native.Kill(pid, Cryo.Interop.Signals.SIGKILL);
            else Cryo.Interop.Native.Kill(shell, Cryo.Interop.Signals.SIGKILL);
            Wait.Until(() => Cryo.Interop.Native.WaitPid(shell, out _, Cryo.Interop.Native.WNOHANG) == shell, RunningProgram.Timeout,
                "the end of `sleep | cat`", () => dir.Describe("sleep | cat"));
        }

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>
    /// `cryo restore --inherit-fd pipe:[N]=1`: a shell loop printing into `| cat` is checkpointed,
    /// and restored with cryo's own stdout (a file here) in place of the pipe cat held: what the
    /// restored loop prints arrives there.
    /// </summary>
    [Fact]
    public async Task Inherit_fd_gives_the_restored_process_cryos_descriptor_for_a_pipe_held_outside()
    {
        using var dir = new TestDirectory("inherit-fd");
        string image = dir.File("image.cryo");
        string loop = $"echo $$ > {dir.PidFile}.tmp && mv {dir.PidFile}.tmp {dir.PidFile}; while :; do echo tick; sleep 0.05; done";
        int shell = Cryo.Interop.PosixSpawn.Spawn("/bin/sh", ["/bin/sh", "-c", $"/bin/sh -c '{loop}' | cat > {dir.File("cat.out")}"],
            environment: null, outputPath: dir.LogFile, newSession: false);
        int pid = 0;
        try
        {
            Wait.Until(() => File.Exists(dir.PidFile), RunningProgram.Timeout, "the loop's pidfile", () => dir.Describe("loop | cat"));
            pid = int.Parse(File.ReadAllText(dir.PidFile).Trim(), CultureInfo.InvariantCulture);
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
        }
        finally
        {
            if (pid > 0) KillWithChildren(pid);
            else Cryo.Interop.Native.Kill(shell, Cryo.Interop.Signals.SIGKILL);
            Wait.Until(() => Cryo.Interop.Native.WaitPid(shell, out _, Cryo.Interop.Native.WNOHANG) == shell, RunningProgram.Timeout,
                "the end of `loop | cat`", () => dir.Describe("loop | cat"));
        }

        string link = System.Text.Encoding.UTF8.GetString(ImageItems.Of<Cryo.Format.FileDescriptor>(image).First(f => f.Fd == 1).Path);
        Assert.StartsWith("pipe:[", link);
        string pidFile = dir.File("restored.pid");
        int ticks = 0;
        using var cts = new CancellationTokenSource(CryoTool.Timeout);
        var restore = CryoTool.Cryo("restore", image, "--inherit-fd", $"{link}=1", "--pidfile", pidFile)
            .WithStandardOutputPipe(CliWrap.PipeTarget.ToDelegate(line => { if (line == "tick") Interlocked.Increment(ref ticks); }))
            .ExecuteBufferedAsync(cts.Token);
        try
        {
            Wait.Until(() => Volatile.Read(ref ticks) >= 2 || restore.Task.IsCompleted, RunningProgram.Timeout,
                "ticks of the restored loop on cryo's stdout", () => dir.Describe("restore"));
            Assert.True(Volatile.Read(ref ticks) >= 2, "cryo restore ended before the restored loop printed through its stdout");
        }
        finally
        {
            if (File.Exists(pidFile)) KillWithChildren(int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture));
            await restore;
        }
    }

    [Theory]
    [InlineData("nonsense", "expected LINK=FD")]
    [InlineData("pipe:[1]=77", "cryo has no fd 77 open")]
    [InlineData("/etc/passwd=1", "only pipes (pipe:[N]) can be inherited")]
    public void Inherit_fd_refuses_what_it_cannot_give_before_reading_anything(string spec, string why)
    {
        var result = CryoTool.Run("restore", "/nonexistent.cryo", "--inherit-fd", spec);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--inherit-fd {spec}: {why}", result.StandardError);
    }

    /// <summary>A link the image does not have is refused before any process is created.</summary>
    [Fact]
    public void Inherit_fd_of_a_pipe_the_image_lacks_is_refused_before_any_process_exists()
    {
        using var dir = new TestDirectory("inherit-missing");
        string image = Checkpoints.Kill(dir, "sleep").Image;
        var result = CryoTool.Run("restore", image, "--inherit-fd", "pipe:[1]=1");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--inherit-fd pipe:[1]=1: the image has no descriptor of pipe:[1] (no process was created)", result.StandardError);
        Assert.DoesNotContain("creating pid", result.StandardError);
    }

    /// <summary>SIGKILL to a process and the children it has (a shell loop and its `sleep`).</summary>
    private static void KillWithChildren(int pid)
    {
        string children = $"/proc/{pid}/task/{pid}/children";
        var kids = File.Exists(children) ? File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList() : [];
        Cryo.Interop.Native.Kill(pid, Cryo.Interop.Signals.SIGKILL);
        foreach (int kid in kids) Cryo.Interop.Native.Kill(kid, Cryo.Interop.Signals.SIGKILL);
    }
}
