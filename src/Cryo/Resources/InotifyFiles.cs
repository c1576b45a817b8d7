using System.Globalization;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Resources;

/// <summary>
/// inotify descriptors (INOT): each watch's descriptor, mask and inode, from fdinfo, and the path
/// of the inode, found through the file handle fdinfo shows (open_by_handle_at on the inode's
/// filesystem). A restore makes a new instance in cryo and adds the watches again by path, so
/// that each gets its watch descriptor back; Files hands it over like any description. Events
/// waiting to be read cannot be saved: a checkpoint with some is refused. `tail -f` watches the
/// file it follows this way, and so do file watchers, editors and build servers.
/// docs/engine-files.md, "inotify".
/// </summary>
internal static class InotifyFiles
{
    public const string Link = "anon_inode:inotify";

    // Bits fdinfo may show that are not asked for by a program: the kernel sets them in events.
    private const uint AllEvents = 0xfff; // IN_ALL_EVENTS
    private const uint EventOnlyBits = 0x2000 | 0x4000 | 0x8000 | 0x4000_0000; // IN_UNMOUNT, IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR

    // ---------------------------------------------------------------- dump

    public static InotifyFile Dump(FrozenProcess process, int fd, FdInfo info)
    {
        int pid = process.Pid;
        string where = $"fd {fd} (inotify {Link})";
        int queued = QueuedBytes(process, fd);
        if (queued > 0)
            throw new UnsupportedResourceException(pid, where,
                $"{queued} bytes of events wait in its queue to be read, and events cannot be put back into a queue: checkpoint again once the program has read them");
        var mounts = new Dictionary<ulong, int>();
        try
        {
            var watches = new List<InotifyWatch>();
            // "inotify wd:1 ino:...": fdinfo's parser splits at the first colon, into "inotify wd" and "1 ino:...".
            foreach (var line in info.Lines.Where(l => l.Key.StartsWith("inotify ", StringComparison.Ordinal)))
                watches.Add(ParseWatch(pid, where, $"{line.Key["inotify ".Length..]}:{line.Value}", mounts));
            return new InotifyFile(fd, [.. watches.OrderBy(w => w.Wd)]);
        }
        finally
        {
            foreach (int mount in mounts.Values) Native.Close(mount);
        }
    }

    /// <summary>Bytes waiting in the instance's queue (FIONREAD): on a copy of the description, else by an injected ioctl.</summary>
    private static int QueuedBytes(FrozenProcess process, int fd)
    {
        string what = $"pid {process.Pid} fd {fd} (inotify)";
        int copy = FdTransfer.FromProcess(process.Pid, fd);
        if (copy >= 0)
        {
            try { return Native.BytesQueued(copy, what); }
            finally { Native.Close(copy); }
        }
        using var scratch = process.Scratch(8);
        const long FIONREAD = 0x541B;
        process.Syscalls.Checked($"ioctl(fd {fd}, FIONREAD)", SyscallNumbers.Ioctl, fd, FIONREAD, (long)scratch.Address);
        Span<byte> raw = stackalloc byte[4];
        scratch.Read(0, raw);
        return BitConverter.ToInt32(raw);
    }

