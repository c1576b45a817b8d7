using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;
using ImageRestart = Cryo.Format.SyscallRestart;
using TracerRestart = Cryo.Tracing.SyscallRestart;

namespace Cryo.Resources;

/// <summary>
/// One THRD section per thread: TINF (signal mask, alternate stack, clear-child-tid address,
/// robust futex list, rseq registration, restart mode, name), GREG (normalised registers) and
/// XSTA (FPU/SSE/AVX state), for every thread (main thread first); the thread's PEND and SCHD
/// come from Signals and Scheduling. Other threads are created
/// with their original tids right after the memory is in place (<see cref="CreateThreads"/>).
/// <para>Restore: the items are kept until Finish (the last kind that injects calls): the per-thread kernel
/// state is set with injected calls, the scratch page is unmapped, then the extended state,
/// the registers and the signal mask go back. The restorer detaches afterwards.</para>
/// </summary>
internal sealed class Threads : IResourceKind
{
    public string Name => "Threads";

    // -------------------------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        var items = new List<CheckpointItem>();
        foreach (var thread in process.Threads) items.AddRange(DumpThread(process, thread));
        return new DumpedItems(items);
    }

    /// <summary>
    /// Per-thread state the image has no place for yet, which a restore would silently drop:
    /// a NUMA memory policy (set_mempolicy, as `numactl --interleave` leaves one) and a
    /// machine-check kill policy (PR_MCE_KILL). Both are in no /proc file: asked in the thread.
    /// </summary>
    private static void RefuseUnsaved(int pid, int tid, RemoteSyscall calls, ScratchArea scratch)
    {
        // A call the thread's seccomp filters would not let run is not made, and not asked.
        long Ask(long number, long a, long b) { try { return calls.Invoke(number, a, b, 0, 0, 0); } catch (SyscallFilteredException) { return -1; } }

        scratch.Write(0, stackalloc byte[4]);
        long policy = Ask(InjectedCalls.GetMempolicy, (long)scratch.Address, 0);
        Span<byte> word = stackalloc byte[4];
        scratch.Read(0, word);
        int mode = BinaryPrimitives.ReadInt32LittleEndian(word);
        // ENOSYS: a kernel without NUMA has no policy to lose.
        if (policy == 0 && mode != 0)
            throw new UnsupportedResourceException(pid, $"tid {tid}",
                $"it has a NUMA memory policy (set_mempolicy, mode 0x{mode:x}, as numactl sets one), which cryo does not save yet");
        long mce = Ask(SyscallNumbers.Prctl, InjectedCalls.PR_MCE_KILL_GET, 0);
        if (mce >= 0 && mce != InjectedCalls.PR_MCE_KILL_DEFAULT)
            throw new UnsupportedResourceException(pid, $"tid {tid}",
                $"it has a machine-check kill policy (PR_MCE_KILL, {(mce == 1 ? "early" : mce == 0 ? "late" : $"{mce}")}), which cryo does not save yet");
    }

    private static List<CheckpointItem> DumpThread(FrozenProcess process, FrozenThread thread)
    {
        int tid = thread.Tid;
        var tracer = process.Tracer;

        // The mask first: an injection blocks every signal while it runs (and puts the mask back).
        ulong blocked = tracer.GetSigMask(tid);

        // sigaltstack and the clear-child-tid address belong to each thread: asked in that thread.
        var calls = tid == process.Pid ? process.Syscalls : new RemoteSyscall(tracer, tid, process.Syscalls.SyscallInstruction);
        ulong altSp = 0, altSize = 0, clearChildTid = 0;
        uint altFlags = 0;
        tracer.Run(() =>
        {
            using var scratch = process.Scratch(64);
            Span<byte> buffer = stackalloc byte[MemoryCalls.StackTSize];
            calls.Checked("sigaltstack(NULL, &old)", MemoryCalls.Sigaltstack, 0, (long)scratch.Address);
            scratch.Read(0, buffer);
            altSp = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
            altFlags = BinaryPrimitives.ReadUInt32LittleEndian(buffer[8..]);
            altSize = BinaryPrimitives.ReadUInt64LittleEndian(buffer[16..]);

            calls.Checked("prctl(PR_GET_TID_ADDRESS)", SyscallNumbers.Prctl, MemoryCalls.PR_GET_TID_ADDRESS, (long)scratch.Address);
            scratch.Read(0, buffer[..8]);
            clearChildTid = BinaryPrimitives.ReadUInt64LittleEndian(buffer);

            RefuseUnsaved(process.Pid, tid, calls, scratch);
        });

        var (robustHead, robustLength) = RobustList(tid);
        // Without PTRACE_GET_RSEQ_CONFIGURATION (KernelFeatures) it is found through glibc's __rseq_offset.
        var rseq = RseqAccess.Read(tracer, tid, process.Pid);

        var normalized = InterruptedSyscall.ForImage(thread.Normalized);
        var regs = normalized.Registers;
        var restart = normalized.Restart switch
        {
            TracerRestart.None => ImageRestart.None,
            TracerRestart.RestartBlock => ImageRestart.RestartBlock,
            _ => ImageRestart.Reexecute,
        };
        byte[] comm = ReadComm(process.Pid, tid);
        var xstate = tracer.GetXState(tid);

        var info = new ThreadInfo(tid, blocked, altSp, altFlags, altSize, clearChildTid, robustHead, robustLength,
            rseq.AbiPointer, rseq.AbiSize, rseq.Signature, restart, comm);
        return
        [
            new SectionBegin(ItemKinds.Thread),
            info,
            new Registers(ToWords(regs)),
            new ExtendedState(xstate.FeatureMask, xstate.Bytes),
            // The thread's own signal queue belongs in its section; Signals reads and restores it.
            ResourceKinds.Find<Signals>().DumpThreadPending(process, thread),
            // Policy, nice, affinity, timer slack, I/O priority: Scheduling reads and restores them.
            .. ResourceKinds.Find<Scheduling>().DumpThread(process, thread),
            // Strict mode or the last of its seccomp filters: Seccomp reads them and installs them last.
            .. ResourceKinds.Find<Seccomp>().DumpThread(process, thread),
            new SectionEnd(ItemKinds.Thread),
        ];
    }

    /// <summary>get_robust_list(tid) called by cryo (it needs ptrace read access, not injection).</summary>
    private static unsafe (ulong Head, ulong Length) RobustList(int tid)
    {
        ulong head = 0, length = 0;
        if (Native.Syscall(MemoryCalls.GetRobustList, tid, (long)&head, (long)&length) < 0)
            throw new SysCallException("get_robust_list", Marshal.GetLastPInvokeError(), $"tid {tid}");
        return (head, length);
    }

    private static byte[] ReadComm(int pid, int tid)
    {
        byte[] raw = ProcFiles.ReadBytes($"/proc/{pid}/task/{tid}/comm");
        return raw.Length > 0 && raw[^1] == (byte)'\n' ? raw[..^1] : raw;
    }

    /// <summary>user_regs_struct in <see cref="Registers.Names"/> order, which is its field order.</summary>
    internal static unsafe ulong[] ToWords(UserRegs regs)
    {
        var words = new ulong[Registers.Count];
        new ReadOnlySpan<ulong>(&regs, Registers.Count).CopyTo(words);
        return words;
    }

    internal static unsafe UserRegs FromWords(ReadOnlySpan<ulong> words)
    {
        if (words.Length != Registers.Count) throw new ArgumentException($"{words.Length} register words, expected {Registers.Count}");
        UserRegs regs;
        words.CopyTo(new Span<ulong>(&regs, Registers.Count));
        return regs;
    }

    // -------------------------------------------------------------------------------- restore

    public bool Handles(CheckpointItem item) => item is ThreadInfo or Registers or ExtendedState;

    private sealed class ThreadImage(ThreadInfo info)
    {
        public ThreadInfo Info { get; } = info;
        public Registers? Registers { get; set; }
        public ExtendedState? ExtendedState { get; set; }
    }

    private sealed class RestoreState
    {
        public List<ThreadImage> Threads = [];
        public bool Created;
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"{item.Tag} item outside a PROC section");
        var state = process.State<RestoreState>();
        if (item is ThreadInfo info)
        {
            if (state.Threads.Count == 0 && info.Tid != process.Pid)
                throw new InvalidDataException($"image of pid {process.Pid}: the main thread's TINF has tid {info.Tid}");
            if (state.Threads.Count > 0 && (info.Tid <= 1 || state.Threads.Any(t => t.Info.Tid == info.Tid)))
                throw new InvalidDataException($"image of pid {process.Pid}: thread {info.Tid} is invalid or appears twice");
            state.Threads.Add(new ThreadImage(info));
            process.CurrentThread = info; // thread-scoped items that follow (PEND) belong to it
            return;
        }
        var current = state.Threads.LastOrDefault()
            ?? throw new InvalidDataException($"image of pid {process.Pid}: {item.Tag} before any TINF");
        switch (item)
        {
            case Registers registers when current.Registers is null:
                current.Registers = registers;
                break;
            case ExtendedState xstate when current.ExtendedState is null:
                current.ExtendedState = xstate;
                break;
            default:
                throw new InvalidDataException($"image of pid {process.Pid}: a second {item.Tag} for thread {current.Info.Tid}");
        }
    }

    /// <summary>
    /// Creates the process's other threads with their original tids: clone3(CLONE_VM | CLONE_FS |
    /// CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, set_tid = [tid]) injected into
    /// the main thread once the memory is in place and while the process still has the privileges
    /// set_tid needs (before the credentials are restored). Each new thread is reported through
    /// PTRACE_EVENT_CLONE and waits stopped under the tracer, all signals blocked, until Finish
    /// gives it its state. The restorer calls this right after Memory's finish step.
    /// </summary>
    public void CreateThreads(RestoringProcess process, RestoreSession session)
    {
        var state = process.State<RestoreState>();
        if (state.Created) return;
        state.Created = true;
        if (state.Threads.Count == 0) throw new InvalidDataException($"image of pid {process.Pid}: no THRD section");
        if (process.Info.ThreadCount != state.Threads.Count)
            throw new InvalidDataException($"image of pid {process.Pid}: PINF says {process.Info.ThreadCount} threads, the image has {state.Threads.Count} THRD sections");
        if (state.Threads.Count == 1) return;
        var scratch = process.ScratchFor("creating the threads");
        foreach (var thread in state.Threads.Skip(1))
        {
            int tid = ProcessBirth.InjectClone(process.Tracer, process.Pid, process.Syscalls.SyscallInstruction, scratch.Address,
                (offset, data) => scratch.Write(offset, data), MemoryCalls.ThreadCloneFlags, 0, thread.Info.Tid, session,
                $"pid {process.Pid}", track: false, kind: $"thread of pid {process.Pid}: tid");
            process.ThreadIds.Add(tid);
        }
    }

    public void Finish(RestoringProcess process, RestoreSession session)
    {
        CreateThreads(process, session);
        var state = process.State<RestoreState>();
        var scratch = process.ScratchFor("the threads' finish calls");
        var tracer = process.Tracer;
        var signals = ResourceKinds.Find<Signals>();

        tracer.Run(() =>
        {
            // Checked before anything changes: the CPU must have every feature the image uses.
            var final = new List<(int Tid, XState XState, UserRegs Regs, ulong Mask)>();
            foreach (var thread in state.Threads)
            {
                var info = thread.Info;
                int tid = info.Tid;
                var registers = thread.Registers ?? throw new InvalidDataException($"image of pid {process.Pid}: thread {tid} has no GREG");
                var xstateImage = thread.ExtendedState ?? throw new InvalidDataException($"image of pid {process.Pid}: thread {tid} has no XSTA");
                var here = tracer.GetXState(tid);
                final.Add((tid, FitExtendedState(process.Pid, xstateImage, here), ResumeRegisters(info, registers), info.BlockedSignals));
            }

            Span<byte> stack = stackalloc byte[MemoryCalls.StackTSize];
            foreach (var thread in state.Threads)
            {
                var info = thread.Info;
                int tid = info.Tid;
                var calls = tid == process.Pid ? process.Syscalls : new RemoteSyscall(tracer, tid, process.Syscalls.SyscallInstruction);
                if (info.RobustListLength != 0)
                    calls.Checked("set_robust_list", SyscallNumbers.SetRobustList, (long)info.RobustList, (long)info.RobustListLength);
                calls.Checked("set_tid_address", SyscallNumbers.SetTidAddress, (long)info.ClearChildTid);
                if (info.RseqAddress != 0)
                    calls.Checked("rseq", SyscallNumbers.Rseq, (long)info.RseqAddress, info.RseqLength, 0, info.RseqSignature);

                // SS_ONSTACK only reports that the thread runs on the stack; it is not a setting.
                stack.Clear();
                BinaryPrimitives.WriteUInt64LittleEndian(stack, info.AltStackPointer);
                BinaryPrimitives.WriteUInt32LittleEndian(stack[8..], info.AltStackFlags & ~MemoryCalls.SS_ONSTACK);
                BinaryPrimitives.WriteUInt64LittleEndian(stack[16..], info.AltStackSize);
                scratch.Write(0, stack);
                calls.Checked("sigaltstack", MemoryCalls.Sigaltstack, (long)scratch.Address, 0);

                if (tid != process.Pid)
                {
                    // The main thread's name is the process's comm (ProcessIdentity sets it).
                    var comm = info.Comm.AsSpan(0, Math.Min(info.Comm.Length, 15));
                    calls.Checked("prctl(PR_SET_NAME)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_NAME, (long)scratch.WriteCString(0, comm));
                    signals.RestoreThreadPending(process, tid);
                }
            }

            // The last injected call: the program never sees the scratch page.
            process.Syscalls.Munmap(scratch.Address, (ulong)scratch.Size);
            process.Scratch = null;
            // After it, the seccomp filters: from then on they judge every call made in the thread.
            Seccomp.Install(process, final.ToDictionary(f => f.Tid, f => f.Regs.Rsp));

            foreach (var (tid, xstate, regs, mask) in final)
            {
                tracer.SetXState(tid, xstate);
                tracer.SetRegs(tid, regs);
                tracer.SetSigMask(tid, mask);
            }
        });
    }

    /// <summary>
    /// The registers the thread resumes with. A call interrupted with ERESTART_RESTARTBLOCK would
    /// continue through restart_syscall, which runs the task's in-kernel restart block; this
    /// task is new (a copy of the stub, whose block describes the stub's own sleep), so the call
    /// returns EINTR instead: what the kernel does itself when a handler interrupts such a call,
    /// and what CRIU does. The timed waits that use restart blocks (sleeps, poll, futex) were
    /// already turned into re-executed calls at checkpoint (<see cref="InterruptedSyscall.ForImage"/>);
    /// this is for any other. Re-executed calls need nothing: the registers already point at them.
    /// </summary>
    internal static UserRegs ResumeRegisters(ThreadInfo info, Registers registers)
    {
        var regs = FromWords(registers.Values);
        if (info.Restart == ImageRestart.RestartBlock)
        {
            const long EINTR = 4;
            regs.Rax = unchecked((ulong)-EINTR);
            regs.Rip += 2; // just past the syscall instruction, as if it had returned
            regs.OrigRax = UserRegs.NoSyscall;
        }
        return regs;
    }

    /// <summary>
    /// The image's XSAVE area in the size this CPU's kernel expects. Refuses a CPU lacking features
    /// the image has enabled. A smaller image area (fewer features) is laid over this thread's own
    /// area: the standard (non-compacted) layout puts every component at a fixed offset, and the
    /// image's header (xstate_bv) leaves the extra components in their initial state.
    /// </summary>
    internal static XState FitExtendedState(int pid, ExtendedState image, XState here)
    {
        ulong missing = image.Xcr0 & ~here.FeatureMask;
        if (missing != 0)
            throw new InvalidOperationException(
                $"cannot restore pid {pid}: the image uses CPU state features 0x{missing:x} (XCR0 0x{image.Xcr0:x}) that this CPU " +
                $"(XCR0 0x{here.FeatureMask:x}) lacks");
        if (image.Area.Length == here.Bytes.Length) return new XState(image.Area);
        if (image.Area.Length > here.Bytes.Length)
            throw new InvalidOperationException(
                $"cannot restore pid {pid}: the image's extended state is {image.Area.Length} bytes, this CPU's only {here.Bytes.Length}");
        var fitted = (byte[])here.Bytes.Clone();
        image.Area.CopyTo(fitted, 0);
        return new XState(fitted);
    }
}
