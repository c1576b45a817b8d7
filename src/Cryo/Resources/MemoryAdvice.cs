using System.Collections.Frozen;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;
using FormatMemoryAdvice = Cryo.Format.MemoryAdvice;

namespace Cryo.Resources;

/// <summary>
/// Memory advice (MADV): what a process asked of its memory beyond the mappings themselves:
/// mlock, madvise (DONTFORK, WIPEONFORK, DONTDUMP, HUGEPAGE, NOHUGEPAGE, MERGEABLE, SEQUENTIAL,
/// RANDOM) per area, and PR_SET_THP_DISABLE for the whole process. The kernel keeps these as flags
/// of each area (the VmFlags of /proc/PID/smaps) and a fresh mmap has none of them, so the restore
/// asks again, with injected madvise and mlock2 calls, in the finish phase: after every page is
/// in (an mlock of an area still being filled through userfaultfd would wait on cryo itself, and
/// DONTFORK must not hide an area from anything the restore still does).
/// </summary>
internal sealed class MemoryAdvice : IResourceKind
{
    // smaps VmFlags names and the advice each stands for.
    private static readonly (string Name, AreaAdvice Advice)[] AdviceFlags =
    [
        ("lo", AreaAdvice.Locked), ("lf", AreaAdvice.LockOnFault), ("dd", AreaAdvice.DontDump),
        ("dc", AreaAdvice.DontFork), ("wf", AreaAdvice.WipeOnFork), ("hg", AreaAdvice.HugePage),
        ("nh", AreaAdvice.NoHugePage), ("mg", AreaAdvice.Mergeable), ("sr", AreaAdvice.Sequential),
        ("rr", AreaAdvice.Random),
    ];

    // smaps VmFlags that a restore could not give back, and why.
    private static readonly (string Name, string Why)[] RefusedFlags =
    [
        ("sl", "the area is sealed (mseal), which cryo does not restore"),
        ("ss", "the area is a shadow stack, which cryo does not restore"),
        ("um", "the area is registered with a userfaultfd"),
        ("uw", "the area is registered with a userfaultfd"),
        ("ui", "the area is registered with a userfaultfd"),
    ];

    // madvise calls in the order a restore makes them, before the mlock.
    private static readonly (AreaAdvice Advice, int Call, string Name)[] MadviseCalls =
    [
        (AreaAdvice.DontFork, InjectedCalls.MADV_DONTFORK, "MADV_DONTFORK"),
        (AreaAdvice.WipeOnFork, InjectedCalls.MADV_WIPEONFORK, "MADV_WIPEONFORK"),
        (AreaAdvice.DontDump, InjectedCalls.MADV_DONTDUMP, "MADV_DONTDUMP"),
        (AreaAdvice.HugePage, InjectedCalls.MADV_HUGEPAGE, "MADV_HUGEPAGE"),
        (AreaAdvice.NoHugePage, InjectedCalls.MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"),
        (AreaAdvice.Mergeable, InjectedCalls.MADV_MERGEABLE, "MADV_MERGEABLE"),
        (AreaAdvice.Sequential, InjectedCalls.MADV_SEQUENTIAL, "MADV_SEQUENTIAL"),
        (AreaAdvice.Random, InjectedCalls.MADV_RANDOM, "MADV_RANDOM"),
    ];

    public string Name => "MemoryAdvice";

    public bool Handles(CheckpointItem item) => item is FormatMemoryAdvice;

    // ---------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        var areas = new List<AdvisedArea>();
        // Areas share a few flag sets (ProcSmaps hands out one per distinct line): decode each once.
        var decoded = new Dictionary<FrozenSet<string>, (AreaAdvice Advice, string? Refusal)>(ReferenceEqualityComparer.Instance);
        foreach (var mapping in process.Mappings.Where(m => !IsKernelMapping(m)))
        {
            var flags = process.VmFlagsOf(mapping);
            if (!decoded.TryGetValue(flags, out var meaning))
                decoded[flags] = meaning = Decode(flags);
            if (meaning.Refusal is { } why) throw new UnsupportedResourceException(process.Pid, $"memory mapping {mapping}", why);
            if (meaning.Advice != AreaAdvice.None) areas.Add(new AdvisedArea(mapping.Start, mapping.End, meaning.Advice));
        }
        var processFlags = ProcessFlags(process);
        return processFlags == ProcessMemoryFlags.None && areas.Count == 0
            ? new DumpedItems([])
            : new DumpedItems([new FormatMemoryAdvice(processFlags, [.. areas])]);
    }