    /// <summary>
    /// One fdinfo line: "wd:1 ino:1a2b sdev:800001 mask:fce ignored_mask:0 fhandle-bytes:8
    /// fhandle-type:1 f_handle:..." (all hex; sdev is the kernel's device number, major in the
    /// bits above 20), and the path of its inode.
    /// </summary>
    private static InotifyWatch ParseWatch(int pid, string where, string line, Dictionary<ulong, int> mounts)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(f => f.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        ulong Hex(string name) => fields.TryGetValue(name, out string? v) && ulong.TryParse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong n) ? n
            : throw new ProcFormatException($"/proc/{pid}/fdinfo", $"an inotify line without a hex '{name}': '{line}'");
        int wd = (int)Hex("wd");
        ulong inode = Hex("ino"), sdev = Hex("sdev");
        uint mask = (uint)Hex("mask");
        ulong device = FileStatus.Makedev((uint)(sdev >> 20), (uint)(sdev & 0xfffff));
        string watch = $"its watch {wd} (inode {inode} on device {FileStatus.Major(device)}:{FileStatus.Minor(device)})";
        string? handleFailed = "the filesystem gives no file handles";
        byte[]? path = null;
        if (fields.TryGetValue("f_handle", out string? handleHex))
            (path, handleFailed) = PathOf(device, (int)Hex("fhandle-type"), Convert.FromHexString(handleHex), mounts);
        // Some filesystems show a handle that does not open again (overlayfs without nfs_export,
        // which container roots are: ESTALE): the inode is then looked for near the process.
        path ??= SearchNearby(pid, device, inode)
            ?? throw new UnsupportedResourceException(pid, where,
                $"{watch}: cryo cannot find its path: {handleFailed}, and it is not within two levels below the process's working directory or the directories of its open files");
        var status = Native.TryLstat(path, out _);
        if (status is not { } found || found.Device != device || found.Inode != inode)
            throw new UnsupportedResourceException(pid, where, $"{watch}: its path {Encoding.UTF8.GetString(path)} names another file now");
        return new InotifyWatch(wd, mask & ~EventOnlyBits, device, inode, path);
    }

    /// <summary>
    /// The path of a handle's inode: opened on a mount of its filesystem (from cryo's mountinfo),
    /// then read back from /proc/self/fd; else null and why not.
    /// </summary>
    private static (byte[]? Path, string? Failed) PathOf(ulong device, int type, byte[] handle, Dictionary<ulong, int> mounts)
    {
        if (!mounts.TryGetValue(device, out int mount))
        {
            if (MountPointOf(device) is not { } point) return (null, "its filesystem is not mounted where cryo sees it");
            // Not O_PATH: open_by_handle_at takes its mount descriptor with fdget, which refuses O_PATH files (EBADF).
            mounts[device] = mount = Native.OpenOrThrow(point, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_CLOEXEC);
        }
        int opened = Native.OpenByHandle(mount, type, handle, out int errno);
        if (opened < 0) return (null, $"its file handle does not open ({ErrnoNames.Name(errno)})");
        try
        {
            byte[] path = Native.ReadLink($"/proc/self/fd/{opened}");
            return path.Length == 0 || path[0] != (byte)'/' || Encoding.UTF8.GetString(path).EndsWith(" (deleted)", StringComparison.Ordinal)
                ? (null, $"it watches {Encoding.UTF8.GetString(path)}, which no path reaches")
                : (path, null);
        }
        finally { Native.Close(opened); }
    }

    private const int MostLooked = 20000;

    /// <summary>
    /// The path of an inode looked for near the process: its working directory and the files it
    /// has open and their directories, and what lies up to two levels below those (at most
    /// <see cref="MostLooked"/> entries), then the ancestors of those; null if not found. A watched file is usually one the
    /// program opened or sits beside one (a log it follows, a directory of its own).
    /// </summary>
    private static byte[]? SearchNearby(int pid, ulong device, ulong inode)
    {
        var roots = new List<string>();
        void Add(string link)
        {
            try
            {
                string target = Encoding.UTF8.GetString(Native.ReadLink(link));
                if (!target.StartsWith('/') || target.EndsWith(" (deleted)", StringComparison.Ordinal)) return;
                roots.Add(target);
                if (Path.GetDirectoryName(target) is { } parent) roots.Add(parent);
            }
            catch (SysCallException) { }
        }
        Add($"/proc/{pid}/cwd");
        foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd")) Add(fd);
        int looked = 0;
        var level = roots.Distinct().ToList();
        for (int depth = 0; depth <= 2 && level.Count > 0 && looked < MostLooked; depth++)
        {
            var next = new List<string>();
            foreach (string path in level)
            {
                if (++looked > MostLooked) break;
                byte[] bytes = Encoding.UTF8.GetBytes(path);
                if (Native.TryLstat(bytes, out _) is not { } found) continue;
                if (found.Device == device && found.Inode == inode) return bytes;
                if (found.Type == FileStatus.S_IFDIR && depth < 2)
                {
                    try { next.AddRange(Directory.EnumerateFileSystemEntries(path).Take(MostLooked)); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                }
            }
            level = next;
        }
        // Last, their ancestors themselves, up to / (one lstat each): a watch of a directory above.
        foreach (string root in roots)
            for (string? up = Path.GetDirectoryName(root); up is not null; up = Path.GetDirectoryName(up))
                if (Native.TryLstat(Encoding.UTF8.GetBytes(up), out _) is { } found && found.Device == device && found.Inode == inode)
                    return Encoding.UTF8.GetBytes(up);
        return null;
    }

    /// <summary>A mount point of the filesystem with this device number in cryo's mount namespace (/proc/self/mountinfo), or null.</summary>
    private static string? MountPointOf(ulong device)
    {
        string wanted = $"{FileStatus.Major(device)}:{FileStatus.Minor(device)}";
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            string[] f = line.Split(' ');
            // "36 35 98:0 /mnt1 /mnt/parent rw,... - ext3 /dev/root rw": root of the mount (f[3]) must be "/" to reach every inode by its handle's path.
            if (f.Length > 4 && f[2] == wanted) return Unescape(f[4]);
        }
        return null;
    }

    private static string Unescape(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());

    // ---------------------------------------------------------------- restore

    /// <summary>
    /// A new inotify instance in cryo with the image's watches, each at its watch descriptor:
    /// the kernel hands them out in sequence from 1 and never again while the instance lives
    /// (idr_alloc_cyclic), so a gap (a watch removed before the checkpoint) is taken by a watch of
    /// a memfd of cryo's, removed at once; the IN_IGNORED events those removals queue are read
    /// away before the instance is handed over.
    /// </summary>
    public static int Open(InotifyFile state, FileDescriptor fd, string what, Action<string> warn)
    {
        int local = Native.InotifyInit(Native.IN_CLOEXEC | Native.IN_NONBLOCK, what);
        int gapFiller = -1;
        try
        {
            int next = 1;
            foreach (var watch in state.Watches)
            {
                for (; next < watch.Wd; next++)
                {
                    if (gapFiller < 0) gapFiller = Native.MemfdCreate("cryo-inotify-gap"u8, Native.MFD_CLOEXEC, what);
                    int gap = Native.InotifyAddWatch(local, Encoding.ASCII.GetBytes($"/proc/self/fd/{gapFiller}"), Native.IN_DELETE_SELF, $"{what}: filling watch descriptor {next}");
                    if (gap != next) throw new InvalidOperationException($"{what}: inotify gave watch descriptor {gap}, expected {next}");
                    Native.InotifyRemoveWatch(local, gap, what);
                }
                string path = Encoding.UTF8.GetString(watch.Path);
                var here = Native.TryLstat(watch.Path, out int errno)
                    ?? throw new InvalidOperationException($"{what}: the watched {path} is gone ({ErrnoNames.Name(errno)})");
                if (here.Device != watch.Device || here.Inode != watch.Inode)
                    warn($"{what}: {path} is another file now (device {here.Device:x} inode {here.Inode}, was {watch.Device:x} inode {watch.Inode}); the watch is on the new one");
                // A watch asking for no event (added with flags only) shows mask 0, which inotify_add_watch
                // refuses: IN_DONT_FOLLOW makes it a valid request for nothing, as it was.
                uint mask = watch.Mask | (here.Type == FileStatus.S_IFLNK || (watch.Mask & AllEvents) == 0 ? Native.IN_DONT_FOLLOW : 0);
                int wd = Native.InotifyAddWatch(local, watch.Path, mask, $"{what}: watch {watch.Wd} of {path}");
                if (wd != watch.Wd) throw new InvalidOperationException($"{what}: the watch of {path} came back as {wd}, not {watch.Wd}");
                next = watch.Wd + 1;
            }
            if (gapFiller >= 0) DiscardEvents(local, what);
            if (((int)fd.OpenFlags & Native.O_NONBLOCK) == 0)
                Native.FcntlOrThrow(local, Native.F_SETFL, Native.FcntlOrThrow(local, Native.F_GETFL, 0, what) & ~Native.O_NONBLOCK, what);
            return local;
        }
        catch
        {
            Native.Close(local);
            throw;
        }
        finally
        {
            if (gapFiller >= 0) Native.Close(gapFiller);
        }
    }

    /// <summary>Reads away what the gap fillers queued (their IN_IGNORED events), the instance being non-blocking.</summary>
    private static unsafe void DiscardEvents(int fd, string what)
    {
        var buffer = new byte[64 << 10];
        fixed (byte* b = buffer)
            while (Native.Read(fd, b, (nuint)buffer.Length) > 0) { }
    }
}
