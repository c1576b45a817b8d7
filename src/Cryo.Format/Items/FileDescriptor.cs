namespace Cryo.Format;

public enum FileKind : byte
{
    Regular = 0,
    Directory = 1,
    CharDevice = 2,
    BlockDevice = 3,
    Pipe = 4,
    Fifo = 5,
    Socket = 6,
    AnonInode = 7,
    Other = 8,
    /// <summary>A memfd (memfd_create): its object is the <c>MEMF</c> item with this descriptor's device and inode.</summary>
    Memfd = 9,
    /// <summary>A terminal (a pseudo-terminal's slave end, a virtual console, a serial line, /dev/tty): its state is the <c>TTYS</c> item after it.</summary>
    Terminal = 10,
}

/// <summary>
/// <c>FDES</c>: one open file descriptor. Descriptors with the same <see cref="DescriptionId"/> share one
/// open file description (offset and status flags); descriptors with the same non-zero
/// <see cref="PipeId"/> are ends of the same pipe, whose contents are in the <c>FIFO</c> section.
/// </summary>
public sealed record FileDescriptor(
    int Fd, FileKind Kind, uint FdFlags, uint OpenFlags, long Offset, uint Mode,
    ulong Device, ulong Inode, ulong RawDevice, ulong DescriptionId, ulong PipeId, byte[] Path) : CheckpointItem
{
    public const uint CloseOnExec = 1; // FD_CLOEXEC
    private const uint AccessMode = 3, WriteOnly = 1, Append = 0x400;

    public bool IsAppendOnly => (OpenFlags & AccessMode) == WriteOnly && (OpenFlags & Append) != 0;
    public static readonly ItemTag TagValue = ItemTag.Parse("FDES");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.U8((byte)Kind); w.U32(FdFlags); w.U32(OpenFlags); w.I64(Offset); w.U32(Mode);
        w.U64(Device); w.U64(Inode); w.U64(RawDevice); w.U64(DescriptionId); w.U64(PipeId); w.Bytes16(Path);
    }

    public static FileDescriptor Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptors are not negative");
        byte kind = r.U8("kind");
        if (kind > (byte)FileKind.Terminal) throw r.Invalid("kind", kind, "unknown file kind");
        return new FileDescriptor(fd, (FileKind)kind, r.U32("fd_flags"), r.U32("open_flags"), r.I64("offset"), r.U32("mode"),
            r.U64("device"), r.U64("inode"), r.U64("rdev"), r.U64("description_id"), r.U64("pipe_id"), r.Bytes16("path"));
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("kind", (ulong)Kind), ItemField.Hex("fd_flags", FdFlags),
        ItemField.Hex("open_flags", OpenFlags),
        // A write-only O_APPEND description (a log) writes at the end whatever its offset: the
        // offset only tells how much the program logged so far, which varies from run to run.
        IsAppendOnly ? new ItemField("offset", FieldKind.Volatile, (ulong)Offset) : ItemField.Num("offset", Offset),
        ItemField.Hex("mode", Mode),
        ItemField.Ino("device", Device), ItemField.Ino("inode", Inode), ItemField.Ino("rdev", RawDevice),
        ItemField.Ino("description_id", DescriptionId), ItemField.Ino("pipe_id", PipeId), ItemField.Text("path", Path),
    ];
}
