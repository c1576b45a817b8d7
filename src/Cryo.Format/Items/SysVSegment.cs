namespace Cryo.Format;

/// <summary>
/// <c>SHMS</c>: one System V shared memory segment (shmget) that the process has attached, as
/// /proc/sysvipc/shm shows it at the checkpoint. The segment is a kernel object outside the
/// process: a restore attaches the segment of that id when it is still there (the same segment:
/// equal key, size, creator pid and creator uid), else makes it again with the same id and the
/// stored pages. The areas it is attached at are <c>AREA</c> items of kind 10 whose inode is
/// <see cref="Id"/>. One item per segment, in ascending order of id, before <c>MMST</c>.
/// </summary>
public sealed record SysVSegment(int Id, int Key, ulong Size, uint Mode, uint Uid, uint Gid,
    uint CreatorUid, uint CreatorGid, int CreatorPid, long ChangeTime) : CheckpointItem
{
    /// <summary>Permission bits (rwx for owner, group, others), as shmget's shmflg and shm_perm.mode hold them.</summary>
    public const uint PermissionBits = 0x1ff;
    /// <summary>SHM_DEST (octal 01000): removed with IPC_RMID, destroyed at its last detach; its key is 0 (IPC_PRIVATE).</summary>
    public const uint Destroyed = 0x200;
    /// <summary>SHM_LOCKED (octal 02000): locked in memory with shmctl(SHM_LOCK).</summary>
    public const uint Locked = 0x400;

    public static readonly ItemTag TagValue = ItemTag.Parse("SHMS");
    public override ItemTag Tag => TagValue;

    public bool IsDestroyed => (Mode & Destroyed) != 0;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Id); w.I32(Key); w.U64(Size); w.U32(Mode); w.U32(Uid); w.U32(Gid);
        w.U32(CreatorUid); w.U32(CreatorGid); w.I32(CreatorPid); w.I64(ChangeTime);
    }

    public static SysVSegment Decode(ref PayloadReader r)
    {
        int id = r.I32("id");
        if (id < 0) throw r.Invalid("id", id, "segment ids are not negative");
        int key = r.I32("key");
        ulong size = r.U64("size");
        if (size == 0) throw r.Invalid("size", size, "a segment has at least one byte");
        uint mode = r.U32("mode");
        if ((mode & ~(PermissionBits | Destroyed | Locked)) != 0)
            throw r.Invalid("mode", $"0x{mode:x}", "only the permission bits 0x1ff, 0x200 (destroyed) and 0x400 (locked) are defined");
        if ((mode & Destroyed) != 0 && key != 0)
            throw r.Invalid("key", key, "a destroyed segment (mode 0x200) has key 0");
        uint uid = r.U32("uid"), gid = r.U32("gid"), cuid = r.U32("creator_uid"), cgid = r.U32("creator_gid");
        int cpid = r.I32("creator_pid");
        if (cpid <= 0) throw r.Invalid("creator_pid", cpid, "a pid is positive");
        return new SysVSegment(id, key, size, mode, uid, gid, cuid, cgid, cpid, r.I64("change_time"));
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        // The id is the segment's inode on the kernel's shm mount, and as volatile.
        ItemField.Ino("id", (ulong)Id), ItemField.Hex("key", (uint)Key), ItemField.Num("size", Size), ItemField.Hex("mode", Mode),
        ItemField.Num("uid", (ulong)Uid), ItemField.Num("gid", (ulong)Gid),
        ItemField.Num("creator_uid", (ulong)CreatorUid), ItemField.Num("creator_gid", (ulong)CreatorGid),
        ItemField.Pid("creator_pid", CreatorPid), ItemField.Time("change_time", ChangeTime),
    ];
}