    /// <summary>
    /// What the process asked of its memory as a whole: PR_SET_THP_DISABLE ("THP_enabled: 0" in
    /// /proc/PID/status, since Linux 5.0), PR_SET_MDWE (6.3+) and PR_SET_MEMORY_MERGE (6.4+) by
    /// injected prctl (a kernel without them says EINVAL: not set), and mlockall(MCL_FUTURE), which
    /// only shows in what the next mapping gets (<see cref="LockFutureFlags"/>).
    /// </summary>
    private static ProcessMemoryFlags ProcessFlags(FrozenProcess process)
    {
        var status = ProcStatus.Read(process.Pid);
        var flags = status.Fields.GetValueOrDefault("THP_enabled") == "0" ? ProcessMemoryFlags.ThpDisabled : ProcessMemoryFlags.None;
        long mdwe = process.Syscalls.Invoke(SyscallNumbers.Prctl, InjectedCalls.PR_GET_MDWE, 0, 0, 0, 0);
        if (mdwe > 0 && (mdwe & InjectedCalls.PR_MDWE_REFUSE_EXEC_GAIN) != 0)
        {
            flags |= ProcessMemoryFlags.RefuseExecGain;
            if ((mdwe & InjectedCalls.PR_MDWE_NO_INHERIT) != 0) flags |= ProcessMemoryFlags.RefuseExecGainNotInherited;
        }
        if (process.Syscalls.Invoke(SyscallNumbers.Prctl, InjectedCalls.PR_GET_MEMORY_MERGE, 0, 0, 0, 0) == 1) flags |= ProcessMemoryFlags.MergeAll;
        return flags | LockFutureFlags(process, LockedKib(status)) | MembarrierFlags(process);
    }

    // membarrier registrations, each with the command that needs it and the flag that records it.
    private static readonly (int Command, int Registration, ProcessMemoryFlags Flag)[] MembarrierRegistrations =
    [
        (InjectedCalls.MEMBARRIER_CMD_PRIVATE_EXPEDITED, InjectedCalls.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, ProcessMemoryFlags.MembarrierPrivateExpedited),
        (InjectedCalls.MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, InjectedCalls.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, ProcessMemoryFlags.MembarrierPrivateExpeditedSyncCore),
        (InjectedCalls.MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, InjectedCalls.MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, ProcessMemoryFlags.MembarrierPrivateExpeditedRseq),
        (InjectedCalls.MEMBARRIER_CMD_GLOBAL_EXPEDITED, InjectedCalls.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, ProcessMemoryFlags.MembarrierGlobalExpedited),
    ];

