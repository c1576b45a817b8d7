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
/// XSTA (FPU/SSE/AVX state). Single-threaded processes only for now.
/// <para>Restore: the items are kept until Finish (last of all kinds): the per-thread kernel
/// state is set with injected calls, the scratch page is unmapped, then the extended state,
/// the registers and the signal mask go back. The restorer detaches afterwards.</para>
/// </summary>
internal sealed class Threads : IResourceKind
{
    public string Name => "Threads";

    // -------------------------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        if (process.Threads.Count != 1)
        {
            int second = process.Threads.Select(t => t.Tid).FirstOrDefault(t => t != process.Pid);
            throw new UnsupportedResourceException(process.Pid, $"thread {second}",
                $"the process has {process.Threads.Count} threads; only single-threaded processes can be checkpointed yet");
        }
        var thread = process.Threads[0];
        int tid = thread.Tid;
        var tracer = process.Tracer;

        // The mask first: an injection blocks every signal while it runs (and puts the mask back).
        ulong blocked = tracer.GetSigMask(tid);

        ulong altSp = 0, altSize = 0, clearChildTid = 0;
        uint altFlags = 0;
        tracer.Run(() =>
        {
            using var scratch = process.Scratch(64);
            Span<byte> buffer = stackalloc byte[MemoryCalls.StackTSize];
            process.Syscalls.Checked("sigaltstack(NULL, &old)", MemoryCalls.Sigaltstack, 0, (long)scratch.Address);
            scratch.Read(0, buffer);
            altSp = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
            altFlags = BinaryPrimitives.ReadUInt32LittleEndian(buffer[8..]);
            altSize = BinaryPrimitives.ReadUInt64LittleEndian(buffer[16..]);

            process.Syscalls.Checked("prctl(PR_GET_TID_ADDRESS)", SyscallNumbers.Prctl, MemoryCalls.PR_GET_TID_ADDRESS, (long)scratch.Address);
            scratch.Read(0, buffer[..8]);
            clearChildTid = BinaryPrimitives.ReadUInt64LittleEndian(buffer);
        });

        var (robustHead, robustLength) = RobustList(tid);
        RseqConfiguration rseq;
        try { rseq = tracer.GetRseqConfiguration(tid); }
        catch (SysCallException e) when (e.Errno == ErrnoNames.EIO)
        {
            // Before 5.13 the registration cannot be read; glibc then keeps a stale cpu id after a restore.
            rseq = default;
        }

        var regs = thread.Normalized.Registers;
        var restart = thread.Normalized.Restart switch
        {
            TracerRestart.None => ImageRestart.None,
            TracerRestart.RestartBlock => ImageRestart.RestartBlock,
            _ => ImageRestart.Reexecute,
        };
        byte[] comm = ReadComm(process.Pid, tid);
        var xstate = tracer.GetXState(tid);

        var info = new ThreadInfo(tid, blocked, altSp, altFlags, altSize, clearChildTid, robustHead, robustLength,
            rseq.AbiPointer, rseq.AbiSize, rseq.Signature, restart, comm);
        return new DumpedItems(
        [
            new SectionBegin(ItemKinds.Thread),
            info,
            new Registers(ToWords(regs)),
            new ExtendedState(xstate.FeatureMask, xstate.Bytes),
            // The thread's own signal queue belongs in its section; Signals reads and restores it.
            ResourceKinds.Find<Signals>().DumpThreadPending(process, thread),
            new SectionEnd(ItemKinds.Thread),
        ]);
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
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"{item.Tag} item outside a PROC section");
        var state = process.State<RestoreState>();
        if (item is ThreadInfo info)
        {
            if (state.Threads.Count > 0)
                throw new InvalidOperationException(
                    $"cannot restore pid {process.Pid}: thread {info.Tid} is a second thread; only single-threaded processes can be restored yet");
            if (info.Tid != process.Pid)
                throw new InvalidDataException($"image of pid {process.Pid}: the main thread's TINF has tid {info.Tid}");
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

    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var state = process.State<RestoreState>();
        if (state.Threads.Count == 0) throw new InvalidDataException($"image of pid {process.Pid}: no THRD section");
        var thread = state.Threads[0];
        var info = thread.Info;
        var registers = thread.Registers ?? throw new InvalidDataException($"image of pid {process.Pid}: thread {info.Tid} has no GREG");
        var xstateImage = thread.ExtendedState ?? throw new InvalidDataException($"image of pid {process.Pid}: thread {info.Tid} has no XSTA");
        var scratch = process.Scratch ?? throw new InvalidOperationException($"pid {process.Pid}: no scratch memory (Memory.Finish runs first)");
        var tracer = process.Tracer;
        int tid = process.Pid;

        tracer.Run(() =>
        {
            // Checked before anything changes: the CPU must have every feature the image uses.
            var here = tracer.GetXState(tid);
            var xstate = FitExtendedState(process.Pid, xstateImage, here);
            var regs = ResumeRegisters(info, registers);

            var calls = process.Syscalls;
            if (info.RobustListLength != 0)
                calls.Checked("set_robust_list", SyscallNumbers.SetRobustList, (long)info.RobustList, (long)info.RobustListLength);
            calls.Checked("set_tid_address", SyscallNumbers.SetTidAddress, (long)info.ClearChildTid);
            if (info.RseqAddress != 0)
                calls.Checked("rseq", SyscallNumbers.Rseq, (long)info.RseqAddress, info.RseqLength, 0, info.RseqSignature);

            // SS_ONSTACK only reports that the thread runs on the stack; it is not a setting.
            Span<byte> stack = stackalloc byte[MemoryCalls.StackTSize];
            stack.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(stack, info.AltStackPointer);
            BinaryPrimitives.WriteUInt32LittleEndian(stack[8..], info.AltStackFlags & ~MemoryCalls.SS_ONSTACK);
            BinaryPrimitives.WriteUInt64LittleEndian(stack[16..], info.AltStackSize);
            scratch.Write(0, stack);
            calls.Checked("sigaltstack", MemoryCalls.Sigaltstack, (long)scratch.Address, 0);

            // The last injected call: the program never sees the scratch page.
            calls.Munmap(scratch.Address, (ulong)scratch.Size);
            process.Scratch = null;

            tracer.SetXState(tid, xstate);
            tracer.SetRegs(tid, regs);
            tracer.SetSigMask(tid, info.BlockedSignals);
        });
    }

    /// <summary>
    /// The registers the thread resumes with. A call interrupted with ERESTART_RESTARTBLOCK would
    /// continue through restart_syscall, which runs the task's in-kernel restart block; this
    /// task is new (a copy of the stub, whose block describes the stub's own sleep), so the call
    /// returns EINTR instead: what the kernel does itself when a handler interrupts such a call,
    /// and what CRIU does. Re-executed calls need nothing: the registers already point at them.
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
