using Cryo.Format;
using Cryo.Tracing;

namespace Cryo.Restore;

/// <summary>
/// A process being recreated: it already has its original pid and is stopped under the tracer;
/// the resource kinds turn items into its kernel state, mostly through injected syscalls.
/// </summary>
internal sealed class RestoringProcess(ProcessInfo info, Tracer tracer, RemoteMemory memory, RemoteSyscall syscalls)
{
    private readonly Dictionary<Type, object> _state = [];

    public ProcessInfo Info { get; } = info;
    public int Pid => Info.Pid;
    public Tracer Tracer { get; } = tracer;
    public RemoteMemory Memory { get; } = memory;

    /// <summary>Injected syscalls in the main thread. Replaced when the vDSO moves (the syscall site moves with it).</summary>
    public RemoteSyscall Syscalls { get; set; } = syscalls;

    /// <summary>Memory for injected syscalls during the finish phase (created by Memory.Finish, removed by Threads.Finish).</summary>
    public RemoteScratch? Scratch { get; set; }

    /// <summary>The scratch page of the finish phase, for <paramref name="purpose"/>; an error naming both if Memory.Finish has not made it yet.</summary>
    public RemoteScratch ScratchFor(string purpose) =>
        Scratch ?? throw new InvalidOperationException($"pid {Pid}: no scratch page for {purpose} (Memory.Finish sets it)");

    /// <summary>The TINF of the THRD section being read, if any: thread-scoped items belong to it.</summary>
    public ThreadInfo? CurrentThread { get; set; }

    /// <summary>How many items of its PROC section were read so far, this one included (its PINF is the first).</summary>
    public int ItemsRead { get; set; }

    /// <summary>Every thread that exists now, main thread first (Threads adds the others when it creates them).</summary>
    public List<int> ThreadIds { get; } = [info.Pid];

    /// <summary>Per-process state of one resource kind, created on first use.</summary>
    public T State<T>() where T : class, new()
    {
        if (!_state.TryGetValue(typeof(T), out var state)) _state[typeof(T)] = state = new T();
        return (T)state;
    }
}
