using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Resources;

/// <summary>
/// System V shared memory (SHMS, and AREA kind 10 for its attachments). A segment is a kernel
/// object outside the process, like a file: it outlives a kill unless it was removed
/// (IPC_RMID), other processes may attach it, and the program knows it by its id (shmctl,
/// shmdt). So a restore attaches the very segment again when it is still there, with whatever
/// content it has now, and only when it is gone makes it again with the same id, key, size,
/// owner and mode, and the stored pages. The attachments themselves are areas of Memory, which
/// calls <see cref="Attach"/> for them. Before this kind existed, a segment came back as plain
/// shared memory: shmdt failed, and the segment and the process's copy went separate ways.
/// </summary>
internal sealed class SysVSharedMemory : IResourceKind
{
    private const string Deleted = " (deleted)";
    private const uint SavedModeBits = SysVSegment.PermissionBits | SysVSegment.Destroyed | SysVSegment.Locked;
    private static readonly ulong PageSize = (ulong)Environment.SystemPageSize;

    public string Name => "SysVSharedMemory";

    public bool Handles(CheckpointItem item) => item is SysVSegment;

    /// <summary>A System V segment's attachment, as /proc/PID/maps names it: shared, "/SYSV&lt;key&gt; (deleted)", its inode the segment id.</summary>
    internal static bool IsSegment(MemoryMapping m) =>
        m.Shared && m.Path.StartsWith("/SYSV", StringComparison.Ordinal) && m.Path.EndsWith(Deleted, StringComparison.Ordinal);

    private static ulong RoundUp(ulong size) => (size + PageSize - 1) / PageSize * PageSize;

