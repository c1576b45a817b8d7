namespace Cryo.Format;

/// <summary>Who receives the I/O signals of an open file description: fcntl F_OWNER_* values.</summary>
public enum FileOwnerKind : byte { Thread = 0, Process = 1, ProcessGroup = 2 }

/// <summary>
/// <c>FOWN</c>: the signal-driven I/O settings of the open file description behind one descriptor
/// (fcntl F_SETOWN / F_SETOWN_EX and F_SETSIG): who gets the signal when I/O becomes possible on
/// an O_ASYNC description, and which signal (0: SIGIO, without the siginfo details). Written
/// right after that descriptor's <c>FDES</c> when either is set.
/// </summary>
public sealed record FileOwner(int Fd, FileOwnerKind Kind, int Owner, uint Signal) : CheckpointItem
{
    public const uint MaxSignal = 64;
    public static readonly ItemTag TagValue = ItemTag.Parse("FOWN");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.U8((byte)Kind); w.I32(Owner); w.U32(Signal);
    }

    public static FileOwner Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        byte kind = r.U8("owner_kind");
        if (kind > (byte)FileOwnerKind.ProcessGroup) throw r.Invalid("owner_kind", kind, "0 is a thread, 1 a process, 2 a process group");
        int owner = r.I32("owner");
        if (owner < 0) throw r.Invalid("owner", owner, "an owner is a thread, process or group id, or 0 for none");
        uint signal = r.U32("signal");
        if (signal > MaxSignal) throw r.Invalid("signal", signal, $"signals are 1 … {MaxSignal}, or 0 for SIGIO");
        if (owner == 0 && signal == 0) throw r.Invalid("owner", owner, "an FOWN has an owner or a signal (else it is not written)");
        return new FileOwner(fd, (FileOwnerKind)kind, owner, signal);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("owner_kind", (ulong)Kind), ItemField.Pid("owner", Owner), ItemField.Num("signal", (ulong)Signal),
    ];
}
