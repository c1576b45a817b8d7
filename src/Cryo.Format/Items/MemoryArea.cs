namespace Cryo.Format;

/// <summary>What backs a memory area, which decides how restore recreates it.</summary>
public enum MemoryAreaKind : byte
{
    AnonymousPrivate = 0,
    AnonymousShared = 1,
    FilePrivate = 2,
    FileShared = 3,
    Heap = 4,
    Stack = 5,
    Vdso = 6,
    Vvar = 7,
    VvarVclock = 8,
    Vsyscall = 9,
    /// <summary>An attachment of a System V shared memory segment (shmat): inode is the segment's id, described by a <c>SHMS</c> item.</summary>
    SysVShared = 10,
    /// <summary>A mapping of a memfd object: device and inode are those of its <c>MEMF</c> item; a shared one stores no pages (they are the object's).</summary>
    Memfd = 11,
}

/// <summary>A run of consecutive pages of an area whose contents follow in <c>PAGE</c> items; FirstPage counts from the area's start.</summary>
public readonly record struct PageRun(ulong FirstPage, ulong PageCount);

/// <summary>
/// <c>AREA</c>: one memory mapping (a line of /proc/PID/maps). The pages listed in <see cref="Runs"/>
/// follow it, in order, as <c>PAGE</c> items; pages not listed are not stored (never touched, or
/// identical to the backing file).
/// </summary>
public sealed record MemoryArea(
    ulong Start, ulong End, ulong FileOffset, uint Protection, uint MapFlags, MemoryAreaKind Kind,
    ulong Device, ulong Inode, byte[] Path, PageRun[] Runs) : CheckpointItem
{
    public const uint ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    public const uint MapShared = 0x01, MapPrivate = 0x02, MapAnonymous = 0x20, MapGrowsDown = 0x100, MapNoReserve = 0x4000;

    public static readonly ItemTag TagValue = ItemTag.Parse("AREA");
    public override ItemTag Tag => TagValue;

    public ulong StoredPages => Runs.Aggregate(0UL, (sum, run) => sum + run.PageCount);

    public override void Encode(PayloadWriter w)
    {
        w.U64(Start); w.U64(End); w.U64(FileOffset); w.U32(Protection); w.U32(MapFlags); w.U8((byte)Kind);
        w.U64(Device); w.U64(Inode); w.Bytes16(Path);
        w.Count(Runs.Length);
        foreach (var run in Runs) { w.U64(run.FirstPage); w.U64(run.PageCount); }
    }

    public static MemoryArea Decode(ref PayloadReader r)
    {
        ulong start = r.U64("start"), end = r.U64("end");
        if (end <= start) throw r.Invalid("end", $"0x{end:x}", $"an area ends after it starts (start 0x{start:x})");
        ulong offset = r.U64("file_offset");
        uint prot = r.U32("prot"), flags = r.U32("map_flags");
        byte kind = r.U8("kind");
        if (kind > (byte)MemoryAreaKind.Memfd) throw r.Invalid("kind", kind, "unknown memory area kind");
        ulong dev = r.U64("device"), inode = r.U64("inode");
        byte[] path = r.Bytes16("path");
        var runs = new PageRun[r.Count("runs", 16)];
        for (int i = 0; i < runs.Length; i++) runs[i] = new PageRun(r.U64("first_page"), r.U64("page_count"));
        return new MemoryArea(start, end, offset, prot, flags, (MemoryAreaKind)kind, dev, inode, path, runs);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Addr("start", Start), ItemField.Addr("end", End), ItemField.Num("file_offset", FileOffset),
        ItemField.Hex("prot", Protection), ItemField.Hex("map_flags", MapFlags), ItemField.Num("kind", (ulong)Kind),
        ItemField.Ino("device", Device), ItemField.Ino("inode", Inode), ItemField.Text("path", Path),
        ItemField.List("runs", Runs.Select(run => (IReadOnlyList<ItemField>)
            [ItemField.Num("first_page", run.FirstPage), ItemField.Num("page_count", run.PageCount)]).ToArray()),
    ];
}
