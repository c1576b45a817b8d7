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
/// Files no path reaches (MEMF, DELF, MDAT): memfd objects (memfd_create) and regular files
/// deleted while the process held them (tmpfile(), a log deleted while written, the semaphores of
/// Python's multiprocessing: files in /dev/shm mapped and deleted at once). A process reaches
/// them through descriptors (FDES kind 9, or kind 0 with a path ending in " (deleted)", with
/// <see cref="Files"/>) and mappings (AREA kind 11, or 2 and 3 with such a path, with
/// <see cref="Memory"/>). Each is saved once per checkpoint, in the first process that refers to
/// it: its name or path, size, mode, owner, seals and the pages that hold data (SEEK_DATA and
/// SEEK_HOLE: a sparse memfd of many GiB costs only its data). A restore makes it again (a memfd
/// in cryo with memfd_create; a deleted file in its directory, deleted again at once), writes the
/// data with pwrite, and every descriptor and mapping of the image with its device and inode gets
/// that one file, so what one writes the others see. .NET keeps a memfd for its double-mapped
/// code ("doublemapper"); before this kind, every .NET process and every process holding a
/// deleted file was refused.
/// </summary>
internal sealed class PathlessFiles : IResourceKind
{
    /// <summary>How /proc/PID/fd and /proc/PID/maps name a memfd: "/memfd:NAME (deleted)".</summary>
    internal const string Prefix = "/memfd:";
    private const string Deleted = " (deleted)";
    private static readonly ulong PageSize = (ulong)Environment.SystemPageSize;

    // The objects already written in one checkpoint: each goes into the first process that has it.
    private readonly ConditionalWeakTable<DumpSession, HashSet<(ulong Device, ulong Inode)>> written = new();

    public string Name => "PathlessFiles";

    public bool Handles(CheckpointItem item) => item is MemfdObject or DeletedFile or MemfdData;

    internal static bool IsMemfd(string pathOrLink) => pathOrLink.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// A path as /proc shows a file deleted since it was opened or mapped ("/dir/name (deleted)"):
    /// not a memfd, not shared anonymous memory ("/dev/zero (deleted)") nor a System V segment.
    /// </summary>
    internal static bool IsDeletedFile(string pathOrLink) =>
        pathOrLink.StartsWith('/') && pathOrLink.EndsWith(Deleted, StringComparison.Ordinal) && !IsMemfd(pathOrLink)
        && pathOrLink != "/dev/zero" + Deleted && !pathOrLink.StartsWith("/SYSV", StringComparison.Ordinal);

    // ---------------------------------------------------------------- dump

