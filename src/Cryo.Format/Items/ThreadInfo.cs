namespace Cryo.Format;

/// <summary>How the thread's registers were adjusted for a system call it was inside at the freeze.</summary>
public enum SyscallRestart : byte
{
    None = 0,
    /// <summary>The call is re-executed (ERESTARTSYS/ERESTARTNOINTR/ERESTARTNOHAND).</summary>
    Reexecute = 1,
    /// <summary>The call continues through restart_syscall (ERESTART_RESTARTBLOCK).</summary>
    RestartBlock = 2,
}

/// <summary><c>TINF</c>: per-thread kernel state. First item of a <c>THRD</c> section.</summary>
public sealed record ThreadInfo(
    int Tid, ulong BlockedSignals,
    ulong AltStackPointer, uint AltStackFlags, ulong AltStackSize,
    ulong ClearChildTid, ulong RobustList, ulong RobustListLength,
    ulong RseqAddress, uint RseqLength, uint RseqSignature,
    SyscallRestart Restart, byte[] Comm) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("TINF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Tid); w.U64(BlockedSignals);
        w.U64(AltStackPointer); w.U32(AltStackFlags); w.U64(AltStackSize);
        w.U64(ClearChildTid); w.U64(RobustList); w.U64(RobustListLength);
        w.U64(RseqAddress); w.U32(RseqLength); w.U32(RseqSignature);
        w.U8((byte)Restart); w.Bytes16(Comm);
    }

    public static ThreadInfo Decode(ref PayloadReader r)
    {
        int tid = r.I32("tid");
        ulong blocked = r.U64("blocked");
        ulong ss = r.U64("altstack_sp"); uint sf = r.U32("altstack_flags"); ulong sz = r.U64("altstack_size");
        ulong ctid = r.U64("clear_child_tid"), robust = r.U64("robust_list"), robustLen = r.U64("robust_list_len");
        ulong rseq = r.U64("rseq_address"); uint rseqLen = r.U32("rseq_length"), rseqSig = r.U32("rseq_signature");
        byte restart = r.U8("restart");
        if (restart > (byte)SyscallRestart.RestartBlock) throw r.Invalid("restart", restart, "unknown restart mode");
        return new ThreadInfo(tid, blocked, ss, sf, sz, ctid, robust, robustLen, rseq, rseqLen, rseqSig, (SyscallRestart)restart, r.Bytes16("comm"));
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Pid("tid", Tid), ItemField.Hex("blocked", BlockedSignals),
        ItemField.Addr("altstack_sp", AltStackPointer), ItemField.Hex("altstack_flags", AltStackFlags), ItemField.Num("altstack_size", AltStackSize),
        ItemField.Addr("clear_child_tid", ClearChildTid), ItemField.Addr("robust_list", RobustList), ItemField.Num("robust_list_len", RobustListLength),
        ItemField.Addr("rseq_address", RseqAddress), ItemField.Num("rseq_length", RseqLength), ItemField.Hex("rseq_signature", RseqSignature),
        // Whether the freeze found the thread inside a system call is a matter of timing.
        ItemField.Vol("restart", (ulong)Restart), ItemField.Text("comm", Comm),
    ];
}
