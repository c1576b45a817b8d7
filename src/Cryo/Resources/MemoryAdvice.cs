using System.Collections.Frozen;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
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
        // "THP_enabled: 0" after PR_SET_THP_DISABLE (the field exists since Linux 5.0).
        var status = ProcStatus.Read(process.Pid);
        var processFlags = status.Fields.GetValueOrDefault("THP_enabled") == "0" ? ProcessMemoryFlags.ThpDisabled : ProcessMemoryFlags.None;
        return processFlags == ProcessMemoryFlags.None && areas.Count == 0
            ? new DumpedItems([])
            : new DumpedItems([new FormatMemoryAdvice(processFlags, [.. areas])]);
    }

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
    }
}
