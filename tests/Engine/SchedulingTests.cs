using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Tests.Engine.Support;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// Scheduling: the dump side reads testprogs/sched (three threads with their own policy, nice,
/// affinity and timer slack) from outside; the restore side sets the attributes of a stopped stub
/// from outside, and /proc shows them. The stub stays stopped, so a SCHED_FIFO one never runs.
/// </summary>
public sealed class SchedulingTests(ResourcePrograms programs) : IClassFixture<ResourcePrograms>
{
    private static readonly DumpSession Session = new(new CheckpointOptions(true, PipeDumpStrategy.Tee));
    private const int CAP_SYS_RESOURCE = 24;

    [Fact]
    public void The_dump_reads_each_threads_attributes_and_changes_nothing()
    {
        using var run = FrozenRun.StartProgram(programs.Program("sched"));
        Assert.Equal(new OomScoreAdjustment(345), Assert.Single(run.Dump<Scheduling>(Session)));

        var mainItems = run.Tracer.Run(() => ResourceKinds.Find<Scheduling>().DumpThread(run.Frozen(), run.Frozen().Threads[0]).ToList());
        var main = Assert.IsType<ThreadScheduling>(mainItems[0]);
        Assert.Equal(new IoPriority(IoPriorityClass.Idle, 0, 0), Assert.IsType<IoPriority>(mainItems[1]));
        ulong[] mine = Native.SchedGetAffinity(0, "this test"); // the program started with the test's CPUs
        int lowest = ThreadScheduling.Cpus(mine)[0], highest = ThreadScheduling.Cpus(mine)[^1];
        AssertScheduling(main, SchedulingPolicy.Batch, false, 7, 0, 123_456, ThreadScheduling.Mask(lowest));
        var byName = Directory.GetDirectories($"/proc/{run.Pid}/task").Select(task => int.Parse(Path.GetFileName(task)))
            .ToDictionary(tid => File.ReadAllText($"/proc/{run.Pid}/task/{tid}/comm").Trim(), tid => Scheduling.Read(run.Pid, tid));
        Assert.Equal(["s-fifo", "s-idle", "sched"], byName.Keys.Order(StringComparer.Ordinal));
        AssertScheduling(byName["sched"], main.Policy, main.ResetOnFork, main.Nice, main.RealtimePriority, main.TimerSlackNanoseconds, main.Affinity);
        AssertScheduling(byName["s-idle"], SchedulingPolicy.Idle, false, 3, 0, 654_321, ThreadScheduling.Mask(highest));
        // A real-time thread's timer slack is whatever the kernel keeps (0 from 6.x on): not checked here.
        AssertScheduling(byName["s-fifo"], SchedulingPolicy.Fifo, true, 11, 10, byName["s-fifo"].TimerSlackNanoseconds, mine);

        var (code, verdict) = run.DetachAndTerminate();
        Assert.True(code == 0 && verdict == "PASS", $"exit {code}, verdict {verdict}: {run.Describe()}");
    }

    [Theory]
    [InlineData(SchedulingPolicy.Idle, false, 5, 0, 777_777UL)]
    [InlineData(SchedulingPolicy.Batch, true, -3, 0, 1UL)]
    [InlineData(SchedulingPolicy.Fifo, true, 11, 3, 0UL)] // the kernel keeps a real-time thread's slack at 0
    [InlineData(SchedulingPolicy.RoundRobin, false, 0, 99, 0UL)]
    [InlineData(SchedulingPolicy.Other, false, 0, 0, 50_000UL)]
    public void Restore_sets_the_attributes_of_the_thread_from_outside(SchedulingPolicy policy, bool resetOnFork, int nice, byte priority, ulong slack)
    {
        using var run = FrozenRun.StartStub(programs, "plain");
        int cpu = ThreadScheduling.Cpus(Scheduling.OnlineCpus())[^1];
        var saved = new ThreadScheduling(policy, resetOnFork, nice, priority, slack, ThreadScheduling.Mask(cpu));
        var process = run.Restoring();
        process.CurrentThread = Thread(run.Pid);
        run.RestoreAndFinish<Scheduling>(process, [new OomScoreAdjustment(123), saved]);

        AssertScheduling(Scheduling.Read(run.Pid, run.Pid), policy, resetOnFork, nice, priority, slack, saved.Affinity);
        Assert.Equal(123, Scheduling.ReadOomScore(run.Pid));
    }

