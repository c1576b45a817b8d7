using Cryo.Interop;

namespace Cryo.Tracing;

/// <summary>A system call to run inside a tracee: number and up to six arguments.</summary>
internal readonly record struct SyscallRequest(long Number, long Arg1 = 0, long Arg2 = 0, long Arg3 = 0,
    long Arg4 = 0, long Arg5 = 0, long Arg6 = 0);

internal sealed partial class Tracer
{
    // 0f 05 "syscall" is two bytes: a completed single step leaves rip right after it.
    private const ulong SyscallInstructionLength = 2;
    private const int MaxStepAttempts = 16;

    /// <summary>
    /// Runs one system call inside the stopped tracee <paramref name="tid"/> and returns the raw
    /// rax (a negative errno on failure). No code is written: rip is pointed at an existing
    /// syscall instruction (<paramref name="syscallInstruction"/>, found in the [vdso]), the
    /// thread single-steps over it, and all registers are restored afterwards. All signals are
    /// blocked meanwhile (PTRACE_SETSIGMASK), else one arriving now would be handled mid-injection
    /// or lost; the original mask is restored too. A SIGSTOP that arrives meanwhile is re-sent
    /// afterwards. The thread ends in a signal-delivery stop (SIGTRAP) that later resumes
    /// suppress.
    /// </summary>
    /// <summary>
    /// Makes every later injection into <paramref name="tid"/> first ask <paramref name="seccomp"/>
    /// (the thread's filters) whether the call would run; null: no more. A seize forgets it.
    /// </summary>
    public void GuardSyscalls(int tid, SeccompChain? seccomp) => Run(() =>
    {
        if (seccomp is null) syscallGuards.Remove(tid);
        else syscallGuards[tid] = seccomp;
    });

    public long InjectSyscall(int tid, ulong syscallInstruction, SyscallRequest call) =>
        Run(() => InjectOnThread(tid, syscallInstruction, call).Result);

    /// <summary>
    /// The one injection path. A syscall that creates a process or thread (clone3, fork) in a
    /// tracee seized with PTRACE_O_TRACEFORK/TRACECLONE stops its caller with a fork event inside
    /// the syscall: the new child's pid is recorded, the step goes on, and the child, attached by
    /// the kernel to this thread, is tracked from its first stop so it can be injected into at once.
    /// </summary>
    private ForkResult InjectOnThread(int tid, ulong site, SyscallRequest call)
    {
        if (StopOf(tid) is null)
            throw new InvalidOperationException($"inject syscall {call.Number} into pid {tid}: the thread is running; interrupt it first");
        if (syscallGuards.TryGetValue(tid, out var seccomp))
        {
            uint action = seccomp.Evaluate(call, site);
            if (!SeccompChain.Allows(action)) throw new SyscallFilteredException(tid, call.Number, action);
        }

        var saved = GetRegsOnThread(tid);
        ulong savedMask = GetSigMaskOnThread(tid);
        SetSigMaskOnThread(tid, ulong.MaxValue);
        int deferredStop = 0, child = 0;
        try
        {
            var regs = saved;
            regs.Rip = site;
            regs.OrigRax = UserRegs.NoSyscall; // else the kernel may "restart" an interrupted syscall over ours
            regs.Rax = (ulong)call.Number;
            regs.Rdi = (ulong)call.Arg1;
            regs.Rsi = (ulong)call.Arg2;
            regs.Rdx = (ulong)call.Arg3;
            regs.R10 = (ulong)call.Arg4;
            regs.R8 = (ulong)call.Arg5;
            regs.R9 = (ulong)call.Arg6;
            SetRegsOnThread(tid, regs);
            long result = StepOverSyscall(tid, site, call, ref deferredStop, ref child);
            if (child != 0) AdoptNewChild(child);
            return new ForkResult(result, child);
        }
        finally
        {
            // A dead tracee has nothing to restore (and restoring would throw over the real error).
            if (tracees.ContainsKey(tid))
            {
                SetRegsOnThread(tid, saved);
                SetSigMaskOnThread(tid, savedMask);
                if (deferredStop != 0) Native.Kill(tid, deferredStop);
            }
        }
    }

    private unsafe long StepOverSyscall(int tid, ulong site, SyscallRequest call, ref int deferredStop, ref int child)
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
                // An mremap that moved the [vdso] holding the site: kernels from 7.x (matrix, Debian
                // 7.2 and 7.3-rc) move the instruction pointer along with it (landing fix-up).
                if (call.Number == SyscallNumbers.Mremap && site >= (ulong)call.Arg1 && site < (ulong)call.Arg1 + (ulong)call.Arg2
                    && after.Rip == after.Rax + (site + SyscallInstructionLength - (ulong)call.Arg1))
                    return (long)after.Rax;
                throw new UnexpectedStopException($"{operation} in pid {tid}", status,
                    $"single step ended at rip {after.Rip:x}, expected {site + SyscallInstructionLength:x}");
            }
            // A group stop or interrupt between our steps: step again.
            if (status.IsEventStop) continue;
            // SIGSTOP cannot be blocked: hold it back and re-send it once the registers are restored.
            if (status.IsSignalDeliveryStop && status.StopSignal == Signals.SIGSTOP)
            {
                deferredStop = Signals.SIGSTOP;
                continue;
            }
            // Anything else is a synchronous fault (SIGSEGV, SIGILL, ...) at the syscall site: it is
            // suppressed by the next resume, and the registers are restored by the caller.
            throw new UnexpectedStopException($"{operation} in pid {tid}", status,
                $"the syscall instruction at {site:x} did not complete");
        }
        throw new InvalidOperationException($"{operation} in pid {tid}: not completed after {MaxStepAttempts} single steps");
    }
}
