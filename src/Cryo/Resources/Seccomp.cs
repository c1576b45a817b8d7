using System.Runtime.CompilerServices;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Resources;

/// <summary>
/// seccomp (SCMF in PROC, SCMT in each THRD): a thread's strict mode or its chain of BPF filters,
/// read at the freeze (<see cref="SeccompChain.Read"/>: every injection into the thread is
/// checked against them from then on), and installed again as the very last calls of a restored
/// thread, since from then on the filters judge every call made in it. Filters shared by threads
/// (inherited, TSYNC) are written once. Refused: a filter that hands calls to a supervisor
/// (SECCOMP_RET_USER_NOTIF), filters a restore could not install (no no_new_privs and no
/// CAP_SYS_ADMIN, or a filter that refuses seccomp() itself below another). docs/engine-memory.md, "seccomp".
/// </summary>
internal sealed class Seccomp : IResourceKind
{
    private const int CapSysAdmin = 21;
    private const long SeccompSetModeStrict = 0, SeccompSetModeFilter = 1;

    // The SCMT of each thread, made by Dump and taken by Threads for the thread's section.
    private readonly ConditionalWeakTable<FrozenProcess, Dictionary<int, ThreadSeccomp>> threadItems = new();

    public string Name => "Seccomp";

    public bool Handles(CheckpointItem item) => item is SeccompFilter or ThreadSeccomp;

