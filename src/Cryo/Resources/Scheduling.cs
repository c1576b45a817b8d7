using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// Scheduling attributes: per thread (SCHD, in the THRD section through <see cref="DumpThread"/>,
/// called by Threads) the policy with its real-time priority and SCHED_RESET_ON_FORK, the nice
/// value, the CPU affinity and the timer slack, and (IOPR) the I/O priority (ioprio_get);
/// per process (OOMS) the oom_score_adj. Everything
/// is read and set from outside, by tid, with no injected call: /proc/PID/task/TID/stat,
/// sched_getscheduler, sched_getaffinity and /proc/TID/timerslack_ns, which only read, so
/// --leave-running leaves the original as it was. SCHED_DEADLINE (and any policy not listed in
/// <see cref="SchedulingPolicy"/>) is refused. The restore comes last of all kinds
/// (<see cref="ResourceKinds.FinishOrder"/>): a thread given SCHED_IDLE, a high nice or one CPU
/// does not slow the injected calls of the restore, and a SCHED_FIFO one cannot starve them.
/// </summary>
internal sealed class Scheduling : IResourceKind
{
    private const string OnlineCpusFile = "/sys/devices/system/cpu/online";

    public string Name => "Scheduling";

    public bool Handles(CheckpointItem item) => item is ThreadScheduling or IoPriority or OomScoreAdjustment;

    // ---------------------------------------------------------------- dump

