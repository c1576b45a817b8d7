using System.Runtime.InteropServices;
using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Tracing;

internal sealed partial class Tracer
{
    // Per traced tid: the status of its current stop, or null while it runs.
    // Touched only on the tracer thread, so it needs no lock.
    private readonly Dictionary<int, WaitStatus?> tracees = new();

    // Tracees under seccomp: their filters, asked before each injection (GuardSyscalls).
    private readonly Dictionary<int, SeccompChain> syscallGuards = new();

    /// <summary>Attaches to thread <paramref name="tid"/> with PTRACE_SEIZE (the thread keeps running).</summary>
    public void Seize(int tid, PtraceOptions options = PtraceOptions.TraceSysGood) => Run(() =>
    {
        if (Native.Ptrace(PtraceRequest.Seize, tid, 0, (nint)options) == -1)
        {
            int errno = Marshal.GetLastPInvokeError();
            // A thread has one tracer at a time: say who holds it (a debugger, strace) rather than just EPERM.
            if (errno == ErrnoNames.EPERM && OtherTracer(tid) is { } other)
                throw new InvalidOperationException($"pid {tid} is already traced by {other}; a process can have only one tracer: detach it (the debugger, strace) and checkpoint again");
            throw new SysCallException(PtraceRequest.Describe(PtraceRequest.Seize), errno, $"pid {tid}");
        }
        tracees[tid] = null;
        syscallGuards.Remove(tid);
    });

    /// <summary>"pid N (comm)" of the tracer /proc/TID/status names, or null when there is none (or the thread is gone).</summary>
    private static string? OtherTracer(int tid)
    {
        try
        {
            int tracer = ProcStatus.Read(tid).TracerPid;
            if (tracer == 0) return null;
            string comm = File.Exists($"/proc/{tracer}/comm") ? File.ReadAllText($"/proc/{tracer}/comm").Trim() : "?";
            return $"pid {tracer} ({comm})";
        }
        catch (Exception e) when (e is ProcFormatException or IOException)
        {
            return null;
        }
    }

    /// <summary>Replaces the PTRACE_O_* options of a stopped tracee (PTRACE_SETOPTIONS).</summary>
    public void SetOptions(int tid, PtraceOptions options) => Run(() => Ptrace(PtraceRequest.SetOptions, tid, 0, (nint)options));

    /// <summary>
    /// Stops a running tracee with PTRACE_INTERRUPT and waits for the interrupt (or group) stop.
    /// Signals that arrive first are delivered (the tracee resumes with them), after which the
    /// interrupt, still pending, stops it. Returns the stop status. An already stopped tracee
    /// is left as it is and its current stop returned.
    /// </summary>
    public WaitStatus Interrupt(int tid) => Run(() =>
    {
        if (StopOf(tid) is { } current) return current;
        Ptrace(PtraceRequest.Interrupt, tid, 0, 0);
        const int maxOtherStops = 1000;
        for (int i = 0; i < maxOtherStops; i++)
        {
            var status = WaitOnThread(tid, "PTRACE_INTERRUPT");
            if (status.Gone)
            {
                tracees.Remove(tid);
                throw new TraceeGoneException($"PTRACE_INTERRUPT of pid {tid}", status);
            }
            if (status.IsEventStop)
            {
                tracees[tid] = status;
                KeepWaitGoing(tid);
                return status;
            }
            // A signal-delivery stop: deliver the signal; a syscall or fork/exec/exit event stop:
            // go on. The pending interrupt traps right after.
            int deliver = status.IsSignalDeliveryStop ? status.StopSignal : 0;
            Ptrace(PtraceRequest.Cont, tid, 0, deliver);
        }
        throw new InvalidOperationException($"PTRACE_INTERRUPT of pid {tid}: no interrupt stop after {maxOtherStops} other stops");
    });

    /// <summary>Waits for the next stop or the end of a tracee (waitpid with __WALL).</summary>
    public WaitStatus WaitForStop(int tid) => Run(() =>
    {
        var status = WaitOnThread(tid, "waitpid");
        if (status.Gone) tracees.Remove(tid);
        else if (status.Stopped) tracees[tid] = status;
        return status;
    });

    /// <summary>Resumes a stopped tracee (still traced), delivering <paramref name="signal"/> if non-zero.</summary>
    public void Continue(int tid, int signal = 0) => Run(() =>
    {
        Ptrace(PtraceRequest.Cont, tid, 0, signal);
        tracees[tid] = null;
    });

