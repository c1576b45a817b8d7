using System.Globalization;
using Cryo.Format;
using Cryo.Resources;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Scheduling attributes through real checkpoints and restores, with testprogs/sched: per thread
/// the policy (SCHED_BATCH, SCHED_IDLE, SCHED_FIFO with SCHED_RESET_ON_FORK), nice, CPU affinity
/// and timer slack, and the process's oom_score_adj. The program checks every value itself after
/// SIGTERM; the tests also compare the image with what the program set, and the restored process
/// with the image, from outside. No golden item stream: the affinities depend on the machine.
/// </summary>
public class SchedulingTests
{
    private const int OomScoreAdj = 345;

    [Fact]
    public void Scheduling_attributes_are_saved_per_thread_and_restored()
    {
        using var dir = new TestDirectory("sched");
        var (image, pid) = Checkpoints.Kill(dir, "sched");

        var (oom, threads) = Read(image);
        Assert.Equal(OomScoreAdj, oom.Value);
        Assert.Equal(["s-fifo", "s-idle", "sched"], threads.Keys.Order(StringComparer.Ordinal));
        // The program pins main to the lowest CPU it may use and s-idle to the highest; s-fifo keeps them all.
        ulong[] all = threads["s-fifo"].Scheduling.Affinity;
        int lowest = ThreadScheduling.Cpus(all).First(), highest = ThreadScheduling.Cpus(all).Last();
        AssertScheduling(threads["sched"].Scheduling, SchedulingPolicy.Batch, false, 7, 0, 123_456, [lowest]);
        AssertScheduling(threads["s-idle"].Scheduling, SchedulingPolicy.Idle, false, 3, 0, 654_321, [highest]);
        AssertScheduling(threads["s-fifo"].Scheduling, SchedulingPolicy.Fifo, true, 11, 10, threads["s-fifo"].Scheduling.TimerSlackNanoseconds, ThreadScheduling.Cpus(all));
        Assert.Equal(ThreadScheduling.Cpus(all), ThreadScheduling.Cpus(Interop.Native.SchedGetAffinity(0, "this test"))); // what the program started with

        // From outside, while the restored process runs: every thread has its saved attributes.
        using (var restored = Restored.Start(image, dir))
        {
            Assert.Equal(pid, restored.Pid);
            Assert.Equal(OomScoreAdj, Scheduling.ReadOomScore(pid));
            foreach (var (name, (tid, saved)) in threads)
                Assert.True(Same(saved, Scheduling.Read(pid, tid)), $"restored thread {name} (tid {tid}): {Show(Scheduling.Read(pid, tid))}, saved {Show(saved)}");
            Interop.Native.Kill(pid, Interop.Signals.SIGTERM);
            restored.WaitForCryo("after SIGTERM", expectSuccess: true);
        }
        Assert.Equal("PASS", dir.Verdict());
    }

