namespace Cryo.Format;

/// <summary>What a process asked of its memory as a whole (prctl), beyond its areas.</summary>
[Flags]
public enum ProcessMemoryFlags : uint
{
    None = 0,
    /// <summary>prctl(PR_SET_THP_DISABLE, 1): no transparent huge pages for the whole process.</summary>
    ThpDisabled = 1,
    /// <summary>prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): no mapping may become writable and executable, or executable later.</summary>
    RefuseExecGain = 2,
    /// <summary>PR_MDWE_NO_INHERIT (with <see cref="RefuseExecGain"/> only): children of fork do not inherit it.</summary>
    RefuseExecGainNotInherited = 4,
    /// <summary>mlockall(MCL_FUTURE): every area mapped from now on is locked.</summary>
    LockFuture = 8,
    /// <summary>mlockall(MCL_FUTURE | MCL_ONFAULT) (with <see cref="LockFuture"/> only): those areas lock their pages as they are faulted in.</summary>
    LockFutureOnFault = 16,
    /// <summary>prctl(PR_SET_MEMORY_MERGE, 1): every area of the process is offered to KSM.</summary>
    MergeAll = 32,
    /// <summary>membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED): the process may ask for MEMBARRIER_CMD_PRIVATE_EXPEDITED.</summary>
    MembarrierPrivateExpedited = 64,
    /// <summary>membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE).</summary>
    MembarrierPrivateExpeditedSyncCore = 128,
    /// <summary>membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ).</summary>
    MembarrierPrivateExpeditedRseq = 256,
    /// <summary>membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED): the process takes part in MEMBARRIER_CMD_GLOBAL_EXPEDITED barriers.</summary>
    MembarrierGlobalExpedited = 512,
}

/// <summary>
/// What a process asked of one memory area beyond its mapping (mlock, madvise): the kernel keeps
/// these as flags of the area (the VmFlags of /proc/PID/smaps) and forgets them when the area is
/// mapped anew, so a restore must ask again. The bit values are this format's own.
/// </summary>
[Flags]
public enum AreaAdvice : uint
{
    None = 0,
    /// <summary>mlock / mlock2 / MAP_LOCKED (smaps "lo").</summary>
    Locked = 1,
    /// <summary>mlock2(MLOCK_ONFAULT): pages locked as they are faulted in ("lf"); only with <see cref="Locked"/>.</summary>
    LockOnFault = 2,
    /// <summary>MADV_DONTDUMP ("dd"): left out of core dumps.</summary>
    DontDump = 4,
    /// <summary>MADV_DONTFORK ("dc"): not inherited by a child of fork.</summary>
    DontFork = 8,
    /// <summary>MADV_WIPEONFORK ("wf"): a child of fork gets it zero-filled.</summary>
    WipeOnFork = 16,
    /// <summary>MADV_HUGEPAGE ("hg").</summary>
    HugePage = 32,
    /// <summary>MADV_NOHUGEPAGE ("nh").</summary>
    NoHugePage = 64,
    /// <summary>MADV_MERGEABLE ("mg"): offered to KSM.</summary>
    Mergeable = 128,
    /// <summary>MADV_SEQUENTIAL ("sr").</summary>
    Sequential = 256,
    /// <summary>MADV_RANDOM ("rr").</summary>
    Random = 512,
}

/// <summary>One area's advice: the area's exact range, as its <c>AREA</c> item has it.</summary>
public readonly record struct AdvisedArea(ulong Start, ulong End, AreaAdvice Advice);

/// <summary>
/// <c>MADV</c>: the memory advice of a process: its process-wide memory flags and, for each area
/// that carries any, the advice of that area. Written after the last <c>AREA</c> (and its
/// <c>PAGE</c> items), only when there is any advice; absent, every area and the process have the
/// defaults a fresh mapping gets.
/// </summary>
public sealed record MemoryAdvice(ProcessMemoryFlags ProcessFlags, AdvisedArea[] Areas) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("MADV");
    public override ItemTag Tag => TagValue;

    public const ProcessMemoryFlags KnownProcessFlags = (ProcessMemoryFlags)0x3ff;
    public const AreaAdvice KnownAdvice = (AreaAdvice)0x3ff;

    public override void Encode(PayloadWriter w)
    {
        w.U32((uint)ProcessFlags);
        w.Count(Areas.Length);
        foreach (var area in Areas) { w.U64(area.Start); w.U64(area.End); w.U32((uint)area.Advice); }
    }

    public static MemoryAdvice Decode(ref PayloadReader r)
    {
        uint processFlags = r.U32("process_flags");
        if (ProcessProblem((ProcessMemoryFlags)processFlags) is { } whyNot) throw r.Invalid("process_flags", $"0x{processFlags:x}", whyNot);
        var areas = new AdvisedArea[r.Count("areas", 20)];
        ulong previousEnd = 0;
        for (int i = 0; i < areas.Length; i++)
        {
            var (start, end) = r.AscendingRange(ref previousEnd, "an area", "areas");
            var advice = (AreaAdvice)r.U32("advice");
            if (Problem(advice) is { } why) throw r.Invalid("advice", $"0x{(uint)advice:x}", why);
            areas[i] = new AdvisedArea(start, end, advice);
        }
        return new MemoryAdvice((ProcessMemoryFlags)processFlags, areas);
    }

    /// <summary>Why <paramref name="flags"/> cannot be a process's memory flags, or null.</summary>
    public static string? ProcessProblem(ProcessMemoryFlags flags) =>
        (flags & ~KnownProcessFlags) != 0 ? $"only bits 0x{(uint)KnownProcessFlags:x} are defined"
        : flags.HasFlag(ProcessMemoryFlags.RefuseExecGainNotInherited) && !flags.HasFlag(ProcessMemoryFlags.RefuseExecGain) ? "no-inherit (4) comes only with refuse-exec-gain (2)"
        : flags.HasFlag(ProcessMemoryFlags.LockFutureOnFault) && !flags.HasFlag(ProcessMemoryFlags.LockFuture) ? "lock-future-on-fault (16) comes only with lock-future (8)"
        : null;

    /// <summary>Why <paramref name="advice"/> cannot be an area's advice, or null.</summary>
    public static string? Problem(AreaAdvice advice) =>
        (advice & ~KnownAdvice) != 0 ? $"only bits 0x{(uint)KnownAdvice:x} are defined"
        : advice == AreaAdvice.None ? "an area without advice is not listed"
        : advice.HasFlag(AreaAdvice.LockOnFault) && !advice.HasFlag(AreaAdvice.Locked) ? "lock-on-fault (2) comes only with locked (1)"
        : advice.HasFlag(AreaAdvice.HugePage) && advice.HasFlag(AreaAdvice.NoHugePage) ? "hugepage (32) and nohugepage (64) exclude each other"
        : advice.HasFlag(AreaAdvice.Sequential) && advice.HasFlag(AreaAdvice.Random) ? "sequential (256) and random (512) exclude each other"
        : null;

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Hex("process_flags", (ulong)ProcessFlags),
        ItemField.List("areas", Areas.Select(a => (IReadOnlyList<ItemField>)
            [ItemField.Addr("start", a.Start), ItemField.Addr("end", a.End), ItemField.Hex("advice", (ulong)a.Advice)]).ToArray()),
    ];
}