    /// <summary>
    /// The membarrier registrations of the process's mm. A program that registered (.NET's
    /// runtime does, for its write barriers) gets EPERM from the command after a restore without
    /// them, and .NET ends with "Failed to flush using membarrier". MEMBARRIER_CMD_GET_REGISTRATIONS
    /// (6.3+) tells them all; before it each private expedited command is tried (EPERM when its
    /// registration is missing; present, it is a barrier among threads that are all frozen). A
    /// global expedited registration cannot be seen that way: before 6.3 it is not saved.
    /// </summary>
    private static ProcessMemoryFlags MembarrierFlags(FrozenProcess process)
    {
        long registered = process.Syscalls.Invoke(InjectedCalls.Membarrier, InjectedCalls.MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
        var flags = ProcessMemoryFlags.None;
        foreach (var (command, registration, flag) in MembarrierRegistrations)
        {
            bool has = registered >= 0
                ? (registered & registration) != 0
                : registration != InjectedCalls.MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
                  && process.Syscalls.Invoke(InjectedCalls.Membarrier, command, 0, 0) == 0;
            if (has) flags |= flag;
        }
        return flags;
    }

    /// <summary>
    /// mlockall(MCL_FUTURE) sets the mm's default flags, which no /proc file shows: a one-page
    /// probe mapping is made (injected mmap, PROT_READ) and unmapped again. Locked, it counts in
    /// VmLck; locked but not populated, MCL_ONFAULT was asked (MCL_FUTURE alone faults the page
    /// in at once). An EAGAIN from the mmap is the lock limit, so locked too (on fault or not:
    /// cannot be told, taken as not).
    /// </summary>
    private static ProcessMemoryFlags LockFutureFlags(FrozenProcess process, long lockedKibBefore)
    {
        long page = Environment.SystemPageSize;
        long probe = process.Syscalls.Invoke(SyscallNumbers.Mmap, 0, page, RemoteSyscall.PROT_READ,
            RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS, -1, 0);
        if (probe == -ErrnoNames.EAGAIN) return ProcessMemoryFlags.LockFuture;
        if (probe < 0 && probe > -4096)
            throw new SysCallException("mmap (injected, one page to see whether mlockall(MCL_FUTURE) is set)", (int)-probe, $"pid {process.Pid}");
        try
        {
            if (LockedKib(ProcStatus.Read(process.Pid)) - lockedKibBefore < page / 1024) return ProcessMemoryFlags.None;
            using var pagemap = new PagemapReader(process.Pid, (int)page);
            bool populated = pagemap.Read((ulong)probe, (ulong)(probe + page)) is [{ Present: true }];
            return ProcessMemoryFlags.LockFuture | (populated ? ProcessMemoryFlags.None : ProcessMemoryFlags.LockFutureOnFault);
        }
        finally
        {
            process.Syscalls.Checked("munmap (the mlockall probe)", SyscallNumbers.Munmap, probe, page);
        }
    }

    /// <summary>VmLck of /proc/PID/status in KiB ("VmLck:  8 kB"), 0 where it is missing.</summary>
    private static long LockedKib(ProcessStatus status) =>
        long.TryParse(status.Fields.GetValueOrDefault("VmLck")?.Split(' ')[0], out long kib) ? kib : 0;

    private static (AreaAdvice Advice, string? Refusal) Decode(FrozenSet<string> flags) =>
        (AdviceFlags.Where(f => flags.Contains(f.Name)).Aggregate(AreaAdvice.None, (all, f) => all | f.Advice),
         RefusedFlags.Where(r => flags.Contains(r.Name)).Select(r => r.Why).FirstOrDefault());

    /// <summary>[vdso], [vvar] and the like: the kernel sets their flags, and a restore moves them rather than maps them.</summary>
    private static bool IsKernelMapping(MemoryMapping m) => m.IsSpecial && m.Path is not ("[heap]" or "[stack]");

    // ---------------------------------------------------------------- restore

    private sealed class AdviceState
    {
        public FormatMemoryAdvice? Advice;
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException("MADV outside a PROC section");
        var state = process.State<AdviceState>();
        if (state.Advice is not null) throw new InvalidDataException($"image of pid {process.Pid}: a second MADV item");
        state.Advice = (FormatMemoryAdvice)item;
    }

    /// <summary>Asks again for the saved advice, area by area (madvise first, mlock2 last: it faults every page in).</summary>
    public void Finish(RestoringProcess process, RestoreSession session)
    {
        if (process.State<AdviceState>().Advice is not { } saved) return;
        if (saved.ProcessFlags.HasFlag(ProcessMemoryFlags.ThpDisabled))
            process.Syscalls.Checked("prctl(PR_SET_THP_DISABLE, 1)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_THP_DISABLE, 1, 0, 0, 0);
        foreach (var area in saved.Areas)
        {
            string range = $"{area.Start:x}-{area.End:x}";
            long length = (long)(area.End - area.Start);
            foreach (var (advice, call, name) in MadviseCalls.Where(c => area.Advice.HasFlag(c.Advice)))
                process.Syscalls.Checked($"madvise({range}, {name})", InjectedCalls.Madvise, (long)area.Start, length, call);
            if (area.Advice.HasFlag(AreaAdvice.Locked))
            {
                bool onFault = area.Advice.HasFlag(AreaAdvice.LockOnFault);
                process.Syscalls.Checked($"mlock2({range}{(onFault ? ", MLOCK_ONFAULT" : "")})", InjectedCalls.Mlock2,
                    (long)area.Start, length, onFault ? InjectedCalls.MLOCK_ONFAULT : 0);
            }
        }
        RestoreProcessFlags(process, saved.ProcessFlags);
    }

    /// <summary>
    /// The process-wide flags after the areas: mlockall(MCL_FUTURE) (without MCL_CURRENT it only
    /// sets what later mappings get), KSM for every area, the membarrier registrations, and MDWE last: it forbids every later
    /// change that gains exec, and nothing of the restore after it does one.
    /// </summary>
    private static void RestoreProcessFlags(RestoringProcess process, ProcessMemoryFlags flags)
    {
        var sys = process.Syscalls;
        if (flags.HasFlag(ProcessMemoryFlags.LockFuture))
        {
            bool onFault = flags.HasFlag(ProcessMemoryFlags.LockFutureOnFault);
            sys.Checked($"mlockall(MCL_FUTURE{(onFault ? " | MCL_ONFAULT" : "")})", InjectedCalls.Mlockall,
                InjectedCalls.MCL_FUTURE | (onFault ? InjectedCalls.MCL_ONFAULT : 0));
        }
        if (flags.HasFlag(ProcessMemoryFlags.MergeAll))
            sys.Checked("prctl(PR_SET_MEMORY_MERGE, 1)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_MEMORY_MERGE, 1, 0, 0, 0);
        foreach (var (_, registration, flag) in MembarrierRegistrations.Where(r => flags.HasFlag(r.Flag)))
            sys.Checked($"membarrier(register 0x{registration:x})", InjectedCalls.Membarrier, registration, 0, 0);
        if (flags.HasFlag(ProcessMemoryFlags.RefuseExecGain))
        {
            long mdwe = InjectedCalls.PR_MDWE_REFUSE_EXEC_GAIN
                | (flags.HasFlag(ProcessMemoryFlags.RefuseExecGainNotInherited) ? InjectedCalls.PR_MDWE_NO_INHERIT : 0);
            sys.Checked($"prctl(PR_SET_MDWE, {mdwe})", SyscallNumbers.Prctl, InjectedCalls.PR_SET_MDWE, mdwe, 0, 0, 0);
        }
    }
}