    // ---------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        var attachments = Attachments(process.Pid, process.Mappings.Where(IsSegment));
        if (attachments.Count == 0) return new DumpedItems([]);
        var rows = SysVShmTable.Read().ToDictionary(r => r.Id);
        var items = new List<CheckpointItem>();
        foreach (int id in attachments.Select(a => a.Id).Distinct().Order())
        {
            if (!rows.TryGetValue(id, out var row))
                throw new UnsupportedResourceException(process.Pid, $"System V shared memory segment {id}",
                    $"the process has it attached but {SysVShmTable.FilePath} does not list it (another IPC namespace?)");
            foreach (var a in attachments.Where(a => a.Id == id && a.End - a.Base != RoundUp(row.Size)))
                throw new UnsupportedResourceException(process.Pid, $"System V shared memory segment {id} attached at {a.Base:x}",
                    $"only {a.End - a.Base} of its {RoundUp(row.Size)} bytes are mapped there (a part was unmapped), which cryo does not restore");
            items.Add(new SysVSegment(id, row.Key, row.Size, row.Mode & SavedModeBits, row.Uid, row.Gid,
                row.CreatorUid, row.CreatorGid, row.CreatorPid, row.ChangeTime));
        }
        return new DumpedItems(items);
    }

    /// <summary>One shmat of a segment: the areas from <see cref="Base"/> (offset 0) up to <see cref="End"/>, contiguous.</summary>
    private sealed record Attachment(int Id, ulong Base, ulong End);

    /// <summary>
    /// The process's attachments: its segment areas gathered by (id, address of offset 0), in address
    /// order. mprotect splits an attachment into several areas; one that does not start at offset 0
    /// or has a gap was partly unmapped, which a restore could not repeat (shmat maps a whole segment).
    /// </summary>
    private static List<Attachment> Attachments(int pid, IEnumerable<MemoryMapping> areas)
    {
        var found = new List<Attachment>();
        foreach (var m in areas.OrderBy(m => m.Start))
        {
            int id = checked((int)m.Inode);
            ulong @base = m.Start - m.Offset;
            if (found.Count > 0 && found[^1] is { } last && last.Id == id && last.Base == @base && last.End == m.Start)
            {
                found[^1] = last with { End = m.End };
                continue;
            }
            if (m.Offset != 0)
                throw new UnsupportedResourceException(pid, $"memory mapping {m}",
                    $"System V segment {id} is mapped from offset 0x{m.Offset:x} only (its start was unmapped), which cryo does not restore");
            found.Add(new Attachment(id, m.Start, m.End));
        }
        return found;
    }

    // ---------------------------------------------------------------- restore

    /// <summary>A segment of the image as this restore found or made it.</summary>
    private sealed class Segment(SysVSegment item, bool made)
    {
        public SysVSegment Item { get; } = item;
        /// <summary>Made by this restore (its pages come from the image); else the live segment was found.</summary>
        public bool Made { get; } = made;
        public bool Removed { get; set; }
    }

    /// <summary>The segments of one restore, by id: resolved once, attached by every process that had them.</summary>
    private sealed class Segments
    {
        public Dictionary<int, Segment> ById { get; } = [];
    }

    /// <summary>Per process: the attachments made so far, by (id, base).</summary>
    private sealed class Attached
    {
        public Dictionary<(int Id, ulong Base), long> Protection { get; } = [];
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"'{item.Tag}' outside a PROC section");
        var segment = (SysVSegment)item;
        var segments = session.State<Segments>();
        if (segments.ById.TryGetValue(segment.Id, out var known))
        {
            if (known.Item != segment)
                throw new InvalidDataException($"image of pid {process.Pid}: SHMS of segment {segment.Id} differs from the one an earlier process of the image has");
            return;
        }
        var live = SysVShmTable.Read();
        var row = live.FirstOrDefault(r => r.Id == segment.Id);
        if (row is not null)
        {
            if (row.Key != segment.Key || row.Size != segment.Size || row.CreatorPid != segment.CreatorPid || row.CreatorUid != segment.CreatorUid)
                throw new InvalidOperationException(
                    $"pid {process.Pid}: System V shared memory segment {segment.Id} (key 0x{segment.Key:x}, {segment.Size} bytes, made by pid {segment.CreatorPid}) " +
                    $"is gone, and id {segment.Id} now names another segment (key 0x{row.Key:x}, {row.Size} bytes, made by pid {row.CreatorPid})");
            segments.ById[segment.Id] = new Segment(segment, made: false);
            return;
        }
        Make(process, segment, live, session);
        segments.ById[segment.Id] = new Segment(segment, made: true);
    }

    /// <summary>
    /// Makes a segment that is gone again, with its id: /proc/sys/kernel/shm_next_id asks the
    /// kernel for it (CONFIG_CHECKPOINT_RESTORE), and the id the kernel gives is checked, since the
    /// program may hold the id. Removed again if the restore fails.
    /// </summary>
    private static void Make(RestoringProcess process, SysVSegment segment, IReadOnlyList<SysVShmRow> live, RestoreSession session)
    {
        string what = $"pid {process.Pid}: System V shared memory segment {segment.Id} (key 0x{segment.Key:x}, {segment.Size} bytes)";
        if (segment.Key != 0 && live.FirstOrDefault(r => r.Key == segment.Key) is { } holder)
            throw new InvalidOperationException($"{what} is gone, and its key now belongs to segment {holder.Id}");
        bool asked = AskForId(segment.Id);
        int id = Native.Shmget(segment.Key, segment.Size, Native.IPC_CREAT | Native.IPC_EXCL | (int)(segment.Mode & SysVSegment.PermissionBits));
        if (id < 0)
        {
            if (asked) AskForId(-1); // else the next segment anybody makes would get that id
            throw new SysCallException("shmget", -id, $"{what}, made again");
        }
        if (id != segment.Id)
        {
            Native.ShmRemove(id, $"{what}: the segment made with the wrong id {id}");
            throw new InvalidOperationException(
                $"{what} is gone and cannot be made again with its id: the kernel gave {id}" +
                (asked ? " (the id is taken?)" : $" ({Native.ShmNextIdPath} cannot be written: a kernel without CONFIG_CHECKPOINT_RESTORE)"));
        }
        session.UndoOnFailure.Add(() => Native.ShmRemove(id, $"{what}, made by the failed restore"));
        Native.ShmSetOwner(id, segment.Uid, segment.Gid, segment.Mode & SysVSegment.PermissionBits, what);
        if ((segment.Mode & SysVSegment.Locked) != 0) Native.ShmLock(id, what);
    }

    private static bool AskForId(int id)
    {
        try
        {
            File.WriteAllText(Native.ShmNextIdPath, id.ToString(CultureInfo.InvariantCulture));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Called by Memory for an AREA of kind 10: attaches the whole segment (injected shmat) at the
    /// address of its offset 0, once per attachment; the later areas of that attachment are already
    /// mapped. Returns whether the area's stored pages are to be written (a segment made again:
    /// yes; the live one: no, its content is the segment's now) and the protection the attachment
    /// has (read-write, with exec if its first area had it): Memory then gives each area its own.
    /// A segment removed at the checkpoint is removed again once attached.
    /// </summary>
    internal static (bool WritePages, long Protection) Attach(RestoringProcess process, MemoryArea area, RestoreSession session)
    {
        int id = checked((int)area.Inode);
        if (!session.State<Segments>().ById.TryGetValue(id, out var segment))
            throw new InvalidDataException($"image of pid {process.Pid}: AREA {area.Start:x}-{area.End:x} attaches System V segment {id}, which no SHMS describes");
        ulong @base = area.Start - area.FileOffset;
        var attached = process.State<Attached>().Protection;
        if (attached.TryGetValue((id, @base), out long protection))
        {
            if (area.End > @base + RoundUp(segment.Item.Size))
                throw new InvalidDataException($"image of pid {process.Pid}: AREA {area.Start:x}-{area.End:x} reaches past System V segment {id} attached at {@base:x}");
            return (segment.Made, protection);
        }
        if (area.FileOffset != 0)
            throw new InvalidDataException($"image of pid {process.Pid}: AREA {area.Start:x}-{area.End:x} starts at offset 0x{area.FileOffset:x} of System V segment {id}, which is not attached there");
        bool exec = (area.Protection & MemoryArea.ProtExec) != 0;
        long result = process.Syscalls.Invoke(SyscallNumbers.Shmat, id, (long)@base, exec ? Native.SHM_EXEC : 0);
        if ((ulong)result != @base)
            throw new InvalidOperationException(
                $"pid {process.Pid}: shmat of System V segment {id} at {@base:x} failed: {(result < 0 ? ErrnoNames.Name((int)-result) : $"it went to {result:x}")}");
        protection = RemoteSyscall.PROT_READ | RemoteSyscall.PROT_WRITE | (exec ? RemoteSyscall.PROT_EXEC : 0);
        attached[(id, @base)] = protection;
        if (segment.Made && segment.Item.IsDestroyed && !segment.Removed)
        {
            // Linux lets the other processes of the image attach a removed segment by its id.
            Native.ShmRemove(id, $"pid {process.Pid}: System V shared memory segment {id}, removed at the checkpoint");
            segment.Removed = true;
        }
        return (segment.Made, protection);
    }

    public void Finish(RestoringProcess process, RestoreSession session) { }
}
