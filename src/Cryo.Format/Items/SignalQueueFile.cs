namespace Cryo.Format;

/// <summary>
/// <c>SGFD</c>: the signals the signalfd behind one descriptor accepts (its mask, as given to
/// signalfd(2); bit n is signal n + 1). Which signals are pending is not the file's: they are the
/// reading thread's and process's (<c>SIGP</c>). Written right after the first <c>FDES</c> of the
/// open file description in each process that has it.
/// </summary>
public sealed record SignalQueueFile(int Fd, ulong Mask) : CheckpointItem
{
    /// <summary>SIGKILL and SIGSTOP, which the kernel drops from every signalfd mask.</summary>
    public const ulong Unaccepted = (1UL << 8) | (1UL << 18);

    public static readonly ItemTag TagValue = ItemTag.Parse("SGFD");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.U64(Mask);
    }

    public static SignalQueueFile Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        ulong mask = r.U64("mask");
        if ((mask & Unaccepted) != 0) throw r.Invalid("mask", mask, "a signalfd never accepts SIGKILL (bit 8) or SIGSTOP (bit 18)");
        return new SignalQueueFile(fd, mask);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Num("fd", (long)Fd), ItemField.Hex("mask", Mask)];
}
