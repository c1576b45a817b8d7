using Cryo.Interop;

namespace Cryo.Tracing;

/// <summary>The outcome of an injected fork-like syscall: its raw result and the new traced child (0 if none).</summary>
internal readonly record struct ForkResult(long Result, int Child);

internal sealed partial class Tracer
{
    /// <summary>
    /// Like <see cref="InjectSyscall"/>, for a syscall that creates a process (clone3, fork) in a
    /// tracee seized with PTRACE_O_TRACEFORK/TRACECLONE. The kernel stops the caller with a
    /// PTRACE_EVENT_FORK (or CLONE/VFORK) stop inside the syscall, which the plain injection would
    /// take for a fault; here it is recorded and stepped over. The new child is attached by the
    /// kernel to this tracer thread; this method waits for its first stop (a PTRACE_EVENT_STOP for
    /// a seized parent) and tracks it, so it can be injected into at once. The child starts with
    /// every signal blocked (it copies the caller's mask during the injection).
    /// </summary>
    public ForkResult InjectForkingSyscall(int tid, ulong site, SyscallRequest call) => Run(() =>
    {
        if (StopOf(tid) is null)
            throw new InvalidOperationException($"inject syscall {call.Number} into pid {tid}: the thread is running; interrupt it first");

        var saved = GetRegsOnThread(tid);
        ulong savedMask = GetSigMaskOnThread(tid);
        SetSigMaskOnThread(tid, ulong.MaxValue);
        int deferredStop = 0, child = 0;
        try
        {
            var regs = saved;
            regs.Rip = site;
            regs.OrigRax = UserRegs.NoSyscall;
            regs.Rax = (ulong)call.Number;
            regs.Rdi = (ulong)call.Arg1;
            regs.Rsi = (ulong)call.Arg2;
            regs.Rdx = (ulong)call.Arg3;
            regs.R10 = (ulong)call.Arg4;
            regs.R8 = (ulong)call.Arg5;
            regs.R9 = (ulong)call.Arg6;
            SetRegsOnThread(tid, regs);
            long result = StepOverForkingSyscall(tid, site, call, ref deferredStop, ref child);
            if (child != 0) AdoptNewChild(child);
            return new ForkResult(result, child);
        }
        finally
        {
            if (tracees.ContainsKey(tid))
            {
                SetRegsOnThread(tid, saved);
                SetSigMaskOnThread(tid, savedMask);
                if (deferredStop != 0) Native.Kill(tid, deferredStop);
            }
        }
    });

    private unsafe long StepOverForkingSyscall(int tid, ulong site, SyscallRequest call, ref int deferredStop, ref int child)
    {
        string operation = $"injected syscall {call.Number}";
        for (int attempt = 0; attempt < MaxStepAttempts; attempt++)
        {
            Ptrace(PtraceRequest.SingleStep, tid, 0, 0);
            tracees[tid] = null;
            var status = WaitOnThread(tid, operation);
            if (status.Gone)
            {
                tracees.Remove(tid);
                throw new TraceeGoneException($"{operation} in pid {tid}", status);
            }
            tracees[tid] = status;

            if (status.Event is PtraceEvent.Fork or PtraceEvent.Vfork or PtraceEvent.Clone)
            {
                // The child exists now; its pid is the event message. Stepping on finishes the syscall.
                ulong message;
                Ptrace(PtraceRequest.GetEventMsg, tid, 0, (nint)(&message));
                child = (int)message;
                continue;
            }
            if (status.IsSignalDeliveryStop && status.StopSignal == Signals.SIGTRAP)
            {
                var after = GetRegsOnThread(tid);
                if (after.Rip == site + SyscallInstructionLength) return (long)after.Rax;
                throw new UnexpectedStopException($"{operation} in pid {tid}", status,
                    $"single step ended at rip {after.Rip:x}, expected {site + SyscallInstructionLength:x}");
            }
            if (status.IsEventStop) continue;
            if (status.IsSignalDeliveryStop && status.StopSignal == Signals.SIGSTOP)
            {
                deferredStop = Signals.SIGSTOP;
                continue;
            }
            throw new UnexpectedStopException($"{operation} in pid {tid}", status,
                $"the syscall instruction at {site:x} did not complete");
        }
        throw new InvalidOperationException($"{operation} in pid {tid}: not completed after {MaxStepAttempts} single steps");
    }

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