    /// <summary>
    /// The process's OOMS. Every thread's policy is checked here already, before the memory is
    /// planned, so that a SCHED_DEADLINE thread is refused early (Threads reads the rest later).
    /// </summary>
    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        foreach (var thread in process.Threads) ReadPolicy(process.Pid, thread.Tid);
        return new DumpedItems([new OomScoreAdjustment(ReadOomScore(process.Pid))]);
    }

    internal static int ReadOomScore(int pid)
    {
        string path = ProcFiles.PathOf(pid, "oom_score_adj");
        return (int)ProcFiles.ParseLong(ProcFiles.ReadText(path).Trim(), path, "oom_score_adj");
    }

    /// <summary>The thread's SCHD and IOPR items (called by Threads for its THRD section).</summary>
    public IEnumerable<CheckpointItem> DumpThread(FrozenProcess process, FrozenThread thread) =>
        [Read(process.Pid, thread.Tid), IoPriority.FromValue(Native.IoprioGet(thread.Tid, Context(process.Pid, thread.Tid)))];

    /// <summary>The scheduling attributes of thread <paramref name="tid"/> of <paramref name="pid"/>, read from outside; it need not be stopped.</summary>
    internal static ThreadScheduling Read(int pid, int tid)
    {
        var (policy, resetOnFork) = ReadPolicy(pid, tid);
        string statPath = $"/proc/{pid}/task/{tid}/stat";
        var stat = ProcStat.Parse(ProcFiles.ReadText(statPath), statPath);
        // Only /proc/TID (not /proc/PID/task/TID) has the file; for another task it needs CAP_SYS_NICE.
        string slackPath = $"/proc/{tid}/timerslack_ns";
        ulong slack = ProcFiles.ParseULong(ProcFiles.ReadText(slackPath).Trim(), slackPath, "timer slack");
        ulong[] affinity = Native.SchedGetAffinity(tid, Context(pid, tid));
        if (stat.Nice is < ThreadScheduling.MinNice or > ThreadScheduling.MaxNice || stat.RealtimePriority > ThreadScheduling.MaxRealtimePriority
            || affinity.Length is 0 or > ThreadScheduling.MaxAffinityWords)
            throw new InvalidOperationException(
                $"{Context(pid, tid)}: the kernel reported nice {stat.Nice}, real-time priority {stat.RealtimePriority} and " +
                $"{affinity.Length} affinity words, which a SCHD item cannot hold");
        return new ThreadScheduling(policy, resetOnFork, (int)stat.Nice, (byte)stat.RealtimePriority, slack, affinity);
    }

    /// <summary>The thread's policy and reset-on-fork flag (sched_getscheduler: /proc's stat omits the flag); refuses what SCHD cannot hold.</summary>
    private static (SchedulingPolicy Policy, bool ResetOnFork) ReadPolicy(int pid, int tid)
    {
        int raw = Native.SchedGetScheduler(tid, Context(pid, tid));
        int policy = raw & ~Native.SCHED_RESET_ON_FORK;
        if (policy == Native.SCHED_DEADLINE)
            throw new UnsupportedResourceException(pid, $"tid {tid}",
                "scheduling policy SCHED_DEADLINE: its runtime, deadline and period are not saved yet");
        if (!Enum.IsDefined((SchedulingPolicy)policy))
            throw new UnsupportedResourceException(pid, $"tid {tid}", $"scheduling policy {policy} (SCHED_EXT or newer): it is not saved yet");
        return ((SchedulingPolicy)policy, (raw & Native.SCHED_RESET_ON_FORK) != 0);
    }

    private static string Context(int pid, int tid) => $"pid {pid} tid {tid}";

    // ---------------------------------------------------------------- restore

    internal sealed class SchedulingState
    {
        public Dictionary<int, ThreadScheduling> Threads { get; } = [];
        public Dictionary<int, IoPriority> IoPriorities { get; } = [];
        public OomScoreAdjustment? OomScore { get; set; }
    }

    /// <summary>Keeps the items until Finish; an affinity with no CPU online here fails at once, before more is restored.</summary>
    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"'{item.Tag}' outside a PROC section");
        var state = process.State<SchedulingState>();
        switch (item)
        {
            case OomScoreAdjustment oom:
                if (state.OomScore is not null) throw new InvalidDataException($"image of pid {process.Pid}: a second OOMS");
                state.OomScore = oom;
                break;
            case ThreadScheduling scheduling:
                CheckAffinity(process.Pid, AddForThread(process, state.Threads, scheduling), scheduling.Affinity, OnlineCpus());
                break;
            case IoPriority io:
                AddForThread(process, state.IoPriorities, io);
                break;
        }
    }

    /// <summary>Files a thread's item under the tid of the THRD section it stands in, once per thread; the tid.</summary>
    private static int AddForThread<T>(RestoringProcess process, Dictionary<int, T> items, T item) where T : CheckpointItem
    {
        int tid = process.CurrentThread?.Tid
            ?? throw new InvalidDataException($"image of pid {process.Pid}: a {item.Tag} outside a THRD section");
        if (!items.TryAdd(tid, item)) throw new InvalidDataException($"image of pid {process.Pid}: a second {item.Tag} for tid {tid}");
        return tid;
    }

    /// <summary>The items by tid, each tid checked to be one of the process's threads.</summary>
    private static IEnumerable<(int Tid, T Item)> ForThreads<T>(RestoringProcess process, Dictionary<int, T> items) where T : CheckpointItem
    {
        foreach (var (tid, item) in items)
        {
            if (!process.ThreadIds.Contains(tid))
                throw new InvalidDataException($"image of pid {process.Pid}: a {item.Tag} for tid {tid}, which is not one of its threads");
            yield return (tid, item);
        }
    }

    /// <summary>
    /// Sets each thread's attributes from outside, by tid (the threads are stopped under the
    /// tracer and stay so until the release), then the process's oom_score_adj. A thread without
    /// a SCHD (an image of an older cryo) keeps what it inherited from the restore.
    /// </summary>
    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var state = process.State<SchedulingState>();
        foreach (var (tid, scheduling) in ForThreads(process, state.Threads))
            Apply(process.Pid, tid, scheduling);
        foreach (var (tid, io) in ForThreads(process, state.IoPriorities))
        {
            string context = $"{Context(process.Pid, tid)} (I/O priority class {io.Class} level {io.Level})";
            // Class none is left alone where the thread already has it: setting it makes older
            // kernels (5.10) report 0 instead of the 4 (class none, level 4) they report by default.
            if (io.Class == IoPriorityClass.None && IoPriority.FromValue(Native.IoprioGet(tid, context)).Class == IoPriorityClass.None) continue;
            Native.IoprioSet(tid, io.Value, context);
        }
        if (state.OomScore is { } oom)
            WriteOomScore(process.Pid, oom.Value);
    }

    /// <summary>
    /// Policy first: the kernel sets the timer slack of a thread that becomes real-time to 0 and
    /// ignores later changes (6.x), so the slack is written after it. sched_setscheduler keeps the
    /// nice value, and setpriority sets it for any policy (a real-time thread keeps it for the day
    /// it goes back to SCHED_OTHER).
    /// </summary>
    internal static void Apply(int pid, int tid, ThreadScheduling s)
    {
        string context = Context(pid, tid);
        int policy = (int)s.Policy | (s.ResetOnFork ? Native.SCHED_RESET_ON_FORK : 0);
        Native.SchedSetScheduler(tid, policy, s.RealtimePriority, $"{context} ({ThreadScheduling.NameOf(s.Policy)}, priority {s.RealtimePriority})");
        Native.SetNice(tid, s.Nice, $"{context} (nice {s.Nice})");
        try
        {
            Native.SchedSetAffinity(tid, s.Affinity, context);
        }
        catch (SysCallException e) when (e.ErrnoName == "EINVAL")
        {
            // The CPUs are online (checked when the item came) but not ours: a cpuset restricts cryo.
            throw new InvalidOperationException(
                $"{context}: the saved CPU affinity {ThreadScheduling.CpuList(s.Affinity)} names no CPU this restore may use " +
                $"(online: {ThreadScheduling.CpuList(OnlineCpus())}, cryo's own: {ThreadScheduling.CpuList(Native.SchedGetAffinity(0, "cryo"))}): {e.Message}", e);
        }
        // Real-time threads report 0 and the kernel keeps theirs at 0 whatever is written (6.x). For
        // another thread 0 means its default slack (its parent's at fork): what it had only if that was 0.
        Native.WriteProcValue($"/proc/{tid}/timerslack_ns", s.TimerSlackNanoseconds.ToString(CultureInfo.InvariantCulture),
            $"{context} (timer slack {s.TimerSlackNanoseconds} ns)");
    }

    /// <summary>
    /// Lowering it below the floor the process inherited (oom_score_adj_min: cryo's own, through the
    /// stub) needs CAP_SYS_RESOURCE; without it the kernel answers EACCES.
    /// </summary>
    private static void WriteOomScore(int pid, int value)
    {
        try
        {
            Native.WriteProcValue(ProcFiles.PathOf(pid, "oom_score_adj"), value.ToString(CultureInfo.InvariantCulture), $"pid {pid}");
        }
        catch (SysCallException e) when (e.ErrnoName == "EACCES")
        {
            throw new InvalidOperationException(
                $"pid {pid}: cannot lower oom_score_adj to {value}: that needs CAP_SYS_RESOURCE, which cryo lacks here: {e.Message}", e);
        }
    }

    /// <summary>Refuses an affinity that names no CPU online on this machine: the thread could never run.</summary>
    internal static void CheckAffinity(int pid, int tid, IReadOnlyList<ulong> saved, IReadOnlyList<ulong> online)
    {
        for (int i = 0; i < Math.Min(saved.Count, online.Count); i++)
            if ((saved[i] & online[i]) != 0) return;
        throw new InvalidOperationException(
            $"{Context(pid, tid)}: the saved CPU affinity {ThreadScheduling.CpuList(saved)} names no CPU online on this machine " +
            $"(online: {ThreadScheduling.CpuList(online)})");
    }

    /// <summary>The online CPUs as cpumask words, from /sys/devices/system/cpu/online ("0-3,8").</summary>
    internal static ulong[] OnlineCpus() => ParseCpuList(ProcFiles.ReadText(OnlineCpusFile).Trim(), OnlineCpusFile);

    internal static ulong[] ParseCpuList(string text, string file)
    {
        var words = new List<ulong>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] bounds = part.Split('-');
            if (bounds.Length > 2) throw new ProcFormatException(file, $"'{part}' is not a CPU or a CPU range");
            int first = Cpu(bounds[0]), last = Cpu(bounds[^1]);
            if (last < first) throw new ProcFormatException(file, $"'{part}' is an empty CPU range");
            for (int cpu = first; cpu <= last; cpu++)
            {
                while (words.Count <= cpu / 64) words.Add(0);
                words[cpu / 64] |= 1UL << (cpu % 64);
            }
        }
        return [.. words];

        int Cpu(string number) =>
            int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int cpu) && cpu < ThreadScheduling.MaxAffinityWords * 64
                ? cpu : throw new ProcFormatException(file, $"'{number}' is not a CPU number");
    }
}
