namespace Cryo.Format;

/// <summary>
/// <c>EVFD</c>: the state of the eventfd behind one descriptor: its counter and whether it is in
/// semaphore mode (EFD_SEMAPHORE: a read takes 1 instead of the whole count). The status flags
/// (O_NONBLOCK) are the <c>FDES</c>'s. Written right after the first <c>FDES</c> of the open file
/// description in each process that has it.
/// </summary>
public sealed record EventCounter(int Fd, ulong Count, uint Flags) : CheckpointItem
{
    public const uint Semaphore = 1;

    /// <summary>The largest count an eventfd holds (a write that would pass it blocks).</summary>
    public const ulong MaxCount = ulong.MaxValue - 1;

    public static readonly ItemTag TagValue = ItemTag.Parse("EVFD");
    public override ItemTag Tag => TagValue;

    public bool IsSemaphore => (Flags & Semaphore) != 0;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.U64(Count); w.U32(Flags);
    }

    public static EventCounter Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        ulong count = r.U64("count");
        if (count > MaxCount) throw r.Invalid("count", count, "an eventfd counts up to 2^64 - 2");
        uint flags = r.U32("flags");
        if ((flags & ~Semaphore) != 0) throw r.Invalid("flags", flags, "only bit 0 (semaphore mode) is defined");
        return new EventCounter(fd, count, flags);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("count", Count), ItemField.Hex("flags", Flags),
    ];
}
