using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Restore;
using Microsoft.Win32.SafeHandles;

namespace Cryo.Resources;

/// <summary>
/// memfd objects (MEMF, MDAT): files without a path, made with memfd_create, that a process
/// reaches through descriptors (FDES kind 9, with <see cref="Files"/>) and mappings (AREA kind
/// 11, with <see cref="Memory"/>). The object is saved once per checkpoint, in the first process
/// that refers to it: name, size, mode, owner, seals and the pages that hold data (SEEK_DATA and
/// SEEK_HOLE: a sparse memfd of many GiB costs only its data). A restore makes it again in cryo
/// with memfd_create, writes the data with pwrite, and every descriptor and mapping of the image
/// with its device and inode gets that one object, so what one writes the others see. .NET
/// keeps such a descriptor for its double-mapped code ("doublemapper"); before this kind, every
/// process holding one was refused.
/// </summary>
internal sealed class MemfdFiles : IResourceKind
{
    /// <summary>How /proc/PID/fd and /proc/PID/maps name a memfd: "/memfd:NAME (deleted)".</summary>
    internal const string Prefix = "/memfd:";
    private const string Deleted = " (deleted)";
    private static readonly ulong PageSize = (ulong)Environment.SystemPageSize;

    // The objects already written in one checkpoint: each goes into the first process that has it.
    private readonly ConditionalWeakTable<DumpSession, HashSet<(ulong Device, ulong Inode)>> written = new();

    public string Name => "MemfdFiles";

    public bool Handles(CheckpointItem item) => item is MemfdObject or MemfdData;

    internal static bool IsMemfd(string pathOrLink) => pathOrLink.StartsWith(Prefix, StringComparison.Ordinal);

    // ---------------------------------------------------------------- dump

