using System.Globalization;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Process trees and threads (issue 5): the golden item stream of each tree program, then the
/// restored tree's own verdict (the root collects the verdict of every process), the
/// leave-running cycle, a tree holding an unsupported resource, and a pid taken at restore.
/// </summary>
public class TreeTests
{
    public static TheoryData<string, string[]> Programs => new()
    {
        { "multiproc", ["--seed=1"] },
        { "threads", [] },
        { "zombie", [] },
        { "shared", ["--seed=1"] },
        { "setuid", [] },
    };

    [Theory]
    [MemberData(nameof(Programs))]
    public void Image_is_golden_and_restore_passes(string name, string[] args) =>
        Assert.Equal("PASS", GoldenCycle.Run(name, args, (image, dir, _) => CheckpointRestoreTests.Normalized(image, dir)));

    [Theory]
    [MemberData(nameof(Programs))]
    public void Leave_running_keeps_the_tree_passing(string name, string[] args)
    {
        using var dir = new TestDirectory($"leave-{name}");
        using var program = RunningProgram.Start(name, dir, args);
        var before = Descendants(program.Pid);
        CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", dir.File("image.cryo"), "--leave-running");
        Assert.False(program.HasExited(), $"the original died. {program.Describe()}");
        Assert.Equal(before, Descendants(program.Pid));
        Assert.Equal("PASS", program.Terminate());
    }

