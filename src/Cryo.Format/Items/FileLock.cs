namespace Cryo.Format;

/// <summary>The kinds of file lock: flock(2), fcntl POSIX record locks, fcntl OFD (open file description) locks.</summary>
public enum FileLockKind : byte { Flock = 0, Posix = 1, OpenFileDescription = 2 }

/// <summary>
/// <c>FLCK</c>: a lock held through the descriptor whose <c>FDES</c> it follows: flock (the whole
/// file, owned by the open file description), a POSIX record lock (owned by the process) or an
/// OFD lock (owned by the description), shared (read) or exclusive (write), over
/// <see cref="Length"/> bytes from <see cref="Start"/> (0: to the end of the file, however long).
/// </summary>
public sealed record FileLock(int Fd, FileLockKind Kind, bool Exclusive, ulong Start, ulong Length) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("FLCK");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.U8((byte)Kind); w.U8(Exclusive ? (byte)1 : (byte)0); w.U64(Start); w.U64(Length);
    }

    public static FileLock Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        byte kind = r.U8("kind");
        if (kind > (byte)FileLockKind.OpenFileDescription) throw r.Invalid("kind", kind, "0 is flock, 1 a POSIX lock, 2 an OFD lock");
        byte exclusive = r.U8("exclusive");
        if (exclusive > 1) throw r.Invalid("exclusive", exclusive, "0 (shared, read) or 1 (exclusive, write)");
        ulong start = r.U64("start"), length = r.U64("length");
        if (start > long.MaxValue) throw r.Invalid("start", start, "file offsets are below 2^63");
        if (length > long.MaxValue - start) throw r.Invalid("length", length, "the locked range ends below 2^63");
        if (kind == (byte)FileLockKind.Flock && (start != 0 || length != 0))
            throw r.Invalid("start", start, "a flock lock covers the whole file: start and length 0");
        return new FileLock(fd, (FileLockKind)kind, exclusive == 1, start, length);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("kind", (ulong)Kind), ItemField.Num("exclusive", Exclusive ? 1UL : 0UL),
        ItemField.Num("start", Start), ItemField.Num("length", Length),
    ];
}