    /// <summary>One object as the dump found it: its item, an open handle, and the byte ranges that hold data.</summary>
    private sealed record FoundObject(MemfdObject Item, SafeFileHandle Handle, List<(long Offset, long Length)> Data, string What)
    {
        /// <summary>The data, read while the process is frozen (for a checkpoint that lets it run on before writing).</summary>
        public List<MemfdData>? Copied { get; set; }
    }

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        int pid = process.Pid;
        var seen = written.GetValue(session, _ => []);
        var found = new SortedDictionary<ulong, FoundObject>();
        try
        {
            foreach (var (source, where) in Sources(process))
            {
                var handle = OpenReadOnly(source);
                try
                {
                    var status = Native.Fstat((int)handle.DangerousGetHandle(), source);
                    if (seen.Add((status.Device, status.Inode))) found[status.Inode] = Read(pid, handle, status, where);
                    else handle.Dispose();
                }
                catch
                {
                    handle.Dispose();
                    throw;
                }
            }
            // A checkpoint that thaws the tree before writing (--leave-running with a snapshot)
            // copies the data now: the object is shared with the running process, not copied by fork.
            if (session.Options.LeaveRunning && session.Options.Snapshot)
                foreach (var o in found.Values) o.Copied = [.. Chunks(o)];
            return new DumpedMemfds([.. found.Values]);
        }
        catch
        {
            foreach (var o in found.Values) o.Handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A read-only descriptor of <paramref name="path"/> (not File.OpenHandle: that takes a shared
    /// flock, which the process would see and a restored exclusive lock would collide with).
    /// </summary>
    private static SafeFileHandle OpenReadOnly(string path) =>
        new(Native.OpenOrThrow(path, Native.O_RDONLY | Native.O_CLOEXEC), ownsHandle: true);

    /// <summary>Where each memfd of the process can be opened (its descriptors, then its mappings), and what to call it in a message.</summary>
    private static IEnumerable<(string Source, string What)> Sources(FrozenProcess process)
    {
        int pid = process.Pid;
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            byte[] link;
            try { link = Native.ReadLink(entry); }
            catch (SysCallException) { continue; } // closed meanwhile: Files reads the table again and decides
            string text = Encoding.UTF8.GetString(link);
            if (IsMemfd(text)) yield return (entry, $"fd {Path.GetFileName(entry)} ({text})");
        }
        foreach (var m in process.Mappings.Where(m => IsMemfd(m.Path)))
            yield return ($"/proc/{pid}/map_files/{m.Start:x}-{m.End:x}", $"memory mapping {m}");
    }

    private static FoundObject Read(int pid, SafeFileHandle handle, FileStatus status, string where)
    {
        int fd = (int)handle.DangerousGetHandle();
        string what = $"pid {pid} {where}";
        if (Native.FileSystemType(fd) == Native.HUGETLBFS_MAGIC)
            throw new UnsupportedResourceException(pid, where, "a memfd of huge pages (MFD_HUGETLB) is not supported");
        int seals = Native.Fcntl(fd, Native.F_GET_SEALS, 0);
        if (seals < 0) throw new SysCallException("fcntl(F_GET_SEALS)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), what);
        byte[] link = Native.ReadLink($"/proc/self/fd/{fd}");
        var item = new MemfdObject(status.Inode, status.Device, (ulong)status.Size, (uint)seals, status.Mode, status.Uid, status.Gid, NameOf(link, pid, where));
        return new FoundObject(item, handle, DataRanges(fd, status.Size, what), what);
    }

    /// <summary>The name memfd_create was given: the link is "/memfd:NAME (deleted)".</summary>
    private static byte[] NameOf(byte[] link, int pid, string where)
    {
        byte[] prefix = Encoding.ASCII.GetBytes(Prefix), deleted = Encoding.ASCII.GetBytes(Deleted);
        if (!link.AsSpan().StartsWith(prefix) || !link.AsSpan().EndsWith(deleted))
            throw new UnsupportedResourceException(pid, where, $"its link '{Encoding.UTF8.GetString(link)}' is not the form /memfd:NAME (deleted)");
        return link[prefix.Length..^deleted.Length];
    }

    /// <summary>The page-aligned byte ranges of the object that hold data (holes read as zeros).</summary>
    private static List<(long Offset, long Length)> DataRanges(int fd, long size, string what)
    {
        long page = (long)PageSize, end = (size + page - 1) / page * page;
        return Native.DataRanges(fd, 0, end, page, out int errno) ?? throw new SysCallException("lseek(SEEK_DATA, SEEK_HOLE)", errno, what);
    }

    /// <summary>The object's data as MDAT items of at most <see cref="FormatLimits.DataChunk"/> bytes, read with pread.</summary>
    private static IEnumerable<MemfdData> Chunks(FoundObject o)
    {
        foreach (var (offset, length) in o.Data)
            for (long done = 0; done < length;)
            {
                var chunk = new byte[Math.Min(FormatLimits.DataChunk, length - done)];
                int read = 0;
                while (read < chunk.Length)
                {
                    int n = RandomAccess.Read(o.Handle, chunk.AsSpan(read), offset + done + read);
                    // Past the end of the file (the last page's tail, or a shrink since the scan): zeros.
                    if (n == 0) break;
                    read += n;
                }
                yield return new MemfdData(o.Item.ObjectId, (ulong)(offset + done), chunk);
                done += chunk.Length;
            }
    }

    /// <summary>The MEMF and MDAT items of one process's new objects: written in object order, the handles closed after.</summary>
    private sealed record DumpedMemfds(IReadOnlyList<FoundObject> Objects) : IDumpedResource
    {
        public void WriteTo(CheckpointWriter writer)
        {
            foreach (var o in Objects)
                using (o.Handle)
                {
                    writer.Write(o.Item);
                    foreach (var data in o.Copied ?? Chunks(o)) writer.Write(data);
                }
        }
    }

    // ---------------------------------------------------------------- restore

    /// <summary>The memfd objects of one restore (shared by its processes), by the device and inode of the image.</summary>
    internal sealed class Objects : IDisposable
    {
        public Dictionary<(ulong Device, ulong Inode), MadeObject> ById { get; } = [];

        /// <summary>The object whose MDAT items may follow (the last MEMF read).</summary>
        public MadeObject? Filling { get; set; }

        public void Dispose()
        {
            foreach (var o in ById.Values) o.Dispose();
        }
    }

    /// <summary>A memfd made again in cryo; cryo's descriptors of it close with the restore.</summary>
    internal sealed class MadeObject(MemfdObject item, SafeFileHandle handle) : IDisposable
    {
        public MemfdObject Item { get; } = item;
        public SafeFileHandle Handle { get; } = handle;
        public SafeFileHandle? ReadOnly { get; set; }
        public ulong NextOffset { get; set; }
        public bool EarlySealed { get; set; }
        public bool LateSealed { get; set; }

        public string What => $"memfd object {Item.ObjectId} ({Encoding.UTF8.GetString(Item.Name)})";

        public void Dispose()
        {
            Handle.Dispose();
            ReadOnly?.Dispose();
        }
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidDataException($"image: {item.Tag} outside a PROC section");
        var objects = session.State<Objects>();
        switch (item)
        {
            case MemfdObject o:
                if (objects.ById.ContainsKey((o.Device, o.ObjectId)))
                    throw new InvalidDataException($"image of pid {process.Pid}: memfd object {o.ObjectId} has a second MEMF item");
                var made = Make(o, $"pid {process.Pid}: memfd object {o.ObjectId} ({Encoding.UTF8.GetString(o.Name)})");
                objects.ById[(o.Device, o.ObjectId)] = made;
                objects.Filling = made;
                break;
            case MemfdData data:
                Write(process.Pid, objects.Filling, data);
                break;
        }
    }

    /// <summary>memfd_create with the name, then mode, owner and size; the seals wait until the contents are in.</summary>
    private static MadeObject Make(MemfdObject o, string what)
    {
        // Sealing is always allowed here: an object made without it shows F_SEAL_SEAL, which is added last.
        var handle = new SafeFileHandle(Native.MemfdCreate(o.Name, Native.MFD_CLOEXEC | Native.MFD_ALLOW_SEALING, what), ownsHandle: true);
        try
        {
            int fd = (int)handle.DangerousGetHandle();
            Native.Fchmod(fd, o.Mode & 0xfff, what);
            Native.Fchown(fd, o.Uid, o.Gid, what);
            if (Native.Ftruncate(fd, (long)o.Size) != 0)
                throw new SysCallException("ftruncate", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what} to {o.Size} bytes");
            return new MadeObject(o, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>One MDAT: checked against its MEMF (§10) and written with pwrite, up to the object's size.</summary>
    private static void Write(int pid, MadeObject? target, MemfdData data)
    {
        if (target is null || target.Item.ObjectId != data.ObjectId || target.EarlySealed)
            throw new InvalidDataException($"image of pid {pid}: MDAT of memfd object {data.ObjectId} does not follow that object's MEMF");
        ulong end = (target.Item.Size + PageSize - 1) / PageSize * PageSize, length = (ulong)data.Data.Length;
        if (data.Offset % PageSize != 0 || length % PageSize != 0 || data.Offset < target.NextOffset || data.Offset > end || length > end - data.Offset)
            throw new InvalidDataException(
                $"image of pid {pid}: MDAT of {target.What} at offset {data.Offset} ({length} bytes) is not whole pages, out of order, or past its size {target.Item.Size}");
        target.NextOffset = data.Offset + length;
        int count = (int)Math.Min(length, target.Item.Size - data.Offset);
        RandomAccess.Write(target.Handle, data.Data.Span[..count], (long)data.Offset);
    }

    /// <summary>
    /// Cryo's descriptor of the object the image knows by <paramref name="device"/> and
    /// <paramref name="inode"/>, for a mapping or a descriptor of it: read-write, or read-only
    /// for a private mapping and a shared mapping of a write-sealed object (which the kernel maps
    /// shared only through a read-only descriptor before 6.7). Its contents are complete by now, so the seals that do
    /// not stop the mappings still to come are applied on first use.
    /// </summary>
    internal static int LocalFd(RestoreSession session, ulong device, ulong inode, bool readOnly, string what)
    {
        var objects = session.State<Objects>();
        if (!objects.ById.TryGetValue((device, inode), out var o))
            throw new InvalidDataException($"image: {what} refers to memfd object {inode} (device 0x{device:x}), which no MEMF item before it describes");
        objects.Filling = null;
        if (!o.EarlySealed)
        {
            AddSeals(o, EarlySeals(o.Item.Seals));
            o.EarlySealed = true;
        }
        if (!readOnly) return (int)o.Handle.DangerousGetHandle();
        o.ReadOnly ??= OpenReadOnly($"/proc/self/fd/{o.Handle.DangerousGetHandle()}");
        return (int)o.ReadOnly.DangerousGetHandle();
    }

    /// <summary>
    /// Whether shared mappings of the object must come from a read-only descriptor: F_SEAL_WRITE,
    /// which is applied before them (F_SEAL_FUTURE_WRITE comes after them, and a writable shared
    /// mapping made before it stays writable, so those get a read-write one).
    /// </summary>
    internal static bool WriteSealed(RestoreSession session, ulong device, ulong inode) =>
        session.State<Objects>().ById.TryGetValue((device, inode), out var o) && (o.Item.Seals & MemfdObject.SealWrite) != 0;

    /// <summary>
    /// The seals applied once the contents are in: all but F_SEAL_FUTURE_WRITE, which refuses new
    /// writable shared mappings although the process may have had some from before it (and
    /// F_SEAL_SEAL with it, which would forbid adding it later).
    /// </summary>
    private static uint EarlySeals(uint seals) =>
        (seals & MemfdObject.SealFutureWrite) != 0 ? seals & ~(MemfdObject.SealFutureWrite | MemfdObject.SealSeal) : seals;

    private static void AddSeals(MadeObject o, uint seals)
    {
        if (seals == 0) return;
        if (Native.Fcntl((int)o.Handle.DangerousGetHandle(), Native.F_ADD_SEALS, (int)seals) != 0)
            throw new SysCallException($"fcntl(F_ADD_SEALS, 0x{seals:x})", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), o.What);
    }

    /// <summary>Once every mapping of every process exists: the seals held back (F_SEAL_FUTURE_WRITE, F_SEAL_SEAL), for every object.</summary>
    public void Finish(RestoringProcess process, RestoreSession session)
    {
        foreach (var o in session.State<Objects>().ById.Values)
        {
            if (!o.EarlySealed)
            {
                AddSeals(o, EarlySeals(o.Item.Seals));
                o.EarlySealed = true;
            }
            if (o.LateSealed) continue;
            AddSeals(o, o.Item.Seals & ~EarlySeals(o.Item.Seals));
            o.LateSealed = true;
        }
    }
}
