using System.Collections.Frozen;
using System.Collections.Immutable;
using Cryo.Proc;
using Cryo.Tracing;

namespace Cryo.Checkpoint;

/// <summary>One thread of a frozen process, with its registers as they were at the freeze.</summary>
internal sealed class FrozenThread(int tid, UserRegs registers, NormalizedRegisters normalized, SeccompChain? seccomp = null)
{
    public int Tid { get; } = tid;

    /// <summary>The thread's seccomp mode and filters, null if it is not under seccomp: every injection into it is checked against them.</summary>
    public SeccompChain? Seccomp { get; } = seccomp;

    /// <summary>The registers as found: what the thread gets back if it is left running.</summary>
    public UserRegs Registers { get; } = registers;

    /// <summary>The registers as they go into the image: an interrupted syscall set up to restart.</summary>
    public NormalizedRegisters Normalized { get; } = normalized;
}

/// <summary>
/// A process of the tree while every one of its threads is stopped (interrupt stop): what the
/// resource kinds read their state from. Injected syscalls run in the main thread.
/// </summary>
internal sealed class FrozenProcess(int pid, Tracer tracer, RemoteMemory memory, ImmutableArray<MemoryMapping> mappings,
    IReadOnlyList<FrozenThread> threads, RemoteSyscall syscalls, int jobControlStopSignal = 0)
{
    public int Pid { get; } = pid;
    public Tracer Tracer { get; } = tracer;
    public RemoteMemory Memory { get; } = memory;
    public ImmutableArray<MemoryMapping> Mappings { get; } = mappings;

    // smaps is slow to read (the kernel counts every page: 12 ms per GiB mapped), so it is read
    // once. Not on another core meanwhile: it holds the mm's lock, and brk(0) and the snapshot
    // fork would wait for it anyway.
    private readonly Lazy<IReadOnlyDictionary<ulong, FrozenSet<string>>> vmFlags = new(() => ProcSmaps.ReadVmFlags(pid));

    /// <summary>The VmFlags of one of <see cref="Mappings"/> (/proc/PID/smaps: mlock, madvise, MAP_GROWSDOWN …).</summary>
    public FrozenSet<string> VmFlagsOf(MemoryMapping mapping) =>
        vmFlags.Value.TryGetValue(mapping.Start, out var flags) ? flags
            : throw new InvalidOperationException($"pid {Pid}: /proc/{Pid}/smaps has no VmFlags for the mapping {mapping}, which maps listed while the process was frozen");

    /// <summary>Main thread first.</summary>
    public IReadOnlyList<FrozenThread> Threads { get; } = threads;
    public RemoteSyscall Syscalls { get; } = syscalls;

    /// <summary>The signal of the job-control stop the process was in when it was frozen (SIGSTOP, SIGTSTP …), else 0.</summary>
    public int JobControlStopSignal { get; } = jobControlStopSignal;

    /// <summary>
    /// Borrowed memory for injected syscalls that take pointers, below the main thread's stack
    /// pointer; the original bytes go back on Dispose.
    /// </summary>
    public ScratchArea Scratch(int size) => ScratchArea.BelowStack(Memory, Threads[0].Registers.Rsp, size, Mappings);
}