    // ---------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        var filters = new List<SeccompFilter>();
        var ids = new Dictionary<(uint Parent, uint Flags, string Program), uint>();
        var threads = new Dictionary<int, ThreadSeccomp>();
        foreach (var thread in process.Threads)
        {
            if (thread.Seccomp is not { } chain) continue;
            if (chain.Strict)
            {
                threads[thread.Tid] = new ThreadSeccomp(SeccompMode.Strict, 0);
                continue;
            }
            CheckInstallable(process, thread.Tid, chain);
            uint parent = 0;
            foreach (var (program, flags) in chain.Filters)
            {
                var key = (parent, flags, Convert.ToHexString(SeccompChain.Encode(program)));
                if (!ids.TryGetValue(key, out uint id))
                {
                    ids[key] = id = (uint)filters.Count + 1;
                    filters.Add(new SeccompFilter(id, parent, flags & SeccompFilter.Log, program));
                }
                parent = id;
            }
            threads[thread.Tid] = new ThreadSeccomp(SeccompMode.Filter, parent);
        }
        threadItems.AddOrUpdate(process, threads);
        return new DumpedItems(filters);
    }

    /// <summary>The thread's SCMT, if it is under seccomp (Threads puts it in the thread's section).</summary>
    public IEnumerable<CheckpointItem> DumpThread(FrozenProcess process, FrozenThread thread) =>
        threadItems.TryGetValue(process, out var items) && items.TryGetValue(thread.Tid, out var item) ? [item] : [];

    /// <summary>
    /// Refuses a chain a restore could not install, before anything is written: one that hands
    /// calls to a supervisor outside the checkpoint, one the thread may not install (neither
    /// no_new_privs nor CAP_SYS_ADMIN: it had the capability when it installed them and dropped it
    /// since), and one whose lower filters refuse the seccomp() call that stacks the next.
    /// </summary>
    private static void CheckInstallable(FrozenProcess process, int tid, SeccompChain chain)
    {
        int pid = process.Pid;
        string where = $"tid {tid}";
        for (int i = 0; i < chain.Filters.Count; i++)
            if (chain.Filters[i].Program.Any(ReturnsUserNotification))
                throw new UnsupportedResourceException(pid, where,
                    $"its seccomp filter {i + 1} of {chain.Filters.Count} hands system calls to a supervisor (SECCOMP_RET_USER_NOTIF), " +
                    "which is not part of the checkpoint");
        string path = $"/proc/{pid}/task/{tid}/status";
        var status = ProcStatus.Parse(ProcFiles.ReadText(path), path);
        if (!status.NoNewPrivs && (status.CapEffective & (1UL << CapSysAdmin)) == 0)
            throw new UnsupportedResourceException(pid, where,
                "it is under seccomp filters, but has neither no_new_privs nor CAP_SYS_ADMIN, without which a restore cannot install them again");
        for (int i = 1; i < chain.Filters.Count; i++)
        {
            var below = SeccompChain.Of([.. chain.Filters.Take(i)]);
            uint action = below.Evaluate(new SyscallRequest(SyscallNumbers.Seccomp, SeccompSetModeFilter, chain.Filters[i].Flags & SeccompFilter.Log),
                process.Syscalls.SyscallInstruction);
            if (!SeccompChain.Allows(action))
                throw new UnsupportedResourceException(pid, where,
                    $"its seccomp {(i == 1 ? "filter 1 answers" : $"filters 1 to {i} answer")} seccomp() itself with {SeccompChain.Describe(action)}, " +
                    $"so a restore could not put filter {i + 1} on top (installed with flags 0x{chain.Filters[i].Flags & SeccompFilter.Log:x}, as the kernel shows them)");
        }
    }

    /// <summary>A return of SECCOMP_RET_USER_NOTIF (a constant return; a computed one cannot be told).</summary>
    private static bool ReturnsUserNotification(BpfInstruction i) =>
        (i.Code & 0x07) == 0x06 && (i.Code & 0x18) == 0 && (i.K & 0xffff0000) == SeccompChain.RetUserNotif;

    // ---------------------------------------------------------------- restore

    internal sealed class SeccompState
    {
        public Dictionary<uint, SeccompFilter> Filters { get; } = [];
        public Dictionary<int, ThreadSeccomp> Threads { get; } = [];
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"'{item.Tag}' outside a PROC section");
        var state = process.State<SeccompState>();
        switch (item)
        {
            case SeccompFilter filter:
                if (filter.ParentId != 0 && !state.Filters.ContainsKey(filter.ParentId))
                    throw new InvalidDataException($"image of pid {process.Pid}: seccomp filter {filter.FilterId} names parent {filter.ParentId}, which is not written before it");
                if (!state.Filters.TryAdd(filter.FilterId, filter))
                    throw new InvalidDataException($"image of pid {process.Pid}: two seccomp filters numbered {filter.FilterId}");
                break;
            case ThreadSeccomp thread:
                int tid = process.CurrentThread?.Tid ?? throw new InvalidDataException($"image of pid {process.Pid}: an SCMT outside a THRD section");
                if (thread.FilterId != 0 && !state.Filters.ContainsKey(thread.FilterId))
                    throw new InvalidDataException($"image of pid {process.Pid} tid {tid}: its SCMT names seccomp filter {thread.FilterId}, which the image does not have");
                if (!state.Threads.TryAdd(tid, thread)) throw new InvalidDataException($"image of pid {process.Pid}: a second SCMT for tid {tid}");
                break;
        }
    }

    /// <summary>Nothing here: the filters go in last, from <see cref="Threads"/>, through <see cref="Install"/>.</summary>
    public void Finish(RestoringProcess process, RestoreSession session) { }

    /// <summary>
    /// Puts every thread of the process under its seccomp state again: called by Threads after the
    /// last other injected call (the scratch page is gone by then). A filter program is written
    /// into the thread's own stack below its red zone (memory the program cannot be using), passed
    /// to an injected seccomp(SECCOMP_SET_MODE_FILTER), and the bytes it covered are put back
    /// through /proc/PID/mem, which no filter sees. Each call is checked against the filters
    /// already installed (a guard on the tracer), so a chain that would refuse its own stacking
    /// fails the restore with a clear message instead of a killed thread.
    /// </summary>
    public static void Install(RestoringProcess process, IReadOnlyDictionary<int, ulong> stackPointers)
    {
        var state = process.State<SeccompState>();
        foreach (var (tid, thread) in state.Threads)
        {
            if (!process.ThreadIds.Contains(tid))
                throw new InvalidDataException($"image of pid {process.Pid}: an SCMT for tid {tid}, which is not one of its threads");
            var calls = tid == process.Pid ? process.Syscalls : new RemoteSyscall(process.Tracer, tid, process.Syscalls.SyscallInstruction);
            string what = $"pid {process.Pid} tid {tid}";
            if (thread.Mode == SeccompMode.Strict)
            {
                calls.Checked($"seccomp(SECCOMP_SET_MODE_STRICT) for {what}", SyscallNumbers.Seccomp, SeccompSetModeStrict, 0, 0);
                process.Tracer.GuardSyscalls(tid, SeccompChain.StrictMode());
                continue;
            }
            var chain = new List<SeccompFilter>();
            for (uint id = thread.FilterId; id != 0; id = state.Filters[id].ParentId) chain.Add(state.Filters[id]);
            chain.Reverse();
            var installed = new List<(BpfInstruction[], uint)>();
            foreach (var filter in chain)
            {
                InstallFilter(process, calls, stackPointers[tid], filter, $"{what}, seccomp filter {installed.Count + 1} of {chain.Count}");
                installed.Add((filter.Program, filter.Flags));
                process.Tracer.GuardSyscalls(tid, SeccompChain.Of([.. installed]));
            }
        }
    }

    /// <summary>
    /// Where a program of <paramref name="size"/> bytes goes for the call: below the thread's red
    /// zone if its stack mapping reaches that far down, else at the start of the process's largest
    /// private writable mapping (its bytes are put back right after the call either way).
    /// </summary>
    private static ulong PlaceFor(int pid, ulong stackPointer, int size, string what)
    {
        const ulong RedZone = 128;
        var mappings = ProcMaps.Read(pid);
        ulong below = (stackPointer - RedZone - (ulong)size) & ~15UL;
        if (mappings.Any(m => m.Start <= below && stackPointer <= m.End)) return below;
        var largest = mappings.Where(m => !m.Shared && (m.Protection & MappingProtection.Write) != 0 && m.End - m.Start >= (ulong)size)
            .MaxBy(m => m.End - m.Start)
            ?? throw new InvalidOperationException($"{what}: no mapping of the process has room for the {size}-byte filter program");
        return largest.Start;
    }

    private static void InstallFilter(RestoringProcess process, RemoteSyscall calls, ulong stackPointer, SeccompFilter filter, string what)
    {
        int size = SeccompChain.FilterArgumentSize(filter.Program);
        ulong address = PlaceFor(process.Pid, stackPointer, size, what);
        var saved = new byte[size];
        process.Memory.Read(address, saved);
        process.Memory.Write(address, SeccompChain.FilterArgument(filter.Program, address));
        try
        {
            calls.Checked($"seccomp(SECCOMP_SET_MODE_FILTER) for {what}", SyscallNumbers.Seccomp, SeccompSetModeFilter, filter.Flags, (long)address);
        }
        finally
        {
            process.Memory.Write(address, saved);
        }
    }
}
