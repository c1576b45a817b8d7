using Cryo.Interop;

namespace Cryo.Tracing;

/// <summary>The outcome of an injected fork-like syscall: its raw result and the new traced child (0 if none).</summary>
internal readonly record struct ForkResult(long Result, int Child);

internal sealed partial class Tracer
{
    /// <summary>
    /// <see cref="InjectSyscall"/> for a syscall that creates a process or thread (clone3, fork),
    /// returning the new child too: the kernel has attached it to this tracer thread and it is
    /// tracked from its first stop, ready to be injected into. It starts with every signal blocked
    /// (it copies the caller's mask during the injection).
    /// </summary>
    public ForkResult InjectForkingSyscall(int tid, ulong site, SyscallRequest call) => Run(() => InjectOnThread(tid, site, call));

    /// <summary>
    /// Waits for the first stop of an auto-attached child and starts tracking it. Normally a
    /// PTRACE_EVENT_STOP; any other stop (the child has every signal blocked, so only SIGSTOP can
    /// come first) serves as well for injection. It is never resumed here: it would run the
    /// instructions after the injection site.
    /// </summary>
    private void AdoptNewChild(int child)
    {
        var status = WaitOnThread(child, "the first stop of a new child");
        if (status.Gone) throw new TraceeGoneException($"new child {child}", status);
        tracees[child] = status;
    }
}