    [Fact]
    public void Two_cycles_of_a_tree_pass()
    {
        using var dir = new TestDirectory("tree-cycles");
        string image = dir.File("image.cryo");
        int pid;
        using (var program = RunningProgram.Start("multiproc", dir))
        {
            pid = program.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("checkpointed");
        }
        using (var restored = Restored.Start(image, dir))
        {
            Assert.Equal(pid, restored.Pid);
            Assert.Equal(7, Descendants(pid).Count);
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            restored.WaitForCryo("the restored tree was checkpointed and killed", expectSuccess: false);
        }
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void A_tree_with_an_unsupported_resource_in_a_grandchild_is_refused_and_runs_on()
    {
        using var dir = new TestDirectory("refuse-tree");
        using var program = RunningProgram.Start("multiproc", dir, "--socket-in-child");
        string image = dir.File("image.cryo");
        var descendants = Descendants(program.Pid);
        var result = CryoTool.Run("checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image);
        Assert.True(result.ExitCode == 1, $"cryo exited {result.ExitCode}: {result.StandardError}");
        Assert.Contains("socket", result.StandardError);
        Assert.Matches(@"pid \d+: fd \d+", result.StandardError);
        int named = int.Parse(System.Text.RegularExpressions.Regex.Match(result.StandardError, @"pid (\d+): fd").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Contains(named, descendants);
        Assert.False(File.Exists(image), "a refused checkpoint left a file");
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
        Assert.False(program.HasExited(), $"the root died. {program.Describe()}");
        Assert.Equal(descendants, Descendants(program.Pid));
        Assert.Equal("PASS", program.Terminate());
    }

    [Fact]
    public void A_pid_taken_at_restore_is_named_and_nothing_is_left_behind()
    {
        using var dir = new TestDirectory("tree-taken");
        string image = dir.File("image.cryo");
        // Its child has no parent-death signal: it outlives the root.
        using var program = RunningProgram.Start("unsupported", dir, "--kind=child");
        var descendants = Descendants(program.Pid);
        Assert.Single(descendants);
        CryoTool.Must(dir, "checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running");
        // The root goes (its pid is free again); its child lives on (an orphan, its pid taken).
        Native.Kill(program.Pid, Signals.SIGKILL);
        program.WaitForExit("killed");
        try
        {
            var result = CryoTool.Run("restore", image);
            Assert.True(result.ExitCode == 1, $"cryo exited {result.ExitCode}: {result.StandardError}");
            Assert.Matches(@"cannot recreate pid \d+: pid \d+ is taken by process 'unsupported'", result.StandardError);
            int taken = int.Parse(System.Text.RegularExpressions.Regex.Match(result.StandardError, @"cannot recreate pid (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.Contains(taken, descendants);
            // The root was recreated before the clash: it must be gone (killed and reaped), not a zombie.
            Assert.False(Directory.Exists($"/proc/{program.Pid}"), $"pid {program.Pid} was left behind by the failed restore");
            // The originals were not touched.
            Assert.All(descendants, pid => Assert.True(Directory.Exists($"/proc/{pid}"), $"original pid {pid} is gone"));
        }
        finally
        {
            // The orphan is init's child now: kill it and wait until init has reaped it.
            foreach (int pid in descendants) Native.Kill(pid, Signals.SIGKILL);
            Wait.Until(() => descendants.All(pid => !Directory.Exists($"/proc/{pid}")), RunningProgram.Timeout, "the orphans to be reaped", () => "");
        }
    }

    /// <summary>The pids below <paramref name="root"/> (/proc/PID/task/TID/children, recursively), sorted.</summary>
    internal static List<int> Descendants(int root)
    {
        var result = new List<int>();
        var pending = new Stack<int>([root]);
        while (pending.Count > 0)
        {
            int pid = pending.Pop();
            if (!Directory.Exists($"/proc/{pid}/task")) continue;
            foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                string text;
                try { text = File.ReadAllText(Path.Combine(task, "children")); }
                catch (IOException) { continue; }
                foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    int child = int.Parse(word, CultureInfo.InvariantCulture);
                    result.Add(child);
                    pending.Push(child);
                }
            }
        }
        result.Sort();
        return result;
    }
    /// <summary>
    /// A process whose process group outlived its leader (a shell that started it in the
    /// background and exited): once the process is killed the group is gone, so the restore tries
    /// to join it at the end, after the image's memory replaced the stub's (where the first
    /// syscall site was), and warns that it cannot. The program must still pass. The C programs
    /// make their own session, so this is testprogs/py/waiter.py under python3. This test process
    /// is its subreaper while it runs (the tests run one at a time), so that it can reap the
    /// orphan once the checkpoint killed it: pid 1 here may not reap at all.
    /// </summary>
    [Fact]
    public void A_process_whose_group_leader_is_gone_is_restored_with_a_warning()
    {
        using var dir = new TestDirectory("orphan-group");
        Native.SetChildSubreaper(1);
        int pid = 0;
        bool reaped = false;
        try
        {
            int shell = PosixSpawn.Spawn("/bin/sh", ["/bin/sh", "-c", "python3 \"$0\" \"$1\" \"$2\" &", TestPrograms.Script("waiter.py"),
                dir.PidFile, dir.OutFile], environment: null, outputPath: dir.LogFile, newSession: true);
            Assert.Equal(shell, Native.WaitPid(shell, out _, 0));
            Wait.Until(() => File.Exists(dir.PidFile), RunningProgram.Timeout, "the pidfile of waiter.py started by sh", () => dir.Describe("waiter.py"));
            pid = int.Parse(File.ReadAllText(dir.PidFile).Trim(), CultureInfo.InvariantCulture);
            Assert.Equal(shell.ToString(CultureInfo.InvariantCulture), File.ReadAllText($"/proc/{pid}/stat").Split(' ')[4]);
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", dir.File("image.cryo"));
            reaped = Native.WaitPid(pid, out _, 0) == pid;
            Assert.True(reaped, $"the checkpointed orphan (pid {pid}) was not this test's to reap");
            using var restored = Restored.Start(dir.File("image.cryo"), dir);
            Native.Kill(restored.Pid, Signals.SIGTERM);
            var result = restored.WaitForCryo("after SIGTERM", expectSuccess: true);
            Assert.Contains($"pid {pid} was in process group {shell}, which cannot be joined here", result.StandardError);
            Assert.Equal("PASS", dir.Verdict());
        }
        finally
        {
            Native.SetChildSubreaper(0);
            if (pid > 0 && !reaped)
            {
                // The original, left by a failure: killed and reaped (it is this process's child).
                Native.Kill(pid, Signals.SIGKILL);
                Native.WaitPid(pid, out _, 0);
            }
        }
    }
}