    /// <summary>A restored process (idle, FIFO and pinned threads) is checkpointed again like the original.</summary>
    [Fact]
    public void Scheduling_attributes_survive_two_cycles_in_a_row() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("sched-cycles", 2, "sched"));

    /// <summary>The dump only reads (sched_getscheduler, sched_getaffinity, /proc): the original keeps every attribute.</summary>
    [Fact]
    public void Leave_running_leaves_the_original_with_its_attributes() =>
        Assert.Equal("PASS", CheckpointRestoreTests.LeaveRunning("sched-leave", "sched"));

    /// <summary>
    /// An image whose thread may only run on a CPU this machine does not have (the s-idle thread's
    /// SCHD rewritten to name the first CPU above the online ones): the restore fails naming pid,
    /// tid, the saved CPUs and the online ones, and kills the process it had created.
    /// </summary>
    [Fact]
    public void An_affinity_with_no_online_cpu_fails_the_restore_and_leaves_no_process()
    {
        using var dir = new TestDirectory("sched-nocpu");
        string image = dir.File("image.cryo"), moved = dir.File("moved.cryo");
        int pid;
        using (var program = RunningProgram.Start("sched", dir))
        {
            pid = program.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("checkpointed");
        }
        ulong[] online = Scheduling.OnlineCpus();
        int missing = ThreadScheduling.Cpus(online).Last() + 1;
        int idleTid = Read(image).Threads["s-idle"].Tid;
        Rewrite(image, moved, (tid, s) => tid == idleTid ? s with { Affinity = ThreadScheduling.Mask(missing) } : s);

        var result = CryoTool.Run("restore", moved);
        Assert.True(result.ExitCode == 1, $"cryo restore exited {result.ExitCode}: {result.StandardError}");
        Assert.Contains($"pid {pid} tid {idleTid}: the saved CPU affinity {missing} names no CPU online on this machine " +
                        $"(online: {ThreadScheduling.CpuList(online)})", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("'SCHD'", result.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} still exists after the failed restore");
        // The untouched image still restores.
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    private static void AssertScheduling(ThreadScheduling s, SchedulingPolicy policy, bool resetOnFork, int nice, byte priority, ulong slack, int[] cpus)
    {
        string what = Show(s);
        Assert.True(s.Policy == policy && s.ResetOnFork == resetOnFork && s.Nice == nice && s.RealtimePriority == priority
                    && s.TimerSlackNanoseconds == slack && ThreadScheduling.Cpus(s.Affinity).SequenceEqual(cpus),
            $"saved {what}, expected {ThreadScheduling.NameOf(policy)} reset_on_fork {resetOnFork} nice {nice} priority {priority} " +
            $"slack {slack} CPUs {string.Join(',', cpus)}");
    }

    private static bool Same(ThreadScheduling a, ThreadScheduling b) =>
        (a.Policy, a.ResetOnFork, a.Nice, a.RealtimePriority, a.TimerSlackNanoseconds) == (b.Policy, b.ResetOnFork, b.Nice, b.RealtimePriority, b.TimerSlackNanoseconds)
        && a.Affinity.SequenceEqual(b.Affinity);

    private static string Show(ThreadScheduling s) =>
        $"{ThreadScheduling.NameOf(s.Policy)}{(s.ResetOnFork ? "|SCHED_RESET_ON_FORK" : "")} priority {s.RealtimePriority} nice {s.Nice} " +
        $"slack {s.TimerSlackNanoseconds} ns CPUs {ThreadScheduling.CpuList(s.Affinity)}";

    /// <summary>The OOMS item and, by thread name, each thread's tid and SCHD item.</summary>
    private static (OomScoreAdjustment Oom, Dictionary<string, (int Tid, ThreadScheduling Scheduling)> Threads) Read(string image)
    {
        OomScoreAdjustment? oom = null;
        var threads = new Dictionary<string, (int, ThreadScheduling)>();
        ThreadInfo? current = null;
        using var reader = CheckpointReader.OpenFile(image);
        while (reader.GetNextItem() is { } item)
        {
            if (item is OomScoreAdjustment o) oom = o;
            if (item is ThreadInfo info) current = info;
            if (item is ThreadScheduling s && current is not null) threads.Add(System.Text.Encoding.ASCII.GetString(current.Comm), (current.Tid, s));
        }
        return (oom ?? throw new InvalidDataException($"{image} has no OOMS item"), threads);
    }

    /// <summary>Copies an image item by item, passing each SCHD (with its thread's tid) through <paramref name="change"/>.</summary>
    private static void Rewrite(string from, string to, Func<int, ThreadScheduling, ThreadScheduling> change)
    {
        using var reader = CheckpointReader.OpenFile(from);
        using var writer = CheckpointWriter.CreateFile(to, reader.Header);
        int tid = 0;
        while (reader.GetNextItem() is { } item)
        {
            if (item is ThreadInfo info) tid = info.Tid;
            writer.Write(item is ThreadScheduling s ? change(tid, s) : item);
        }
        writer.Complete();
    }
}
