namespace Cryo.Format;

/// <summary>
/// <c>MEMF</c>: one memfd (memfd_create) object that the process refers to, through a descriptor
/// (<c>FDES</c> kind 9) or a mapping (<c>AREA</c> kind 11), written in the first <c>PROC</c> of
/// the file that refers to it, before <c>MMST</c>, in ascending order of <see cref="ObjectId"/>.
/// Its contents follow as <c>MDAT</c> items. A memfd is a file without a path: a restore makes it
/// again (same name, size, mode, owner and seals) and gives every descriptor and mapping with the
/// same device and inode that one object.
/// </summary>
public sealed record MemfdObject(ulong ObjectId, ulong Device, ulong Size, uint Seals, uint Mode, uint Uid, uint Gid, byte[] Name)
    : CheckpointItem
{
    /// <summary>F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_EXEC (fcntl F_GET_SEALS).</summary>
    public const uint SealSeal = 0x1, SealShrink = 0x2, SealGrow = 0x4, SealWrite = 0x8, SealFutureWrite = 0x10, SealExec = 0x20;
    public const uint KnownSeals = 0x3f;
    /// <summary>The longest name memfd_create takes: NAME_MAX (255) minus the "memfd:" prefix.</summary>
    public const int MaxName = 249;
    private const uint TypeBits = 0xf000, RegularFile = 0x8000;

    public static readonly ItemTag TagValue = ItemTag.Parse("MEMF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U64(ObjectId); w.U64(Device); w.U64(Size); w.U32(Seals); w.U32(Mode); w.U32(Uid); w.U32(Gid); w.Bytes16(Name);
    }

    public static MemfdObject Decode(ref PayloadReader r)
    {
        ulong id = r.U64("object_id");
        if (id == 0) throw r.Invalid("object_id", id, "an object id is the memfd's inode number, never 0");
        ulong device = r.U64("device");
        ulong size = r.U64("size");
        if (size > long.MaxValue) throw r.Invalid("size", size, "a file size fits in a signed 64-bit number");
        uint seals = r.U32("seals");
        if ((seals & ~KnownSeals) != 0) throw r.Invalid("seals", $"0x{seals:x}", "only the seals 0x1 … 0x20 (F_SEAL_SEAL … F_SEAL_EXEC) are defined");
        uint mode = r.U32("mode");
        if ((mode & TypeBits) != RegularFile) throw r.Invalid("mode", $"0x{mode:x}", "a memfd is a regular file (type bits 0x8000)");
        uint uid = r.U32("uid"), gid = r.U32("gid");
        byte[] name = r.Bytes16("name");
        if (name.Length > MaxName) throw r.Invalid("name", name.Length, $"memfd names have at most {MaxName} bytes");
        if (Array.IndexOf(name, (byte)0) >= 0 || Array.IndexOf(name, (byte)'/') >= 0)
            throw r.Invalid("name", "…", "a memfd name holds neither NUL nor '/'");
        return new MemfdObject(id, device, size, seals, mode, uid, gid, name);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Ino("object_id", ObjectId), ItemField.Ino("device", Device), ItemField.Num("size", Size),
        ItemField.Hex("seals", Seals), ItemField.Hex("mode", Mode), ItemField.Num("uid", (ulong)Uid), ItemField.Num("gid", (ulong)Gid),
        ItemField.Text("name", Name),
    ];
}

/// <summary>
/// <c>MDAT</c>: contents of a memfd object or a deleted file from <see cref="Offset"/> (a whole
/// number of pages, at a page-aligned offset), following its <c>MEMF</c> or <c>DELF</c>; pages not
/// in any <c>MDAT</c> are holes (zero). <see cref="Data"/> is valid until the reader's next
/// GetNextItem call.
/// </summary>
public sealed record MemfdData(ulong ObjectId, ulong Offset, ReadOnlyMemory<byte> Data) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("MDAT");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.U64(ObjectId); w.U64(Offset); w.Raw(Data.Span); }

    public static MemfdData Decode(ref PayloadReader r, ReadOnlyMemory<byte> payload)
    {
        ulong id = r.U64("object_id");
        ulong offset = r.U64("offset");
        if (r.Remaining == 0) throw r.Error("an MDAT item holds at least one page");
        if (offset > long.MaxValue - (ulong)r.Remaining) throw r.Invalid("offset", offset, "the data would end past the largest file offset");
        r.Rest();
        return new MemfdData(id, offset, payload[16..]);
    }

    public override IReadOnlyList<ItemField> Describe() =>
        [ItemField.Ino("object_id", ObjectId), ItemField.Num("offset", Offset), ItemField.Blob("data", Data)];
}

/// <summary>
/// <c>DELF</c>: a regular file that was deleted while the process held it (open, or mapped): a
/// file that no path reaches any more, like a memfd. Written like <c>MEMF</c>, in the first
/// <c>PROC</c> of the file that refers to it, before <c>MMST</c>, and its contents follow as
/// <c>MDAT</c> items. The <c>FDES</c> and <c>AREA</c> items that refer to it have its device
/// and inode and a path ending in " (deleted)". A restore makes the file again in its
/// directory, writes the contents, opens it and deletes it again.
/// </summary>
public sealed record DeletedFile(ulong ObjectId, ulong Device, ulong Size, uint Mode, uint Uid, uint Gid, byte[] Path) : CheckpointItem
{
    private const uint TypeBits = 0xf000, RegularFile = 0x8000;

    public static readonly ItemTag TagValue = ItemTag.Parse("DELF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U64(ObjectId); w.U64(Device); w.U64(Size); w.U32(Mode); w.U32(Uid); w.U32(Gid); w.Bytes16(Path);
    }

    public static DeletedFile Decode(ref PayloadReader r)
    {
        ulong id = r.U64("object_id");
        if (id == 0) throw r.Invalid("object_id", id, "an object id is the file's inode number, never 0");
        ulong device = r.U64("device");
        ulong size = r.U64("size");
        if (size > long.MaxValue) throw r.Invalid("size", size, "a file size fits in a signed 64-bit number");
        uint mode = r.U32("mode");
        if ((mode & TypeBits) != RegularFile) throw r.Invalid("mode", $"0x{mode:x}", "a deleted file saved with its contents is a regular file (type bits 0x8000)");
        uint uid = r.U32("uid"), gid = r.U32("gid");
        byte[] path = r.Bytes16("path");
        if (path.Length < 2 || path[0] != (byte)'/' || path[^1] == (byte)'/' || Array.IndexOf(path, (byte)0) >= 0)
            throw r.Invalid("path", "…", "the path a deleted file had is absolute, names a file (not ending in '/') and holds no NUL");
        return new DeletedFile(id, device, size, mode, uid, gid, path);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Ino("object_id", ObjectId), ItemField.Ino("device", Device), ItemField.Num("size", Size),
        ItemField.Hex("mode", Mode), ItemField.Num("uid", (ulong)Uid), ItemField.Num("gid", (ulong)Gid), ItemField.Text("path", Path),
    ];
}
