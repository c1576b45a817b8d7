namespace Cryo.Format;

/// <summary>
/// <c>ULSN</c>: a listening Unix socket (stream or seqpacket) behind a descriptor: the name it is
/// bound to (a path in the filesystem, or an abstract name: a NUL, then bytes), its backlog and
/// options, and for a path the socket file's device, inode, mode and owner, so that a restore can
/// tell the file the killed process left behind from another one. Written right after the first
/// <c>FDES</c> (kind 6) of the open file description in each process that has it, instead of a
/// <c>USCK</c>. Only listeners with no connection waiting to be accepted are written.
/// </summary>
public sealed record UnixListener(int Fd, UnixSocketType Type, byte[] Name, uint Backlog, uint Options,
    ulong FileDevice, ulong FileInode, uint FileMode, uint FileUid, uint FileGid) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("ULSN");
    public override ItemTag Tag => TagValue;

    /// <summary>An abstract name (no file): it starts with a NUL byte.</summary>
    public bool IsAbstract => Name.Length > 0 && Name[0] == 0;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.U8((byte)Type); w.Bytes16(Name); w.U32(Backlog); w.U32(Options);
        w.U64(FileDevice); w.U64(FileInode); w.U32(FileMode); w.U32(FileUid); w.U32(FileGid);
    }

    public static UnixListener Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        byte type = r.U8("type");
        if (type is not ((byte)UnixSocketType.Stream or (byte)UnixSocketType.SeqPacket))
            throw r.Invalid("type", type, "only 1 (stream) and 5 (seqpacket) sockets listen");
        byte[] name = r.Bytes16("name");
        if (name.Length is 0 or > 108) throw r.Invalid("name", name.Length, "a bound name is 1 to 108 bytes (sun_path)");
        uint backlog = r.U32("backlog");
        uint options = r.U32("options");
        if ((options & ~UnixSocket.PassCredentials) != 0) throw r.Invalid("options", $"0x{options:x}", "only bit 0x1 (SO_PASSCRED) is defined");
        ulong device = r.U64("file_device"), inode = r.U64("file_inode");
        bool isAbstract = name[0] == 0;
        if (isAbstract != (inode == 0)) throw r.Invalid("file_inode", inode, "a path has its socket file's inode, an abstract name none (0)");
        return new UnixListener(fd, (UnixSocketType)type, name, backlog, options, device, inode, r.U32("file_mode"), r.U32("file_uid"), r.U32("file_gid"));
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("type", (ulong)Type), ItemField.Text("name", Name), ItemField.Num("backlog", Backlog),
        ItemField.Hex("options", Options), ItemField.Ino("file_device", FileDevice), ItemField.Ino("file_inode", FileInode),
        ItemField.Hex("file_mode", FileMode), ItemField.Num("file_uid", FileUid), ItemField.Num("file_gid", FileGid),
    ];
}
