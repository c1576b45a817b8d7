namespace Cryo.Format;

/// <summary>
/// One watch of an inotify instance: its watch descriptor, the events and flags asked for
/// (IN_ONESHOT, IN_EXCL_UNLINK included, as the kernel shows them), and the watched inode: its
/// device and number, and the path cryo found for it at the checkpoint.
/// </summary>
public readonly record struct InotifyWatch(int Wd, uint Mask, ulong Device, ulong Inode, byte[] Path);

/// <summary>
/// <c>INOT</c>: the watches of the inotify instance behind one descriptor, in ascending order of
/// their watch descriptors. Written right after the first <c>FDES</c> of the open file
/// description in each process that has it. A restore makes a new instance, adds each watch by
/// its path with its mask so that it gets its watch descriptor again, and installs it; events
/// waiting in the queue are not saved (a checkpoint with events waiting is refused).
/// </summary>
public sealed record InotifyFile(int Fd, InotifyWatch[] Watches) : CheckpointItem
{
    /// <summary>IN_ALL_EVENTS (0xfff), IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR, IN_ONESHOT, and the kernel-set IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED.</summary>
    public const uint KnownMask = 0xfff | 0x2000 | 0x4000 | 0x8000 | 0x0100_0000 | 0x0200_0000 | 0x0400_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;

    public static readonly ItemTag TagValue = ItemTag.Parse("INOT");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd);
        w.Count(Watches.Length);
        foreach (var watch in Watches) { w.I32(watch.Wd); w.U32(watch.Mask); w.U64(watch.Device); w.U64(watch.Inode); w.Bytes16(watch.Path); }
    }

    public static InotifyFile Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        var watches = new InotifyWatch[r.Count("watches", 26)];
        int previous = 0;
        for (int i = 0; i < watches.Length; i++)
        {
            int wd = r.I32("wd");
            if (wd <= previous) throw r.Invalid("wd", wd, $"watch descriptors are positive and ascend without repeats (the previous one is {previous})");
            previous = wd;
            uint mask = r.U32("mask");
            if ((mask & ~KnownMask) != 0) throw r.Invalid("mask", $"0x{mask:x}", $"bits 0x{mask & ~KnownMask:x} are not inotify mask bits");
            ulong device = r.U64("device"), inode = r.U64("inode");
            byte[] path = r.Bytes16("path");
            if (path.Length == 0 || path[0] != (byte)'/') throw r.Invalid("path", System.Text.Encoding.UTF8.GetString(path), "a watch's path is absolute");
            watches[i] = new InotifyWatch(wd, mask, device, inode, path);
        }
        return new InotifyFile(fd, watches);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd),
        ItemField.List("watches", [.. Watches.Select(w => (IReadOnlyList<ItemField>)
            [ItemField.Num("wd", (long)w.Wd), ItemField.Hex("mask", w.Mask), ItemField.Ino("device", w.Device), ItemField.Ino("inode", w.Inode), ItemField.Text("path", w.Path)])]),
    ];
}