    /// <summary>Without CAP_SYS_RESOURCE (as here) Linux refuses to lower oom_score_adj below what the process inherited.</summary>
    [Fact]
    public void A_negative_oom_score_adj_needs_CAP_SYS_RESOURCE_and_its_absence_is_named()
    {
        using var run = FrozenRun.StartStub(programs, "plain");
        bool capable = (ProcStatusCapEff() >> CAP_SYS_RESOURCE & 1) != 0;
        var restore = () => run.RestoreAndFinish<Scheduling>(run.Restoring(), [new OomScoreAdjustment(-500)]);
        if (capable)
        {
            restore();
            Assert.Equal(-500, Scheduling.ReadOomScore(run.Pid));
            return;
        }
        var e = Assert.Throws<InvalidOperationException>(restore);
        Assert.Contains($"pid {run.Pid}: cannot lower oom_score_adj to -500: that needs CAP_SYS_RESOURCE", e.Message, StringComparison.Ordinal);
        Assert.Contains("EACCES", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_affinity_with_no_online_cpu_is_refused_when_its_item_comes_and_nothing_changes()
    {
        using var run = FrozenRun.StartStub(programs, "plain");
        var before = Scheduling.Read(run.Pid, run.Pid);
        ulong[] online = Scheduling.OnlineCpus();
        int missing = ThreadScheduling.Cpus(online)[^1] + 1;
        var process = run.Restoring();
        process.CurrentThread = Thread(run.Pid);
        var saved = new ThreadScheduling(SchedulingPolicy.Idle, false, 9, 0, 1000, [.. ThreadScheduling.Mask(missing)]);
        var e = Assert.Throws<InvalidOperationException>(() => run.RestoreAndFinish<Scheduling>(process, [saved]));
        Assert.Equal($"pid {run.Pid} tid {run.Pid}: the saved CPU affinity {missing} names no CPU online on this machine " +
                     $"(online: {ThreadScheduling.CpuList(online)})", e.Message);
        var after = Scheduling.Read(run.Pid, run.Pid);
        AssertScheduling(after, before.Policy, before.ResetOnFork, before.Nice, before.RealtimePriority, before.TimerSlackNanoseconds, before.Affinity);
    }

    [Fact]
    public void A_SCHED_DEADLINE_thread_is_refused_naming_pid_and_tid()
    {
        using var run = FrozenRun.StartProgram(programs.Program("unsupported"), "--kind=deadline");
        var e = Assert.Throws<UnsupportedResourceException>(() => run.Dump<Scheduling>(Session));
        Assert.Equal($"cannot checkpoint pid {run.Pid}: tid {run.Pid}: scheduling policy SCHED_DEADLINE: its runtime, deadline and period are not saved yet", e.Message);
        var (code, verdict) = run.DetachAndTerminate();
        Assert.True(code == 0 && verdict == "PASS", $"exit {code}, verdict {verdict}: {run.Describe()}");
    }

    [Fact]
    public void Cpu_lists_are_parsed_and_printed_as_Linux_writes_them()
    {
        ulong[] mask = Scheduling.ParseCpuList("0-3,8,10-11,64", "online");
        Assert.Equal([0xd0fUL, 1UL], mask);
        Assert.Equal("0-3,8,10-11,64", ThreadScheduling.CpuList(mask));
        Assert.Equal("none", ThreadScheduling.CpuList([0, 0]));
        Assert.Throws<ProcFormatException>(() => Scheduling.ParseCpuList("3-1", "online"));
        Assert.Throws<ProcFormatException>(() => Scheduling.ParseCpuList("x", "online"));
        Scheduling.CheckAffinity(7, 8, [0, 2], [0, 3]); // CPU 65 is online: accepted
        var e = Assert.Throws<InvalidOperationException>(() => Scheduling.CheckAffinity(7, 8, [4, 0], [3]));
        Assert.Equal("pid 7 tid 8: the saved CPU affinity 2 names no CPU online on this machine (online: 0-1)", e.Message);
    }

    private static ThreadInfo Thread(int tid) => new(tid, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, SyscallRestart.None, "x"u8.ToArray());

    private static void AssertScheduling(ThreadScheduling s, SchedulingPolicy policy, bool resetOnFork, int nice, byte priority, ulong slack, ulong[] affinity) =>
        Assert.True(s.Policy == policy && s.ResetOnFork == resetOnFork && s.Nice == nice && s.RealtimePriority == priority
                    && s.TimerSlackNanoseconds == slack && s.Affinity.SequenceEqual(affinity),
            $"found {ThreadScheduling.NameOf(s.Policy)} reset_on_fork {s.ResetOnFork} nice {s.Nice} priority {s.RealtimePriority} " +
            $"slack {s.TimerSlackNanoseconds} CPUs {ThreadScheduling.CpuList(s.Affinity)}; expected {ThreadScheduling.NameOf(policy)} " +
            $"reset_on_fork {resetOnFork} nice {nice} priority {priority} slack {slack} CPUs {ThreadScheduling.CpuList(affinity)}");

    private static ulong ProcStatusCapEff()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
        return Convert.ToUInt64(line["CapEff:".Length..].Trim(), 16);
    }
}
