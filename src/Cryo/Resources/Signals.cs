using System.Buffers.Binary;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;
using SignalNames = Cryo.Interop.Signals;

namespace Cryo.Resources;

/// <summary>
/// Signal dispositions (SIGA) and pending signals (PEND). Dispositions are read with injected
/// rt_sigaction(sig, NULL, &amp;old); the shared queue goes into PROC, each thread's own queue into
/// its THRD section through <see cref="DumpThreadPending"/> (called by Threads). Pending signals
/// are re-queued by injecting rt_sigqueueinfo / rt_tgsigqueueinfo into the process itself: the
/// kernel refuses a siginfo with si_code ≥ 0 (SI_USER, kernel codes) or SI_TKILL from any
/// other sender, but accepts it verbatim (si_pid, si_uid included) from the process itself.
/// </summary>
internal sealed class Signals : IResourceKind
{
    public string Name => "Signals";

    public bool Handles(CheckpointItem item) => item is SignalHandlers or PendingSignals;

    // ---------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        // Every signal needs a look, not only those SigIgn and SigCgt name: a SIG_DFL action
        // keeps its flags and mask, and some flags act without a handler (SA_NOCLDWAIT and
        // SA_NOCLDSTOP of SIGCHLD: a parent that never reaps its children relies on the first).
        var actions = new List<SignalAction>();
        using (var scratch = process.Scratch(InjectedCalls.KernelSigactionSize))
        {
            Span<byte> raw = stackalloc byte[InjectedCalls.KernelSigactionSize];
            for (int signal = 1; signal <= 64; signal++)
            {
                if (signal is SignalNames.SIGKILL or SignalNames.SIGSTOP) continue;
                process.Syscalls.Checked($"rt_sigaction({SignalNames.Name(signal)})", SyscallNumbers.RtSigaction,
                    signal, 0, (long)scratch.Address, InjectedCalls.SigsetSize);
                scratch.Read(0, raw);
                // glibc's internal signals 32 and 33 show up here like any other: recorded as they are.
                var action = DecodeAction(signal, raw);
                if (action != new SignalAction((uint)signal, 0, 0, 0, 0)) actions.Add(action);
            }
        }
        var shared = new PendingSignals(SignalQueue.Process, Queued(process.Tracer.PeekPendingSignals(process.Pid, shared: true)));
        return new DumpedItems([new SignalHandlers([.. actions]), shared]);
    }

    /// <summary>The thread's own pending signals, for its THRD section (called by Threads.Dump).</summary>
    public PendingSignals DumpThreadPending(FrozenProcess process, FrozenThread thread) =>
        new(SignalQueue.Thread, Queued(process.Tracer.PeekPendingSignals(thread.Tid, shared: false)));

    private static QueuedSignal[] Queued(IReadOnlyList<SigInfo> infos) =>
        [.. infos.Select(i => new QueuedSignal(i.Signal, i.Errno, i.Code, i.Raw.AsSpan(12, QueuedSignal.DataSize).ToArray()))];

    internal static SignalAction DecodeAction(int signal, ReadOnlySpan<byte> raw) => new(
        (uint)signal,
        BinaryPrimitives.ReadUInt64LittleEndian(raw),
        BinaryPrimitives.ReadUInt64LittleEndian(raw[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(raw[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(raw[24..]));

    // ---------------------------------------------------------------- restore

    internal sealed class SignalState
    {
        public SignalHandlers? Handlers { get; set; }
        public PendingSignals? Shared { get; set; }
        public Dictionary<int, PendingSignals> ThreadPending { get; } = [];
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"'{item.Tag}' outside a PROC section");
        var state = process.State<SignalState>();
        switch (item)
        {
            case SignalHandlers handlers:
                if (handlers.Actions.Select(a => a.Signal).Distinct().Count() != handlers.Actions.Length)
                    throw new InvalidOperationException($"pid {process.Pid}: SIGA lists a signal twice");
                state.Handlers = handlers;
                break;
            case PendingSignals { Queue: SignalQueue.Process } shared:
                state.Shared = shared;
                break;
            case PendingSignals thread:
                int tid = process.CurrentThread?.Tid
                    ?? throw new InvalidOperationException($"pid {process.Pid}: a thread's PEND outside a THRD section");
                state.ThreadPending[tid] = thread;
                break;
        }
    }

    /// <summary>
    /// Sets every disposition (recorded, or SIG_DFL for what the stub had changed), then re-queues
    /// the shared queue and the main thread's own queue. Other threads' queues are re-queued by
    /// Threads through <see cref="RestoreThreadPending"/> once those threads exist.
    /// </summary>
    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var state = process.State<SignalState>();
        var scratch = process.ScratchFor("the signal calls");
        RestoreActions(process, scratch, state.Handlers?.Actions ?? []);
        if (state.Shared is { } shared)
            foreach (var signal in shared.Signals)
                Queue(process.Syscalls, scratch, process.Pid, null, signal);
        if (state.ThreadPending.TryGetValue(process.Pid, out var main))
            foreach (var signal in main.Signals)
                Queue(process.Syscalls, scratch, process.Pid, process.Pid, signal);
    }

    internal static void RestoreActions(RestoringProcess process, RemoteScratch scratch, IReadOnlyList<SignalAction> actions)
    {
        var wanted = actions.ToDictionary(a => (int)a.Signal);
        // The stub may have handlers or ignored signals of its own: reset those the image has at SIG_DFL.
        var status = ProcStatus.Read(process.Pid);
        ulong stubNonDefault = status.SigIgnored | status.SigCaught;
        Span<byte> raw = stackalloc byte[InjectedCalls.KernelSigactionSize];
        for (int signal = 1; signal <= 64; signal++)
        {
            if (signal is SignalNames.SIGKILL or SignalNames.SIGSTOP) continue;
            if (!wanted.TryGetValue(signal, out var action))
            {
                if ((stubNonDefault & SignalNames.Bit(signal)) == 0) continue;
                action = new SignalAction((uint)signal, 0, 0, 0, 0);
            }
            BinaryPrimitives.WriteUInt64LittleEndian(raw, action.Handler);
            BinaryPrimitives.WriteUInt64LittleEndian(raw[8..], action.Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(raw[16..], action.Restorer);
            BinaryPrimitives.WriteUInt64LittleEndian(raw[24..], action.Mask);
            scratch.Write(0, raw);
            process.Syscalls.Checked($"rt_sigaction({SignalNames.Name(signal)}, handler {action.Handler:x}, flags {action.Flags:x})",
                SyscallNumbers.RtSigaction, signal, (long)scratch.Address, 0, InjectedCalls.SigsetSize);
        }
    }

    /// <summary>
    /// Re-queues the recorded own queue of thread <paramref name="tid"/> (Threads calls this once the
    /// thread exists and is stopped under the tracer; for the main thread Finish does it).
    /// The call is injected into that thread: for si_code ≥ 0 the kernel requires the sender to be
    /// the receiving thread itself.
    /// </summary>
    public void RestoreThreadPending(RestoringProcess process, int tid)
    {
        if (tid == process.Pid) return; // done by Finish
        var state = process.State<SignalState>();
        if (!state.ThreadPending.TryGetValue(tid, out var pending) || pending.Signals.Length == 0) return;
        var scratch = process.ScratchFor($"re-queueing signals of tid {tid}");
        var threadCalls = new RemoteSyscall(process.Tracer, tid, process.Syscalls.SyscallInstruction);
        foreach (var signal in pending.Signals) Queue(threadCalls, scratch, process.Pid, tid, signal);
    }

    /// <summary>One signal back into a queue: the thread's (rt_tgsigqueueinfo) or the process's (rt_sigqueueinfo), siginfo verbatim.</summary>
    private static void Queue(RemoteSyscall sys, RemoteScratch scratch, int pid, int? tid, QueuedSignal signal)
    {
        if (signal.Signal is < 1 or > 64 || signal.Data.Length != QueuedSignal.DataSize)
            throw new InvalidOperationException($"pid {pid}: invalid pending signal {signal.Signal}");
        if (signal.Signal is SignalNames.SIGKILL or SignalNames.SIGSTOP) return; // cannot be pending in a restorable process
        Span<byte> info = stackalloc byte[SigInfo.Size];
        BinaryPrimitives.WriteInt32LittleEndian(info, signal.Signal);
        BinaryPrimitives.WriteInt32LittleEndian(info[4..], signal.Errno);
        BinaryPrimitives.WriteInt32LittleEndian(info[8..], signal.Code);
        signal.Data.CopyTo(info[12..]);
        scratch.Write(0, info);
        string what = $"re-queueing {SignalNames.Name(signal.Signal)} (si_code {signal.Code}) {(tid is null ? "to the process" : $"to tid {tid}")}";
        if (tid is { } t)
            sys.Checked(what, InjectedCalls.RtTgsigqueueinfo, pid, t, signal.Signal, (long)scratch.Address);
        else
            sys.Checked(what, InjectedCalls.RtSigqueueinfo, pid, signal.Signal, (long)scratch.Address);
    }
}