    /// <summary>Detaches; a running tracee is interrupted first, as PTRACE_DETACH needs a stopped one.</summary>
    public void Detach(int tid, int signal = 0) => Run(() =>
    {
        if (StopOf(tid) is null) Interrupt(tid);
        Ptrace(PtraceRequest.Detach, tid, 0, signal);
        tracees.Remove(tid);
    });

    /// <summary>Sends SIGKILL to the tracee's thread group and waits until this thread is gone (reaped if it is our child).</summary>
    public WaitStatus Kill(int tid) => Run(() =>
    {
        if (Native.Kill(tid, Signals.SIGKILL) < 0)
            throw new SysCallException("kill(SIGKILL)", Marshal.GetLastPInvokeError(), $"pid {tid}");
        while (true)
        {
            var status = WaitOnThread(tid, "SIGKILL");
            if (status.Gone)
            {
                tracees.Remove(tid);
                return status;
            }
            // PTRACE_EVENT_EXIT or a racing stop: let it run to its death.
            Native.Ptrace(PtraceRequest.Cont, tid, 0, 0);
        }
    });

    /// <summary>
    /// Kills a multi-threaded process: SIGKILL to the group, then waits for every traced thread
    /// (non-leaders first). A traced thread stays a zombie until its tracer has waited for it, and
    /// the group leader is not reported before all of them, so each one must be collected here.
    /// </summary>
    public WaitStatus KillGroup(int pid, IReadOnlyCollection<int> threads) => Run(() =>
    {
        if (Native.Kill(pid, Signals.SIGKILL) < 0)
            throw new SysCallException("kill(SIGKILL)", Marshal.GetLastPInvokeError(), $"pid {pid}");
        ReleaseMemory(pid);
        foreach (int tid in threads)
        {
            if (tid == pid || !tracees.ContainsKey(tid)) continue;
            while (true)
            {
                var status = WaitOnThread(tid, "SIGKILL of a thread");
                if (status.Gone) { tracees.Remove(tid); break; }
                Native.Ptrace(PtraceRequest.Cont, tid, 0, 0);
            }
        }
        return Kill(pid);
    });

    /// <summary>
    /// Frees the memory of a process that is being killed from this thread too, while the process
    /// tears itself down (process_mrelease, 5.15+): the two unmap in parallel, and a 2 GiB process
    /// is gone in about 0.09 s instead of 0.16 s here. Best effort: without the call (ENOSYS), or
    /// when another process shares the memory (EINVAL), the process frees it alone.
    /// </summary>
    private static void ReleaseMemory(int pid)
    {
        long pidfd = Native.Syscall(SyscallNumbers.PidfdOpen, pid, 0);
        if (pidfd < 0) return;
        Native.Syscall(SyscallNumbers.ProcessMrelease, pidfd, 0);
        Native.Close((int)pidfd);
    }

    /// <summary>Forgets a tracee that ended without this tracer's help (its exit was collected elsewhere).</summary>
    public void Forget(int tid) => Run(() => { tracees.Remove(tid); });

    /// <summary>
    /// Resumes a stopped tracee and waits until it has ended (it was set up to end: an exit call
    /// or a fatal signal pending); signal-delivery stops on the way are passed on. Returns the end.
    /// </summary>
    public WaitStatus RunToEnd(int tid) => Run(() =>
    {
        int deliver = 0;
        for (int i = 0; i < 1000; i++)
        {
            Ptrace(PtraceRequest.Cont, tid, 0, deliver);
            tracees[tid] = null;
            var status = WaitOnThread(tid, "the end of a tracee");
            if (status.Gone)
            {
                tracees.Remove(tid);
                return status;
            }
            tracees[tid] = status;
            deliver = status.IsSignalDeliveryStop ? status.StopSignal : 0;
        }
        throw new InvalidOperationException($"pid {tid} did not end");
    });

    public UserRegs GetRegs(int tid) => Run(() => GetRegsOnThread(tid));

    public void SetRegs(int tid, UserRegs regs) => Run(() => SetRegsOnThread(tid, regs));

    /// <summary>The FPU/SSE/AVX state; its size (832 bytes here, more with AVX-512) comes from the kernel.</summary>
    public unsafe XState GetXState(int tid) => Run(() =>
    {
        var buffer = new byte[4096];
        fixed (byte* data = buffer)
        {
            var iov = new IoVec((ulong)data, (ulong)buffer.Length);
            Ptrace(PtraceRequest.GetRegSet, tid, RegSet.X86XState, (nint)(&iov));
            return new XState(buffer.AsSpan(0, (int)iov.Length).ToArray());
        }
    });

