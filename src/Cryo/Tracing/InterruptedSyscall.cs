namespace Cryo.Tracing;

/// <summary>Which kernel restart code a stopped thread's interrupted syscall carried.</summary>
internal enum SyscallRestart
{
    /// <summary>Not inside an interrupted, restartable syscall: registers unchanged.</summary>
    None,
    /// <summary>-ERESTARTSYS (-512): re-execute the same syscall.</summary>
    RestartSys,
    /// <summary>-ERESTARTNOINTR (-513): re-execute the same syscall.</summary>
    RestartNoIntr,
    /// <summary>-ERESTARTNOHAND (-514): re-execute the same syscall (no handler ran).</summary>
    RestartNoHand,
    /// <summary>-ERESTART_RESTARTBLOCK (-516): continue via restart_syscall (219), which uses the
    /// task's in-kernel restart block. Valid when the same task continues; an image restored into
    /// another task must re-execute the original syscall or return -EINTR instead.</summary>
    RestartBlock,
}

/// <summary>Registers after normalisation, what was done, and the interrupted syscall number (-1 if none).</summary>
internal readonly record struct NormalizedRegisters(UserRegs Registers, SyscallRestart Restart, long InterruptedSyscall);

/// <summary>
/// Normalises the registers of a thread stopped by PTRACE_INTERRUPT inside a syscall. The
/// kernel applies its restart logic (rax = orig_rax, rip -= 2) only when the thread resumes from
/// that very stop; registers saved in an image, or resumed after a different stop, would instead
/// return the raw -ERESTART* value to user space. Normalising right after the interrupt stop
/// makes the registers describe "about to execute the syscall instruction" and sets orig_rax to
/// -1 so the kernel does not apply its restart a second time.
/// </summary>
internal static class InterruptedSyscall
{
    public const long ERESTARTSYS = 512, ERESTARTNOINTR = 513, ERESTARTNOHAND = 514, ERESTART_RESTARTBLOCK = 516;
    public const ulong RestartSyscallNumber = 219;

    // "syscall" is 0f 05: two bytes before the return address.
    private const ulong SyscallInstructionLength = 2;

    public static NormalizedRegisters Normalize(in UserRegs regs)
    {
        long interrupted = (long)regs.OrigRax;
        if (interrupted < 0) return new NormalizedRegisters(regs, SyscallRestart.None, -1);

        var restart = -(long)regs.Rax switch
        {
            ERESTARTSYS => SyscallRestart.RestartSys,
            ERESTARTNOINTR => SyscallRestart.RestartNoIntr,
            ERESTARTNOHAND => SyscallRestart.RestartNoHand,
            ERESTART_RESTARTBLOCK => SyscallRestart.RestartBlock,
            _ => SyscallRestart.None,
        };
        if (restart == SyscallRestart.None) return new NormalizedRegisters(regs, restart, -1);

        var result = regs;
        result.Rax = restart == SyscallRestart.RestartBlock ? RestartSyscallNumber : regs.OrigRax;
        result.Rip = regs.Rip - SyscallInstructionLength;
        result.OrigRax = UserRegs.NoSyscall;
        return new NormalizedRegisters(result, restart, interrupted);
    }

    // The waits the kernel never restarts: interrupted by anything, the freeze included, they return EINTR.
    private const long SysSemop = 65, SysRtSigtimedwait = 128, SysSemtimedop = 220, SysEpollWait = 232,
        SysEpollPwait = 281, SysEpollPwait2 = 441, EINTR = 4;

    /// <summary>
    /// Whether <paramref name="regs"/> (a thread just stopped by the freeze) return EINTR from a
    /// wait that the kernel never restarts (signal(7)): epoll_wait, epoll_pwait, epoll_pwait2,
    /// rt_sigtimedwait (sigwaitinfo, sigtimedwait), semop and semtimedop. The freeze's interrupt
    /// wakes them like a signal would, so without a signal for a handler to take (the caller
    /// checks) the EINTR is cryo's alone: seen with --leave-running and after a restore alike.
    /// </summary>
    public static bool IsWaitCutShort(in UserRegs regs) =>
        (long)regs.Rax == -EINTR && (long)regs.OrigRax is SysEpollWait or SysEpollPwait or SysEpollPwait2
            or SysRtSigtimedwait or SysSemop or SysSemtimedop;

    /// <summary>
    /// The registers of <see cref="IsWaitCutShort"/> set to make the call again: "about to execute
    /// the syscall instruction", orig_rax -1 so that the kernel adds no restart of its own. The
    /// call waits its whole timeout again: it may return later than it would have, never earlier
    /// and never with an error no signal caused.
    /// </summary>
    public static UserRegs Reexecuting(in UserRegs regs)
    {
        var result = regs;
        result.Rax = regs.OrigRax;
        result.Rip = regs.Rip - SyscallInstructionLength;
        result.OrigRax = UserRegs.NoSyscall;
        return result;
    }

    private const long SysPoll = 7, SysNanosleep = 35, SysFutex = 202, SysClockNanosleep = 230;

    /// <summary>
    /// The registers an image stores for a thread, where they differ from the live thread's. A
    /// call stopped by the freeze with ERESTART_RESTARTBLOCK (the timed waits: nanosleep,
    /// clock_nanosleep, poll, futex) resumes in the live thread through its restart block, which
    /// a restored task does not have. So the image re-executes the call:
    /// <list type="bullet">
    /// <item>a relative nanosleep or clock_nanosleep that was given rem wrote its remaining time
    /// there: re-executed with rem as its request, it sleeps the time that was left, as the kernel
    /// would have (absolute sleeps get ERESTARTNOHAND and are re-executed as they are);</item>
    /// <item>a futex wait with an absolute timeout (FUTEX_WAIT_BITSET) re-executed as it is
    /// ends when it would have;</item>
    /// <item>where the time left is only in the restart block (a sleep without rem, poll, a
    /// futex wait with a relative timeout), the call waits its whole timeout again. It may return
    /// later than it would have, never earlier and never with an error no signal caused.</item>
    /// </list>
    /// Any other call with ERESTART_RESTARTBLOCK returns EINTR at restore (see Threads.ResumeRegisters).
    /// </summary>
    public static NormalizedRegisters ForImage(NormalizedRegisters live)
    {
        if (live.Restart != SyscallRestart.RestartBlock) return live;
        var regs = live.Registers;
        switch (live.InterruptedSyscall)
        {
            case SysNanosleep: // nanosleep(req = rdi, rem = rsi)
                if (regs.Rsi != 0) regs.Rdi = regs.Rsi;
                break;
            case SysClockNanosleep: // clock_nanosleep(clock = rdi, flags = rsi, req = rdx, rem = r10)
                if (regs.R10 != 0) regs.Rdx = regs.R10;
                break;
            case SysPoll or SysFutex: // the arguments are as they were
                break;
            default:
                return live;
        }
        regs.Rax = (ulong)live.InterruptedSyscall;
        return live with { Registers = regs, Restart = SyscallRestart.RestartNoHand };
    }
}