    /// <summary>One object as the dump found it: its item, an open handle, and the byte ranges that hold data.</summary>
    private sealed record FoundObject(CheckpointItem Item, ulong ObjectId, SafeFileHandle Handle, List<(long Offset, long Length)> Data, string What)
    {
        /// <summary>The data, read while the process is frozen (for a checkpoint that lets it run on before writing).</summary>
        public List<MemfdData>? Copied { get; set; }
    }

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        int pid = process.Pid;
        var seen = written.GetValue(session, _ => []);
        // By device and inode: a deleted file on a disk and a memfd may share an inode number.
        var found = new Dictionary<(ulong Device, ulong Inode), FoundObject>();
        try
        {
            foreach (var (source, where, memfd) in Sources(process))
            {
                // Only regular files are opened: a deleted FIFO's open would wait for a writer (Files refuses those).
                if (Native.TryStat(Encoding.UTF8.GetBytes(source), out _) is not { Type: FileStatus.S_IFREG } seenThere
                    || seen.Contains((seenThere.Device, seenThere.Inode))) continue;
                var handle = OpenReadOnly(source);
                try
                {
                    var status = Native.Fstat((int)handle.DangerousGetHandle(), source);
                    if (seen.Add((status.Device, status.Inode)))
                        found[(status.Device, status.Inode)] = memfd ? ReadMemfd(pid, handle, status, where) : ReadDeleted(pid, handle, status, where, session.Options.DeletedFileLimit);
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
            // The writer order of §11.2: the MEMF items, then the DELF items, each ascending object id.
            return new DumpedPathlessFiles([.. found.OrderBy(o => o.Value.Item is DeletedFile).ThenBy(o => o.Key.Inode).ThenBy(o => o.Key.Device).Select(o => o.Value)]);
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

    /// <summary>
    /// Where each pathless file of the process can be opened (its descriptors, then its
    /// mappings), what to call it in a message, and whether it is a memfd (else a deleted file).
    /// </summary>
    private static IEnumerable<(string Source, string What, bool Memfd)> Sources(FrozenProcess process)
    {
        int pid = process.Pid;
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            byte[] link;
            try { link = Native.ReadLink(entry); }
            catch (SysCallException) { continue; } // closed meanwhile: Files reads the table again and decides
            string text = Encoding.UTF8.GetString(link);
            if (IsMemfd(text) || IsDeletedFile(text))
                yield return (entry, $"fd {Path.GetFileName(entry)} ({(IsMemfd(text) ? "memfd" : "deleted file")} {text})", IsMemfd(text));
        }
        foreach (var m in process.Mappings.Where(m => IsMemfd(m.Path) || IsDeletedFile(m.Path)))
            yield return ($"/proc/{pid}/map_files/{m.Start:x}-{m.End:x}", $"memory mapping {m}", IsMemfd(m.Path));
    }

    /// <summary>
    /// A deleted regular file: its path as /proc shows it without " (deleted)", its data (at most
    /// <paramref name="limit"/> bytes, --deleted-file-limit: it keeps deleted logs of many GiB out
    /// of images unless the user asks for them). One that still has a link (renamed away, or another
    /// hard link) is refused: the path it is known by is unknown, and it is not lost either.
    /// </summary>
    private static FoundObject ReadDeleted(int pid, SafeFileHandle handle, FileStatus status, string where, long limit)
    {
        int fd = (int)handle.DangerousGetHandle();
        string what = $"pid {pid} {where}";
        if (status.Links != 0)
            throw new UnsupportedResourceException(pid, where, $"the file has {status.Links} link(s) left under another name, which /proc does not show, so a restore could not find it");
        byte[] link = Native.ReadLink($"/proc/self/fd/{fd}");
        byte[] deleted = Encoding.ASCII.GetBytes(Deleted);
        if (!link.AsSpan().EndsWith(deleted) || link.Length <= deleted.Length + 1)
            throw new UnsupportedResourceException(pid, where, $"its link '{Encoding.UTF8.GetString(link)}' is not the form /PATH (deleted)");
        var data = DataRanges(fd, status.Size, what);
        long bytes = data.Sum(r => r.Length);
        if (bytes > limit)
            throw new UnsupportedResourceException(pid, where,
                $"the deleted file holds {bytes >> 20} MiB of data, more than cryo saves of a deleted file ({limit >> 20} MiB; --deleted-file-limit raises it)");
        var item = new DeletedFile(status.Inode, status.Device, (ulong)status.Size, status.Mode, status.Uid, status.Gid, link[..^deleted.Length]);
        return new FoundObject(item, status.Inode, handle, data, what);
    }

    private static FoundObject ReadMemfd(int pid, SafeFileHandle handle, FileStatus status, string where)
    {
        int fd = (int)handle.DangerousGetHandle();
        string what = $"pid {pid} {where}";
        if (Native.FileSystemType(fd) == Native.HUGETLBFS_MAGIC)
            throw new UnsupportedResourceException(pid, where, "a memfd of huge pages (MFD_HUGETLB) is not supported");
        int seals = Native.Fcntl(fd, Native.F_GET_SEALS, 0);
        if (seals < 0) throw new SysCallException("fcntl(F_GET_SEALS)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), what);
        byte[] link = Native.ReadLink($"/proc/self/fd/{fd}");
        var item = new MemfdObject(status.Inode, status.Device, (ulong)status.Size, (uint)seals, status.Mode, status.Uid, status.Gid, NameOf(link, pid, where));
        return new FoundObject(item, status.Inode, handle, DataRanges(fd, status.Size, what), what);
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
                yield return new MemfdData(o.ObjectId, (ulong)(offset + done), chunk);
                done += chunk.Length;
            }
    }

    /// <summary>The MEMF, DELF and MDAT items of one process's new files: written in the order given, the handles closed after.</summary>
    private sealed record DumpedPathlessFiles(IReadOnlyList<FoundObject> Objects) : IDumpedResource
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

    /// <summary>The pathless files of one restore (shared by its processes), by the device and inode of the image.</summary>
    internal sealed class Objects : IDisposable
    {
        public Dictionary<(ulong Device, ulong Inode), MadeObject> ById { get; } = [];

        /// <summary>The file whose MDAT items may follow (the last MEMF or DELF read).</summary>
        public MadeObject? Filling { get; set; }

        public void Dispose()
        {
            foreach (var o in ById.Values) o.Dispose();
        }
    }

    /// <summary>A pathless file made again by cryo; cryo's descriptors of it close with the restore.</summary>
    internal sealed class MadeObject(ulong objectId, ulong size, uint seals, string what, SafeFileHandle handle) : IDisposable
    {
        public ulong ObjectId { get; } = objectId;
        public ulong Size { get; } = size;
        /// <summary>The memfd seals to add (0 for a deleted file).</summary>
        public uint Seals { get; } = seals;
        public string What { get; } = what;
        public SafeFileHandle Handle { get; } = handle;
        public SafeFileHandle? ReadOnly { get; set; }
        /// <summary>Why <see cref="Handle"/>, the writable one, was closed early (<see cref="CloseWriter"/>), or null.</summary>
        public string? WriterClosed { get; set; }
        public ulong NextOffset { get; set; }
        public bool EarlySealed { get; set; }
        public bool LateSealed { get; set; }

        /// <summary>Made with open(O_TMPFILE | O_RDWR), as the original was; whether that description was handed to a process yet.</summary>
        public bool MadeAsTmpfile { get; init; }
        public bool TmpfileDescriptionTaken { get; set; }

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
        if (item is MemfdData data)
        {
            Write(process.Pid, objects.Filling, data);
            return;
        }
        var (device, id) = item switch
        {
            MemfdObject o => (o.Device, o.ObjectId),
            DeletedFile f => (f.Device, f.ObjectId),
            _ => throw new InvalidOperationException($"{item.Tag} is not a PathlessFiles item"),
        };
        if (objects.ById.ContainsKey((device, id)))
            throw new InvalidDataException($"image of pid {process.Pid}: file object {id} has a second {item.Tag} item");
        var made = item is MemfdObject memfd ? Make(memfd, process.Pid) : Make((DeletedFile)item, process.Pid);
        objects.ById[(device, id)] = made;
        objects.Filling = made;
    }

    /// <summary>memfd_create with the name, then mode, owner and size; the seals wait until the contents are in.</summary>
    private static MadeObject Make(MemfdObject o, int pid)
    {
        string what = $"pid {pid}: memfd object {o.ObjectId} ({Encoding.UTF8.GetString(o.Name)})";
        // Sealing is always allowed here: an object made without it shows F_SEAL_SEAL, which is added last.
        var handle = new SafeFileHandle(Native.MemfdCreate(o.Name, Native.MFD_CLOEXEC | Native.MFD_ALLOW_SEALING, what), ownsHandle: true);
        return Prepare(new MadeObject(o.ObjectId, o.Size, o.Seals, what, handle), o.Mode, o.Uid, o.Gid);
    }

    /// <summary>
    /// A deleted file made again in its directory (at its path if that is free, else beside it)
    /// and deleted again at once: from then on, as before the checkpoint, no path reaches it, and a
    /// failed restore leaves nothing behind. A file that open(O_TMPFILE) made (the kernel names it
    /// "#INODE" in its directory) is made the same way: it never has a name, and it can be linked
    /// into a directory again (linkat), as such a file can.
    /// </summary>
    private static MadeObject Make(DeletedFile f, int pid)
    {
        string path = Encoding.UTF8.GetString(f.Path);
        string what = $"pid {pid}: deleted file {path} (inode {f.ObjectId})";
        if (Path.GetFileName(path) == $"#{f.ObjectId}")
        {
            int tmpfile = Native.Open(Path.GetDirectoryName(path)!, Native.O_TMPFILE | Native.O_RDWR | Native.O_CLOEXEC, 0600);
            if (tmpfile < 0)
                throw new SysCallException("open(O_TMPFILE)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what}: making it again in {Path.GetDirectoryName(path)}");
            return Prepare(new MadeObject(f.ObjectId, f.Size, 0, what, new SafeFileHandle(tmpfile, ownsHandle: true)) { MadeAsTmpfile = true }, f.Mode, f.Uid, f.Gid);
        }
        const int flags = Native.O_RDWR | Native.O_CREAT | Native.O_EXCL | Native.O_CLOEXEC;
        string made = path;
        int fd = Native.Open(made, flags, 0600);
        for (int attempt = 1; fd < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == ErrnoNames.EEXIST && attempt < 100; attempt++)
            fd = Native.Open(made = $"{path}.cryo-{f.ObjectId}-{attempt}", flags, 0600);
        if (fd < 0)
            throw new SysCallException("open", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what}: making it again as {made}");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Native.Unlink(made) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new SysCallException("unlink", errno, $"{what}: deleting {made} again");
        }
        return Prepare(new MadeObject(f.ObjectId, f.Size, 0, what, handle), f.Mode, f.Uid, f.Gid);
    }

    /// <summary>Mode, owner and size of a file just made; it is closed if one of them fails.</summary>
    private static MadeObject Prepare(MadeObject made, uint mode, uint uid, uint gid)
    {
        try
        {
            int fd = (int)made.Handle.DangerousGetHandle();
            Native.Fchmod(fd, mode & 0xfff, made.What);
            Native.Fchown(fd, uid, gid, made.What);
            if (Native.Ftruncate(fd, (long)made.Size) != 0)
                throw new SysCallException("ftruncate", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{made.What} to {made.Size} bytes");
            return made;
        }
        catch
        {
            made.Dispose();
            throw;
        }
    }

    /// <summary>One MDAT: checked against its MEMF (§10) and written with pwrite, up to the object's size.</summary>
    private static void Write(int pid, MadeObject? target, MemfdData data)
    {
        if (target is null || target.ObjectId != data.ObjectId || target.EarlySealed)
            throw new InvalidDataException($"image of pid {pid}: MDAT of file object {data.ObjectId} does not follow that object's MEMF or DELF");
        ulong end = (target.Size + PageSize - 1) / PageSize * PageSize, length = (ulong)data.Data.Length;
        if (data.Offset % PageSize != 0 || length % PageSize != 0 || data.Offset < target.NextOffset || data.Offset > end || length > end - data.Offset)
            throw new InvalidDataException(
                $"image of pid {pid}: MDAT of {target.What} at offset {data.Offset} ({length} bytes) is not whole pages, out of order, or past its size {target.Size}");
        target.NextOffset = data.Offset + length;
        int count = (int)Math.Min(length, target.Size - data.Offset);
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
            throw new InvalidDataException($"image: {what} refers to file object {inode} (device 0x{device:x}), which no MEMF or DELF item before it describes");
        objects.Filling = null;
        if (!o.EarlySealed)
        {
            AddSeals(o, EarlySeals(o.Seals));
            o.EarlySealed = true;
        }
        if (!readOnly)
            return o.WriterClosed is null ? (int)o.Handle.DangerousGetHandle()
                : throw new InvalidDataException($"image: {what} wants file object {inode} writable, but it is {o.WriterClosed}, which no one may write to");
        o.ReadOnly ??= OpenReadOnly($"/proc/self/fd/{o.Handle.DangerousGetHandle()}");
        return (int)o.ReadOnly.DangerousGetHandle();
    }

    /// <summary>
    /// Closes cryo's writable descriptor of a deleted file made again, once its contents are in:
    /// the kernel makes a file a process's executable (PR_SET_MM_MAP's exe_fd) only while no one
    /// has it open for writing (EACCES), and a running executable cannot be opened for writing
    /// anyway (ETXTBSY), so no later item of the image can need it.
    /// </summary>
    internal static void CloseWriter(RestoreSession session, ulong device, ulong inode, string why)
    {
        if (!session.State<Objects>().ById.TryGetValue((device, inode), out var o) || o.WriterClosed is not null) return;
        o.ReadOnly ??= OpenReadOnly($"/proc/self/fd/{o.Handle.DangerousGetHandle()}");
        o.Handle.Dispose();
        o.WriterClosed = why;
    }

    /// <summary>
    /// For the first description of a file made with O_TMPFILE whose recorded flags say it was
    /// opened so, read-write: a new descriptor (close-on-exec) of cryo's own description, which is
    /// that open, so its status flags show O_TMPFILE as the original's did (a reopen through
    /// /proc cannot). Null otherwise: the caller reopens.
    /// </summary>
    internal static int? TakeTmpfileDescription(RestoreSession session, ulong device, ulong inode, uint openFlags, string what)
    {
        if (!session.State<Objects>().ById.TryGetValue((device, inode), out var o) || !o.MadeAsTmpfile || o.TmpfileDescriptionTaken
            || (openFlags & Native.O_TMPFILE) != Native.O_TMPFILE || (openFlags & Native.O_ACCMODE) != Native.O_RDWR)
            return null;
        o.TmpfileDescriptionTaken = true;
        return Native.FcntlOrThrow((int)o.Handle.DangerousGetHandle(), Native.F_DUPFD_CLOEXEC, 0, what);
    }

    /// <summary>
    /// Whether shared mappings of the object must come from a read-only descriptor: F_SEAL_WRITE,
    /// which is applied before them (F_SEAL_FUTURE_WRITE comes after them, and a writable shared
    /// mapping made before it stays writable, so those get a read-write one).
    /// </summary>
    internal static bool WriteSealed(RestoreSession session, ulong device, ulong inode) =>
        session.State<Objects>().ById.TryGetValue((device, inode), out var o) && (o.Seals & MemfdObject.SealWrite) != 0;

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
                AddSeals(o, EarlySeals(o.Seals));
                o.EarlySealed = true;
            }
            if (o.LateSealed) continue;
            AddSeals(o, o.Seals & ~EarlySeals(o.Seals));
            o.LateSealed = true;
        }
    }
}