    public unsafe void SetXState(int tid, XState state) => Run(() =>
    {
        fixed (byte* data = state.Bytes)
        {
            var iov = new IoVec((ulong)data, (ulong)state.Bytes.Length);
            Ptrace(PtraceRequest.SetRegSet, tid, RegSet.X86XState, (nint)(&iov));
        }
    });

    /// <summary>
    /// The seccomp filters of a stopped thread, the first installed first (PTRACE_SECCOMP_GET_FILTER:
    /// 8-byte struct sock_filter instructions; *(seen here)* index 0 is the oldest filter, the
    /// kernel's get_nth_filter counts from the bottom of the chain), each with its flags
    /// (PTRACE_SECCOMP_GET_METADATA, Linux 4.16+: SECCOMP_FILTER_FLAG_LOG; 0 where it is missing).
    /// </summary>
    public unsafe List<(byte[] Program, ulong Flags)> GetSeccompFilters(int tid) => Run(() =>
    {
        const int ENOENT = 2, EINVAL = 22, EIO = 5;
        var filters = new List<(byte[], ulong)>();
        ulong* metadata = stackalloc ulong[2]; // struct seccomp_metadata { u64 filter_off; u64 flags; }
        for (int index = 0; ; index++)
        {
            long count = Native.Ptrace(PtraceRequest.SeccompGetFilter, tid, index, 0);
            if (count < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == ENOENT) return filters;
                throw new SysCallException(PtraceRequest.Describe(PtraceRequest.SeccompGetFilter), errno, $"{DescribeTracee(tid)}, filter {index}");
            }
            var program = new byte[count * 8];
            fixed (byte* data = program) Ptrace(PtraceRequest.SeccompGetFilter, tid, index, (nint)data);
            metadata[0] = (ulong)index;
            metadata[1] = 0;
            if (Native.Ptrace(PtraceRequest.SeccompGetMetadata, tid, 16, (nint)metadata) < 0
                && Marshal.GetLastPInvokeError() is not (EINVAL or EIO))
                throw new SysCallException(PtraceRequest.Describe(PtraceRequest.SeccompGetMetadata), Marshal.GetLastPInvokeError(), $"{DescribeTracee(tid)}, filter {index}");
            filters.Add((program, metadata[1]));
        }
    });

    /// <summary>The blocked-signal mask (the real one, saved_sigmask, while in sigsuspend/ppoll).</summary>
    public ulong GetSigMask(int tid) => Run(() => GetSigMaskOnThread(tid));

    /// <summary>Sets the blocked-signal mask (SIGKILL/SIGSTOP are dropped by the kernel).</summary>
    public void SetSigMask(int tid, ulong mask) => Run(() => SetSigMaskOnThread(tid, mask));

    /// <summary>Pending signals without dequeuing them: the thread's own queue, or the process-wide one.</summary>
    public unsafe IReadOnlyList<SigInfo> PeekPendingSignals(int tid, bool shared) => Run(() =>
    {
        const int batch = 32;
        var result = new List<SigInfo>();
        var buffer = new byte[batch * SigInfo.Size];
        PeekSigInfoArgs args = default;
        args.Flags = shared ? 1u : 0u; // PTRACE_PEEKSIGINFO_SHARED
        args.Count = batch;
        fixed (byte* data = buffer)
        {
            while (true)
            {
                args.Offset = (ulong)result.Count;
                long count = Ptrace(PtraceRequest.PeekSigInfo, tid, (nint)(&args), (nint)data);
                for (int i = 0; i < count; i++)
                    result.Add(new SigInfo(buffer.AsSpan(i * SigInfo.Size, SigInfo.Size).ToArray()));
                if (count < batch) return (IReadOnlyList<SigInfo>)result;
            }
        }
    });

    /// <summary>The siginfo of the current signal-delivery stop.</summary>
    public unsafe SigInfo GetSigInfo(int tid) => Run(() =>
    {
        var raw = new byte[SigInfo.Size];
        fixed (byte* data = raw) Ptrace(PtraceRequest.GetSigInfo, tid, 0, (nint)data);
        return new SigInfo(raw);
    });

    /// <summary>The message of the last ptrace event (new pid of a fork/clone, exit status, ...).</summary>
    public unsafe ulong GetEventMessage(int tid) => Run(() =>
    {
        ulong message;
        Ptrace(PtraceRequest.GetEventMsg, tid, 0, (nint)(&message));
        return message;
    });

    /// <summary>The thread's rseq registration (kernel 5.13+; EIO before).</summary>
    public unsafe RseqConfiguration GetRseqConfiguration(int tid) => Run(() =>
    {
        RseqConfigurationNative config;
        Ptrace(PtraceRequest.GetRseqConfiguration, tid, sizeof(RseqConfigurationNative), (nint)(&config));
        return new RseqConfiguration(config.AbiPointer, config.AbiSize, config.Signature, config.Flags);
    });

    private struct PeekSigInfoArgs
    {
        public ulong Offset;
        public uint Flags;
        public int Count;
    }

    private struct RseqConfigurationNative
    {
        public ulong AbiPointer;
        public uint AbiSize;
        public uint Signature;
        public uint Flags;
        public uint Padding;
    }

    // ---- helpers that must run on the tracer thread ----

    /// <summary>The current stop of a traced tid, null while it runs; throws if not traced here.</summary>
    private WaitStatus? StopOf(int tid) =>
        tracees.TryGetValue(tid, out var stop)
            ? stop
            : throw new InvalidOperationException($"pid {tid} is not traced by this tracer (seize it first)");

    private long Ptrace(int request, int tid, nint addr, nint data)
    {
        long result = Native.Ptrace(request, tid, addr, data);
        if (result != -1) return result;
        // -1 with errno 0 is a legitimate value (PEEKDATA); LibraryImport zeroes errno before the call.
        int errno = Marshal.GetLastPInvokeError();
        if (errno != 0) throw new SysCallException(PtraceRequest.Describe(request), errno, DescribeTracee(tid));
        return result;
    }

    private string DescribeTracee(int tid) =>
        !tracees.TryGetValue(tid, out var stop) ? $"pid {tid} (not traced by this tracer)"
        : stop is null ? $"pid {tid} (running)"
        : $"pid {tid} ({stop.Value})";

    private WaitStatus WaitOnThread(int tid, string operation)
    {
        while (true)
        {
            int pid = Native.WaitPid(tid, out int raw, Native.WALL);
            if (pid == tid) return new WaitStatus(tid, raw);
            int errno = Marshal.GetLastPInvokeError();
            if (errno != ErrnoNames.EINTR) throw new SysCallException($"waitpid (for {operation})", errno, DescribeTracee(tid));
        }
    }

    /// <summary>
    /// The interrupt wakes a wait the kernel never restarts (epoll_wait, sigwaitinfo, semop …:
    /// <see cref="InterruptedSyscall.IsWaitCutShort"/>) with EINTR. Unless a signal is there for
    /// a handler (which would have cut it short anyway), the thread is set to make the call again:
    /// whether it is left running, detached after a failed checkpoint or saved in an image, the
    /// program never sees an EINTR of cryo's making.
    /// </summary>
    private void KeepWaitGoing(int tid)
    {
        var regs = GetRegsOnThread(tid);
        if (!InterruptedSyscall.IsWaitCutShort(regs)) return;
        var status = Proc.ProcStatus.Read(tid);
        if (((status.SigPending | status.SharedSigPending) & ~status.SigBlocked & status.SigCaught) != 0) return;
        SetRegsOnThread(tid, InterruptedSyscall.Reexecuting(regs));
    }

    private unsafe UserRegs GetRegsOnThread(int tid)
    {
        UserRegs regs;
        var iov = new IoVec((ulong)(&regs), UserRegs.Size);
        Ptrace(PtraceRequest.GetRegSet, tid, RegSet.PrStatus, (nint)(&iov));
        return regs;
    }

    private unsafe void SetRegsOnThread(int tid, UserRegs regs)
    {
        var iov = new IoVec((ulong)(&regs), UserRegs.Size);
        Ptrace(PtraceRequest.SetRegSet, tid, RegSet.PrStatus, (nint)(&iov));
    }

    private unsafe ulong GetSigMaskOnThread(int tid)
    {
        ulong mask;
        Ptrace(PtraceRequest.GetSigMask, tid, sizeof(ulong), (nint)(&mask));
        return mask;
    }

    private unsafe void SetSigMaskOnThread(int tid, ulong mask) =>
        Ptrace(PtraceRequest.SetSigMask, tid, sizeof(ulong), (nint)(&mask));

    /// <summary>Best effort at dispose: detach what is still attached so no tracee stays frozen.</summary>
    private void ReleaseAllTracees()
    {
        foreach (int tid in tracees.Keys.ToArray())
        {
            try
            {
                Detach(tid);
            }
            catch (Exception e) when (e is SysCallException or TraceeGoneException or InvalidOperationException)
            {
                // Already gone or not stoppable: the kernel detaches it when this thread ends.
                tracees.Remove(tid);
            }
        }
    }
}
