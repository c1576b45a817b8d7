namespace Cryo.Format;

/// <summary>The scheduling policies a <c>SCHD</c> item may hold, numbered as on Linux (SCHED_*). SCHED_DEADLINE (6) is not saved.</summary>
public enum SchedulingPolicy : byte { Other = 0, Fifo = 1, RoundRobin = 2, Batch = 3, Idle = 5 }

/// <summary>
/// <c>SCHD</c>: how the kernel schedules one thread: its policy and real-time priority (with
/// SCHED_RESET_ON_FORK), its nice value, its timer slack and the CPUs it may run on. All of these
/// belong to the thread, not the process, so the item stands in the thread's <c>THRD</c> section.
/// The affinity is the kernel's cpumask as 64-bit words: CPU n is bit n % 64 of word n / 64.
/// </summary>
public sealed record ThreadScheduling(SchedulingPolicy Policy, bool ResetOnFork, int Nice, byte RealtimePriority,
    ulong TimerSlackNanoseconds, ulong[] Affinity) : CheckpointItem
{
    public const int MinNice = -20, MaxNice = 19;
    public const byte MaxRealtimePriority = 99;
    /// <summary>The largest CPU count Linux is built for on x86-64 (NR_CPUS with MAXSMP): 8192 CPUs, 128 words.</summary>
    public const int MaxAffinityWords = 128;

    public static readonly ItemTag TagValue = ItemTag.Parse("SCHD");
    public override ItemTag Tag => TagValue;

    public static bool IsRealtime(SchedulingPolicy policy) => policy is SchedulingPolicy.Fifo or SchedulingPolicy.RoundRobin;

    public static string NameOf(SchedulingPolicy policy) => policy switch
    {
        SchedulingPolicy.Other => "SCHED_OTHER",
        SchedulingPolicy.Fifo => "SCHED_FIFO",
        SchedulingPolicy.RoundRobin => "SCHED_RR",
        SchedulingPolicy.Batch => "SCHED_BATCH",
        SchedulingPolicy.Idle => "SCHED_IDLE",
        _ => $"policy {(int)policy}",
    };

    /// <summary>The CPU numbers whose bits are set in <paramref name="words"/> (cpumask words), ascending.</summary>
    public static int[] Cpus(IReadOnlyList<ulong> words) =>
        [.. Enumerable.Range(0, words.Count * 64).Where(cpu => IsSet(words, cpu))];

    /// <summary>The cpumask words with the bits of <paramref name="cpus"/> set.</summary>
    public static ulong[] Mask(params int[] cpus)
    {
        var words = new ulong[cpus.Length == 0 ? 1 : cpus.Max() / 64 + 1];
        foreach (int cpu in cpus) words[cpu / 64] |= 1UL << (cpu % 64);
        return words;
    }

    private static bool IsSet(IReadOnlyList<ulong> words, int cpu) => (words[cpu / 64] >> (cpu % 64) & 1) != 0;

    /// <summary>The CPUs of <paramref name="words"/> as a Linux CPU list ("0-3,8"); "none" when no bit is set.</summary>
    public static string CpuList(IReadOnlyList<ulong> words)
    {
        var ranges = new List<string>();
        int start = -1;
        for (int cpu = 0; cpu <= words.Count * 64; cpu++)
        {
            bool set = cpu < words.Count * 64 && IsSet(words, cpu);
            if (set && start < 0) start = cpu;
            if (!set && start >= 0)
            {
                ranges.Add(start == cpu - 1 ? $"{start}" : $"{start}-{cpu - 1}");
                start = -1;
            }
        }
        return ranges.Count == 0 ? "none" : string.Join(',', ranges);
    }

    public override void Encode(PayloadWriter w)
    {
        w.U8((byte)Policy); w.U8(ResetOnFork ? (byte)1 : (byte)0); w.I32(Nice); w.U8(RealtimePriority); w.U64(TimerSlackNanoseconds);
        w.Count(Affinity.Length);
        foreach (ulong word in Affinity) w.U64(word);
    }

    public static ThreadScheduling Decode(ref PayloadReader r)
    {
        byte policy = r.U8("policy");
        if (!Enum.IsDefined((SchedulingPolicy)policy))
            throw r.Invalid("policy", policy, "0 is SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR, 3 SCHED_BATCH, 5 SCHED_IDLE");
        byte resetOnFork = r.U8("reset_on_fork");
        if (resetOnFork > 1) throw r.Invalid("reset_on_fork", resetOnFork, "a boolean is 0 or 1");
        int nice = r.I32("nice");
        if (nice is < MinNice or > MaxNice) throw r.Invalid("nice", nice, "nice values are -20 … 19");
        byte priority = r.U8("rt_priority");
        if (IsRealtime((SchedulingPolicy)policy) ? priority is < 1 or > MaxRealtimePriority : priority != 0)
            throw r.Invalid("rt_priority", priority, $"{NameOf((SchedulingPolicy)policy)} takes " +
                (IsRealtime((SchedulingPolicy)policy) ? "a priority of 1 … 99" : "priority 0 (only SCHED_FIFO and SCHED_RR have one)"));
        ulong slack = r.U64("timer_slack_ns");
        int count = r.Count("affinity", 8);
        if (count is 0 or > MaxAffinityWords)
            throw r.Invalid("affinity.count", count, $"an affinity mask has 1 … {MaxAffinityWords} words (up to 8192 CPUs)");
        var affinity = new ulong[count];
        for (int i = 0; i < count; i++) affinity[i] = r.U64("bits");
        if (affinity.All(word => word == 0)) throw r.Invalid("affinity", "none", "an affinity mask names at least one CPU");
        return new ThreadScheduling((SchedulingPolicy)policy, resetOnFork == 1, nice, priority, slack, affinity);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("policy", (ulong)Policy), ItemField.Num("reset_on_fork", ResetOnFork ? 1UL : 0UL),
        ItemField.Num("nice", (long)Nice), ItemField.Num("rt_priority", (ulong)RealtimePriority),
        ItemField.Num("timer_slack_ns", TimerSlackNanoseconds),
        // Which CPUs a thread may use by default depends on the machine's CPU count.
        new("affinity", FieldKind.Volatile, Affinity.Select(word => (IReadOnlyList<ItemField>)[ItemField.Hex("bits", word)]).ToArray()),
    ];
}
