using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>One entry of /proc/PID/fd as the dump reads it.</summary>
/// <param name="OpenFlags">Status flags from fdinfo, without O_CLOEXEC (a descriptor flag fdinfo folds in).</param>
/// <param name="Locks">The locks held through this descriptor's description (fdinfo "lock:" lines).</param>
/// <param name="Info">The fdinfo the entry was read from (eventfd, signalfd and timerfd keep their state there).</param>
internal sealed record OpenFile(int Fd, FileKind Kind, byte[] Link, FileStatus Status, int OpenFlags, uint FdFlags, long Position,
    IReadOnlyList<FileLock> Locks, FdInfo Info);

/// <summary>
/// Open file descriptors: one FDES per /proc/PID/fd entry. Regular files, directories, memory
/// character devices (/dev/null, /dev/zero, /dev/urandom, ...), pipes and FIFOs (with
/// <see cref="Pipes"/>), eventfd, signalfd and timerfd (with <see cref="EventCounters"/>,
/// <see cref="SignalQueueFiles"/>, <see cref="TimerFiles"/>); everything else is refused before
/// anything is written. Descriptors that
/// share an open file description (dup, fork) get one description id (kcmp). Restore: every
/// description is opened in cryo, then installed at its exact numbers inside the process: a copy
/// through <see cref="FdTransfer"/> (pidfd_getfd, or a reopen through /proc) + dup3 (docs/engine-files.md).
/// </summary>
internal sealed class Files : IResourceKind
{
    // O_CLOEXEC as fdinfo shows it (02000000): a descriptor flag, not a status flag.
    private const int FdinfoCloexec = Native.O_CLOEXEC;

    // Per checkpoint: description ids and pipe ids must be consistent across the processes of one
    // session, and nowhere else. Keyed by the session, so nothing outlives it.
    private readonly ConditionalWeakTable<DumpSession, DumpRegistry> registries = new();

    public string Name => "Files";

    public bool Handles(CheckpointItem item) => item is FileDescriptor or FileOwner or FileLock or EventCounter or SignalQueueFile or TimerFile or EventPollFile or EventPollIdle or PidFd
        or UnixSocket or UnixSocketData or UnixSocketName or TerminalState or InotifyFile or InetSocket or InetDatagramSocket or UnixListener;

    /// <summary>An anonymous-inode file cryo saves: its /proc/PID/fd link, the item that holds its state, and how that item is read and made again in cryo.</summary>
    private sealed record AnonymousKind(string Link, Type Item, Func<FrozenProcess, int, FdInfo, DumpSession, CheckpointItem> Dump,
        Func<CheckpointItem, FileDescriptor, string, FileTable, RestoreSession, int> Open);

    private static readonly AnonymousKind[] AnonymousKinds =
    [
        new("anon_inode:[eventfd]", typeof(EventCounter), (p, fd, info, _) => EventCounters.Dump(p, fd, info), (state, fd, what, _, _) => EventCounters.Open((EventCounter)state, fd, what)),
        new("anon_inode:[signalfd]", typeof(SignalQueueFile), (p, fd, info, _) => SignalQueueFiles.Dump(p, fd, info), (state, fd, what, _, _) => SignalQueueFiles.Open((SignalQueueFile)state, fd, what)),
        new("anon_inode:[timerfd]", typeof(TimerFile), (p, fd, info, _) => TimerFiles.Dump(p, fd, info), (state, fd, what, _, _) => TimerFiles.Open((TimerFile)state, fd, what)),
        new("anon_inode:[eventpoll]", typeof(EventPollFile), (p, fd, info, _) => EventPolls.Dump(p, fd, info), (_, _, what, _, _) => EventPolls.Open(what)),
        new(InotifyFiles.Link, typeof(InotifyFile), (p, fd, info, _) => InotifyFiles.Dump(p, fd, info), (state, fd, what, table, _) => InotifyFiles.Open((InotifyFile)state, fd, what, table.Warn)),
        new(PidFds.Link, typeof(PidFd), PidFds.Dump, (state, fd, what, _, session) => PidFds.Open((PidFd)state, fd, what, session)),
    ];

    /// <summary>The anonymous-inode files cryo saves, by their /proc/PID/fd link.</summary>
    internal static readonly IReadOnlySet<string> SavedAnonymousFiles = AnonymousKinds.Select(k => k.Link).ToHashSet();

    // ---------------------------------------------------------------- dump

    /// <summary>Ids that span the processes of one checkpoint.</summary>
    internal sealed class DumpRegistry
    {
        private readonly List<(int Pid, int Fd, ulong Device, ulong Inode, ulong Id)> descriptions = [];
        private readonly Dictionary<(ulong Device, ulong Inode), ulong> pipeIds = [];
        private readonly HashSet<ulong> usedPipeIds = [];
        private ulong nextDescription = 1;

        /// <summary>
        /// The description id of <paramref name="fd"/> of <paramref name="pid"/>: that of an earlier
        /// descriptor of the same file that kcmp says is the same open file description, else a new one.
        /// </summary>
        public ulong DescriptionOf(int pid, int fd, FileStatus status)
        {
            foreach (var d in descriptions)
                if (d.Device == status.Device && d.Inode == status.Inode && Native.SameFileDescription(pid, fd, d.Pid, d.Fd))
                    return d.Id;
            ulong id = nextDescription++;
            descriptions.Add((pid, fd, status.Device, status.Inode, id));
            return id;
        }

        /// <summary>
        /// The pipe id: the pipe inode, unique in the session (a FIFO on a disk and a pipefs pipe
        /// may share an inode number; the second one gets the top bit set).
        /// </summary>
        public ulong PipeIdOf(ulong device, ulong inode)
        {
            if (pipeIds.TryGetValue((device, inode), out ulong id)) return id;
            id = inode;
            while (id == 0 || usedPipeIds.Contains(id)) id = (id | (1UL << 63)) + 1;
            usedPipeIds.Add(id);
            pipeIds[(device, inode)] = id;
            return id;
        }
    }

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        int pid = process.Pid;
        var registry = registries.GetValue(session, _ => new DumpRegistry());
        var files = ReadOpenFiles(pid);
        var pipes = ResourceKinds.Find<Pipes>();
        var items = new List<CheckpointItem>(files.Count);
        var lockedDescriptions = new HashSet<ulong>();
        var anonymousDescriptions = new HashSet<ulong>();
        var terminals = new HashSet<ulong>();
        foreach (var file in files)
        {
            ulong description = registry.DescriptionOf(pid, file.Fd, file.Status);
            items.Add(file.Kind is FileKind.Pipe or FileKind.Fifo
                ? pipes.DumpEnd(process, session, registry, file, files, description)
                : new FileDescriptor(file.Fd, file.Kind, file.FdFlags, (uint)file.OpenFlags, file.Position, file.Status.Mode,
                    file.Status.Device, file.Status.Inode, file.Status.RawDevice, description, 0, file.Link));
            // An eventfd's, signalfd's or timerfd's state is its description's: written once.
            if (file.Kind == FileKind.AnonInode && anonymousDescriptions.Add(description))
            {
                var state = DumpAnonymous(process, file, session);
                items.Add(state);
                if (state is EventPollFile epoll && EventPolls.DumpIdle(pid, epoll) is { } idle) items.Add(idle);
            }
            // A socket's state likewise (its queue only the first time the checkpoint meets it).
            if (file.Kind == FileKind.Socket && anonymousDescriptions.Add(description)) items.AddRange(UnixSockets.Dump(pid, file, session));
            // A terminal's settings and the process's standing to it: once per terminal in each process.
            if (file.Kind == FileKind.Terminal && terminals.Add(file.Status.RawDevice)) items.Add(Terminals.Dump(process, file));
            // An O_PATH descriptor has no owner: fcntl answers EBADF to F_GETOWN_EX on it.
            if ((file.OpenFlags & Native.O_PATH) == 0 && ReadOwner(process, file.Fd) is { } owner) items.Add(owner);
            // fdinfo shows a description's locks on every descriptor of it: they are taken again once.
            if (file.Locks.Count > 0 && lockedDescriptions.Add(description)) items.AddRange(file.Locks);
        }
        return new DumpedItems(items);
    }

    private static CheckpointItem DumpAnonymous(FrozenProcess process, OpenFile file, DumpSession session)
    {
        string link = Encoding.UTF8.GetString(file.Link);
        var kind = AnonymousKinds.FirstOrDefault(k => k.Link == link)
            ?? throw new InvalidOperationException($"pid {process.Pid} fd {file.Fd}: {link} is not a saved kind");
        return kind.Dump(process, file.Fd, file.Info, session);
    }

    /// <summary>
    /// The FOWN of <paramref name="fd"/>: who gets its description's I/O signals (F_GETOWN_EX) and
    /// which (F_GETSIG), or null when neither is set. Read on a copy of the description
    /// (pidfd_getfd), else by injected fcntl calls. An owner outside the checkpointed tree is
    /// refused: after a restore the id would name some other process, or none.
    /// </summary>
    private static FileOwner? ReadOwner(FrozenProcess process, int fd)
    {
        int pid = process.Pid;
        string what = $"pid {pid} fd {fd}";
        Native.FileOwnerEx owner;
        int signal;
        int copy = FdTransfer.FromProcess(pid, fd);
        if (copy >= 0)
        {
            try { (owner, signal) = Native.GetFileOwner(copy, what); }
            finally { Native.Close(copy); }
        }
        else
        {
            using var scratch = process.Scratch(8);
            process.Syscalls.Checked($"fcntl(fd {fd}, F_GETOWN_EX)", SyscallNumbers.Fcntl, fd, Native.F_GETOWN_EX, (long)scratch.Address);
            Span<byte> raw = stackalloc byte[8];
            scratch.Read(0, raw);
            owner = new Native.FileOwnerEx { Type = BitConverter.ToInt32(raw), Pid = BitConverter.ToInt32(raw[4..]) };
            signal = (int)process.Syscalls.Checked($"fcntl(fd {fd}, F_GETSIG)", SyscallNumbers.Fcntl, fd, Native.F_GETSIG);
        }
        if (owner.Pid == 0 && signal == 0) return null;
        var kind = (FileOwnerKind)owner.Type;
        if (owner.Pid != 0 && !TracedByCryo(owner.Pid))
            throw new UnsupportedResourceException(pid, $"fd {fd}",
                $"its I/O signals go to {OwnerName(kind)} {owner.Pid} (F_SETOWN), which is not in the checkpointed tree");
        return new FileOwner(fd, kind, owner.Pid, (uint)signal);
    }

    private static string OwnerName(FileOwnerKind kind) => kind switch
    {
        FileOwnerKind.Thread => "thread",
        FileOwnerKind.ProcessGroup => "the process group of",
        _ => "process",
    };

    /// <summary>Whether <paramref name="id"/> (a thread, a process, a group's leader) is frozen by this checkpoint: traced by a thread of cryo.</summary>
    private static bool TracedByCryo(int id)
    {
        int tracer;
        try { tracer = ProcStatus.Read(id).TracerPid; }
        catch (ProcFormatException) { return false; } // no such process
        return tracer != 0 && Directory.Exists($"/proc/self/task/{tracer}");
    }

    /// <summary>Every descriptor of <paramref name="pid"/>, classified; throws <see cref="UnsupportedResourceException"/> for what cryo cannot restore.</summary>
    internal static List<OpenFile> ReadOpenFiles(int pid)
    {
        var numbers = new List<int>();
        foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            numbers.Add(int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture));
        numbers.Sort();
        var files = new List<OpenFile>(numbers.Count);
        foreach (int fd in numbers) files.Add(ReadOpenFile(pid, fd));
        return files;
    }

    private static OpenFile ReadOpenFile(int pid, int fd)
    {
        string proc = $"/proc/{pid}/fd/{fd}";
        byte[] link = Native.ReadLink(proc);
        string text = Encoding.UTF8.GetString(link);
        var info = ProcFdInfo.Read(pid, fd);

        UnsupportedResourceException Refuse(string kind, string why) => new(pid, $"fd {fd} ({kind} {text})", why);

        if (text.StartsWith("anon_inode:", StringComparison.Ordinal) && !SavedAnonymousFiles.Contains(text))
        {
            string name = text["anon_inode:".Length..].Trim('[', ']');
            throw Refuse(name, $"{name} descriptors are not supported yet (of the anonymous-inode files, eventfd, signalfd, timerfd, epoll, inotify and pidfd are; fanotify, userfaultfd, io_uring, ... are not)");
        }
        var locks = info.Lines.Where(l => l.Key == "lock").Select(l => ParseLock(fd, l.Value, Refuse)).ToList();

        var status = Native.TryStat(Encoding.UTF8.GetBytes(proc), out int errno)
            ?? throw Refuse("file", $"stat failed: {ErrnoNames.Name(errno)}");
        // A deleted regular file is saved with its contents (PathlessFiles); anything else deleted cannot be reopened.
        if (text.EndsWith(" (deleted)", StringComparison.Ordinal) && !PathlessFiles.IsMemfd(text)
            && !(PathlessFiles.IsDeletedFile(text) && status.Type == FileStatus.S_IFREG))
            throw Refuse("deleted file", "it was deleted after it was opened and is not a regular file, so it cannot be made again");
        FileKind kind;
        if (text.StartsWith("pipe:[", StringComparison.Ordinal)) kind = FileKind.Pipe;
        else if (PathlessFiles.IsMemfd(text) && status.Type == FileStatus.S_IFREG) kind = FileKind.Memfd; // its object: PathlessFiles
        else if (SavedAnonymousFiles.Contains(text)) kind = FileKind.AnonInode;
        else if (text.StartsWith("socket:[", StringComparison.Ordinal) && status.Type == FileStatus.S_IFSOCK) kind = FileKind.Socket; // which ones: UnixSockets
        else if (!text.StartsWith('/')) throw Refuse("file", "not a path cryo can reopen");
        // Its link is a path in the queue file system, which names nothing in the tree: a
        // restore would look for it there and fail.
        else if (status.Type == FileStatus.S_IFREG && Native.FileSystemType(proc) == Native.MQUEUE_MAGIC)
            throw Refuse("POSIX message queue", "POSIX message queues (mq_open) are not supported yet");
        else kind = status.Type switch
        {
            FileStatus.S_IFREG => FileKind.Regular,
            FileStatus.S_IFDIR => FileKind.Directory,
            FileStatus.S_IFIFO => FileKind.Fifo,
            FileStatus.S_IFCHR => CheckCharDevice(status, Refuse),
            FileStatus.S_IFBLK => throw Refuse("block device", "block devices are not supported yet"),
            FileStatus.S_IFSOCK => FileKind.Socket, // which sockets: UnixSockets
            _ => throw Refuse("file", $"unsupported file type (mode 0{Convert.ToString(status.Mode, 8)})"),
        };
        return new OpenFile(fd, kind, link, status, info.Flags & ~FdinfoCloexec,
            (info.Flags & FdinfoCloexec) != 0 ? FileDescriptor.CloseOnExec : 0, info.Position, locks, info);
    }

    /// <summary>
    /// One fdinfo "lock:" line, as the kernel's lock_get_status prints it:
    /// "1: POSIX  ADVISORY  WRITE 1234 fe:00:5678 0 EOF" (id, kind, ADVISORY, READ or WRITE, pid,
    /// device:inode, first byte, last byte or EOF). Leases and mandatory locks are refused.
    /// </summary>
    internal static FileLock ParseLock(int fd, string line, Func<string, string, UnsupportedResourceException> refuse)
    {
        string[] t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (t.Length < 8 || t[1] == "->")
            throw refuse("file", $"fdinfo shows a lock cryo cannot read ('{line}')");
        var kind = t[1] switch
        {
            "FLOCK" => FileLockKind.Flock,
            "POSIX" => FileLockKind.Posix,
            "OFDLCK" => FileLockKind.OpenFileDescription,
            _ => throw refuse("file", $"it holds a {t[1]} ('{line}'); leases and delegations are not saved yet"),
        };
        if (t[2] != "ADVISORY") throw refuse("file", $"it holds a {t[2]} lock ('{line}'), which cryo does not restore");
        bool exclusive = t[3] switch
        {
            "WRITE" => true,
            "READ" => false,
            _ => throw refuse("file", $"fdinfo shows a lock in state {t[3]} ('{line}')"),
        };
        if (!ulong.TryParse(t[6], out ulong start) || !(t[7] == "EOF" || ulong.TryParse(t[7], out _)))
            throw refuse("file", $"fdinfo shows a lock range cryo cannot read ('{line}')");
        ulong length = t[7] == "EOF" ? 0 : ulong.Parse(t[7]) - start + 1;
        return kind == FileLockKind.Flock ? new FileLock(fd, kind, exclusive, 0, 0) : new FileLock(fd, kind, exclusive, start, length);
    }

    /// <summary>
    /// Memory devices (major 1: /dev/null, zero, full, random, urandom, ...) have no state beyond
    /// the open flags, so reopening the path recreates them; terminals are put in place at restore
    /// (<see cref="Terminals"/>). Other devices have state cryo does not save.
    /// </summary>
    private static FileKind CheckCharDevice(FileStatus status, Func<string, string, UnsupportedResourceException> refuse)
    {
        uint major = FileStatus.Major(status.RawDevice), minor = FileStatus.Minor(status.RawDevice);
        if (major == 1) return FileKind.CharDevice;
        if (Terminals.IsTerminal(status, refuse)) return FileKind.Terminal;
        throw refuse("character device", $"device {major}:{minor} may hold state cryo does not save; only memory devices (major 1, e.g. /dev/null) are supported");
    }

    // ---------------------------------------------------------------- restore

    /// <summary>
    /// The open file descriptions of one restore (shared by its processes): opened in cryo before
    /// the first install, each closed once every descriptor that refers to it is installed.
    /// Dispose closes whatever is left (a failed restore).
    /// </summary>
    internal sealed class FileTable : IDisposable
    {
        private readonly HashSet<string> warnedKeys = [];

        public Dictionary<ulong, Description> Descriptions { get; } = [];
        public List<(int Pid, FileDescriptor Item)> All { get; } = [];
        public List<string> Warnings { get; } = [];
        public bool Prepared { get; set; }

        /// <summary>Descriptions whose reopening (no pidfd_getfd) lost something, warned once each.</summary>
        public HashSet<ulong> ReopenWarned { get; } = [];

        /// <summary>Records a restore warning (also printed on stderr: the kinds have no log of their own).</summary>
        public void Warn(string message)
        {
            Warnings.Add(message);
            Console.Error.WriteLine($"cryo: warning: {message}");
        }

        public void WarnOnce(string key, string message)
        {
            if (warnedKeys.Add(key)) Warn(message);
        }

        public (int Pid, FileDescriptor Item)? FirstHolderOfPipe(ulong pipeId)
        {
            foreach (var entry in All)
                if (entry.Item.PipeId == pipeId) return entry;
            return null;
        }

        public void Dispose()
        {
            foreach (var d in Descriptions.Values) d.Close();
        }
    }

    internal sealed class Description(int pid, FileDescriptor first)
    {
        public int FirstPid { get; } = pid;
        public FileDescriptor First { get; } = first;

        /// <summary>cryo's fd of the description, -1 until prepared and after the last install.</summary>
        public int Fd { get; set; } = -1;

        /// <summary>Descriptors (of any process) still to be installed.</summary>
        public int Pending { get; set; }

        /// <summary>The EVFD, SGFD or TMFD of an anonymous-inode description (null for the other kinds).</summary>
        public CheckpointItem? State { get; set; }

        public void Close()
        {
            if (Fd >= 0) Native.Close(Fd);
            Fd = -1;
        }
    }

    /// <summary>The FDES items of one process, in file order.</summary>
    internal sealed class ProcessFiles
    {
        public List<FileDescriptor> Items { get; } = [];

        /// <summary>The FOWN of each descriptor that has one, by fd.</summary>
        public Dictionary<int, FileOwner> Owners { get; } = [];

        /// <summary>The FLCK items of each descriptor that has any, by fd.</summary>
        public Dictionary<int, List<FileLock>> Locks { get; } = [];

        /// <summary>The epoll instances whose watches this process adds (it holds their description's first FDES).</summary>
        public List<WatchedEpoll> Watches { get; } = [];
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"{item.Tag} outside a PROC section");
        var own = process.State<ProcessFiles>();
        var table = session.State<FileTable>();
        if (item is UnixSocketData data)
        {
            UnixSockets.Read(data, process.Pid, session);
            return;
        }
        if (item is UnixSocketName name)
        {
            UnixSockets.Read(name, process.Pid, session);
            return;
        }
        if (item is TerminalState terminal)
        {
            if (own.Items.LastOrDefault() is not { Kind: FileKind.Terminal } holder || holder.Fd != terminal.Fd)
                throw new InvalidDataException($"image of pid {process.Pid}: the TTYS of fd {terminal.Fd} does not follow that descriptor's FDES of kind 10 (terminal)");
            Terminals.Read(process, terminal, holder, session);
            table.Descriptions[holder.DescriptionId].State ??= terminal;
            return;
        }
        if (item is not FileDescriptor)
        {
            int of = item switch
            {
                FileOwner o => o.Fd, FileLock l => l.Fd, EventCounter e => e.Fd, SignalQueueFile q => q.Fd, TimerFile t => t.Fd, EventPollFile p => p.Fd, EventPollIdle i => i.Fd, PidFd f => f.Fd,
                InotifyFile i => i.Fd, InetSocket s => s.Fd, InetDatagramSocket d => d.Fd, UnixListener l => l.Fd,
                UnixSocket u => u.Fd,
                _ => throw new InvalidOperationException($"{item.Tag} is not a Files item"),
            };
            if (own.Items.LastOrDefault() is not { } last || last.Fd != of)
                throw new InvalidDataException($"image of pid {process.Pid}: the {item.Tag} of fd {of} does not follow that descriptor's FDES");
            if (item is FileOwner owner) own.Owners.Add(of, owner);
            else if (item is FileLock held) (own.Locks.TryGetValue(of, out var locks) ? locks : own.Locks[of] = []).Add(held);
            else if (item is EventPollIdle idle)
            {
                // The state of the description is its first holder's EPOL; that process adds the watches.
                if (table.Descriptions[last.DescriptionId].State is not EventPollFile state)
                    throw new InvalidDataException($"image of pid {process.Pid}: the EPQT of fd {of} follows no EPOL of that descriptor");
                if (own.Watches.Find(w => w.File == state) is { } watched) watched.ReportedEdges = idle.ReportedEdges.ToHashSet();
            }
            else if (item is InetSocket or InetDatagramSocket or UnixListener)
            {
                if (last.Kind != FileKind.Socket)
                    throw new InvalidDataException($"image of pid {process.Pid}: the {item.Tag} of fd {of} follows an FDES of {last.Kind} {Encoding.UTF8.GetString(last.Path)}, not of a socket");
                table.Descriptions[last.DescriptionId].State ??= item;
                if (item is UnixListener listener) UnixSockets.NoteListener(listener, session);
            }
            else if (item is UnixSocket socket)
            {
                if (last.Kind != FileKind.Socket || last.Inode != socket.SocketId)
                    throw new InvalidDataException($"image of pid {process.Pid}: the USCK of fd {of} follows an FDES of {last.Kind} {Encoding.UTF8.GetString(last.Path)}, not of socket {socket.SocketId}");
                UnixSockets.Read(socket, process.Pid, session);
                table.Descriptions[last.DescriptionId].State ??= socket;
            }
            else
            {
                string expected = AnonymousLinkOf(item);
                if (last.Kind != FileKind.AnonInode || Encoding.UTF8.GetString(last.Path) != expected)
                    throw new InvalidDataException($"image of pid {process.Pid}: the {item.Tag} of fd {of} follows an FDES of {last.Kind} {Encoding.UTF8.GetString(last.Path)}, not of {expected}");
                // The description's first holder's state is the one made; later holders' copies are the same file.
                table.Descriptions[last.DescriptionId].State ??= item;
                // An epoll's watches are added through this process's numbers, once, by the first holder.
                if (item is EventPollFile epoll && table.Descriptions[last.DescriptionId].State == item) own.Watches.Add(new WatchedEpoll(epoll));
            }
            return;
        }
        var fd = (FileDescriptor)item;
        if (own.Items.Any(i => i.Fd == fd.Fd)) throw new InvalidOperationException($"pid {process.Pid}: fd {fd.Fd} has two FDES items");
        if (fd.Kind is not (FileKind.Regular or FileKind.Directory or FileKind.CharDevice or FileKind.Pipe or FileKind.Fifo or FileKind.AnonInode or FileKind.Memfd or FileKind.Socket or FileKind.Terminal))
            throw new InvalidOperationException($"pid {process.Pid} fd {fd.Fd}: cryo cannot restore a descriptor of kind {fd.Kind}");
        if ((fd.Kind is FileKind.Pipe or FileKind.Fifo) != (fd.PipeId != 0))
            throw new InvalidOperationException($"pid {process.Pid} fd {fd.Fd}: kind {fd.Kind} with pipe id {fd.PipeId}");

        if (table.Descriptions.TryGetValue(fd.DescriptionId, out var description))
        {
            var first = description.First;
            if (first.Kind != fd.Kind || first.PipeId != fd.PipeId || first.Inode != fd.Inode || first.OpenFlags != fd.OpenFlags)
                throw new InvalidOperationException(
                    $"pid {process.Pid} fd {fd.Fd} shares description {fd.DescriptionId} with pid {description.FirstPid} fd {first.Fd}, but they differ in kind, file or flags");
        }
        else table.Descriptions[fd.DescriptionId] = description = new Description(process.Pid, fd);
        description.Pending++;
        if (fd.Kind == FileKind.Terminal) Terminals.Resolve(process, fd, session);
        own.Items.Add(fd);
        table.All.Add((process.Pid, fd));
    }

    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var table = session.State<FileTable>();
        PrepareAll(table, session);
        Terminals.TakeControl(process, session);
        Install(process, process.State<ProcessFiles>().Items, table, session);
    }

    /// <summary>
    /// Opens every description of the restore in cryo (all items have been read by now, the FIFO
    /// section included), then seals the pipes: cryo's own pipe ends close only once every
    /// description of them exists, because a FIFO's write-only open needs a reader.
    /// </summary>
    internal static void PrepareAll(FileTable table, RestoreSession session)
    {
        if (table.Prepared) return;
        var inherited = session.Options.InheritedFds ?? new Dictionary<string, int>();
        foreach (string link in inherited.Keys)
            if (!table.Descriptions.Values.Any(d => Encoding.UTF8.GetString(d.First.Path) == link))
                throw new InvalidOperationException($"--inherit-fd {link}={inherited[link]}: the image has no descriptor of {link}");
        foreach (var d in table.Descriptions.Values)
            d.Fd = inherited.TryGetValue(Encoding.UTF8.GetString(d.First.Path), out int mine)
                ? Inherit(d, mine, table)
                : d.First.Kind switch
            {
                FileKind.Pipe or FileKind.Fifo => Pipes.OpenDescription(d.First, d.FirstPid, session),
                FileKind.AnonInode => OpenAnonymous(d, table, session),
                FileKind.Memfd => OpenPathlessDescription(d.First, d.FirstPid, session, table),
                FileKind.Regular when PathlessFiles.IsDeletedFile(Encoding.UTF8.GetString(d.First.Path)) => OpenPathlessDescription(d.First, d.FirstPid, session, table),
                FileKind.Socket => OpenSocket(d, session, table),
                FileKind.Terminal => Terminals.OpenDescription(d, session),
                _ => OpenFileDescription(d.First, d.FirstPid, table),
            };
        Pipes.Seal(session);
        table.Prepared = true;
    }

    /// <summary>
    /// A copy of cryo's <paramref name="mine"/> for a description the user names with --inherit-fd:
    /// the very description (an end of the pipe cryo's caller set up, say), with its status flags
    /// as they are, since they are shared with whoever else holds it.
    /// </summary>
    private static int Inherit(Description d, int mine, FileTable table)
    {
        string what = $"pid {d.FirstPid} fd {d.First.Fd} ({Encoding.UTF8.GetString(d.First.Path)}), given cryo's fd {mine} (--inherit-fd)";
        int copy = Native.FcntlOrThrow(mine, Native.F_DUPFD_CLOEXEC, 0, what);
        int status = Native.FcntlOrThrow(copy, Native.F_GETFL, 0, what);
        if ((status & Native.O_ACCMODE) != ((int)d.First.OpenFlags & Native.O_ACCMODE))
        {
            Native.Close(copy);
            throw new InvalidOperationException($"{what}: that descriptor is open for {AccessName(status)}, the image's for {AccessName((int)d.First.OpenFlags)}");
        }
        if (status != (int)d.First.OpenFlags)
            table.Warn($"{what}: status flags are 0{Convert.ToString(status, 8)}, were 0{Convert.ToString(d.First.OpenFlags, 8)} (left as they are: the description is shared)");
        return copy;
    }

    private static string AccessName(int flags) => (flags & Native.O_ACCMODE) switch
    {
        Native.O_RDONLY => "reading",
        Native.O_WRONLY => "writing",
        _ => "reading and writing",
    };

    private static AnonymousKind? AnonymousKindOf(CheckpointItem? state) => AnonymousKinds.FirstOrDefault(k => k.Item == state?.GetType());

    private static string AnonymousLinkOf(CheckpointItem state) =>
        AnonymousKindOf(state)?.Link ?? throw new InvalidOperationException($"{state.Tag} is not the state of an anonymous-inode file");

    /// <summary>An eventfd, signalfd, timerfd, epoll or inotify instance or a pidfd made in cryo from the state item that followed the description's first FDES.</summary>
    private static int OpenAnonymous(Description d, FileTable table, RestoreSession session)
    {
        string what = $"pid {d.FirstPid} fd {d.First.Fd} ({Encoding.UTF8.GetString(d.First.Path)})";
        var kind = AnonymousKindOf(d.State)
            ?? throw new InvalidDataException($"image: {what} has no EVFD, SGFD, TMFD, EPOL, INOT or PIDF item after its FDES, so there is nothing to make it from");
        int local = kind.Open(d.State!, d.First, what, table, session);
        WarnIfFlagsDiffer(local, d.First.OpenFlags, what, table);
        return local;
    }

    /// <summary>
    /// Reopens a regular file, directory or memory device with its recorded status flags (never
    /// creating or truncating anything) at its recorded offset. A missing file is an error; a
    /// different file at the path, or a file now shorter than the offset, a warning.
    /// </summary>
    private static int OpenFileDescription(FileDescriptor fd, int pid, FileTable table)
    {
        string what = $"pid {pid} fd {fd.Fd} ({fd.Kind} {Encoding.UTF8.GetString(fd.Path)})";
        int flags = ((int)fd.OpenFlags & ~(Native.O_CREAT | Native.O_TRUNC | Native.O_EXCL | Native.O_NOCTTY)) | Native.O_CLOEXEC;
        int result = Native.OpenBytes(fd.Path, flags, 0, out int errno);
        if (result < 0)
        {
            if (errno == ErrnoNames.ENOENT) throw new InvalidOperationException($"{what}: the file no longer exists");
            throw new SysCallException("open", errno, what);
        }
        try
        {
            var now = Native.Fstat(result, what);
            if (now.Type != (fd.Mode & FileStatus.S_IFMT))
                throw new InvalidOperationException($"{what}: the path is now a different kind of file (mode 0{Convert.ToString(now.Mode, 8)}, was 0{Convert.ToString(fd.Mode, 8)})");
            if (fd.Kind == FileKind.CharDevice && now.RawDevice != fd.RawDevice)
                throw new InvalidOperationException($"{what}: the path is now device {FileStatus.Major(now.RawDevice)}:{FileStatus.Minor(now.RawDevice)}, was {FileStatus.Major(fd.RawDevice)}:{FileStatus.Minor(fd.RawDevice)}");
            // A /proc file (the restored process's own /proc/PID/status, say) is the same file
            // with a new inode, and its size says 0 whatever it holds: nothing to warn about.
            bool procfs = Native.FileSystemType(result) == Native.PROC_SUPER_MAGIC;
            if (fd.Kind != FileKind.CharDevice && !procfs && (now.Device != fd.Device || now.Inode != fd.Inode))
                table.Warn($"{what}: the path now names a different file (device {now.Device:x} inode {now.Inode}, was {fd.Device:x} inode {fd.Inode})");
            if (fd.Kind == FileKind.Regular && !procfs && fd.Offset > now.Size)
                table.Warn($"{what}: the file is {now.Size} bytes now, shorter than the saved offset {fd.Offset}");
            if (fd.Offset != 0 && fd.Kind is FileKind.Regular or FileKind.Directory && ((int)fd.OpenFlags & Native.O_PATH) == 0
                && Native.Lseek(result, fd.Offset, Native.SEEK_SET) != fd.Offset)
                throw new SysCallException("lseek", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what} to offset {fd.Offset}");
            WarnIfFlagsDiffer(result, fd.OpenFlags, what, table);
            return result;
        }
        catch
        {
            Native.Close(result);
            throw;
        }
    }

    /// <summary>Warns when a description made again has other status flags than the image's (what a reopen or a new pair cannot give).</summary>
    private static void WarnIfFlagsDiffer(int local, uint wanted, string what, FileTable table)
    {
        int status = Native.FcntlOrThrow(local, Native.F_GETFL, 0, what);
        if (status != (int)wanted)
            table.Warn($"{what}: status flags are 0{Convert.ToString(status, 8)}, were 0{Convert.ToString(wanted, 8)}");
    }

    /// <summary>cryo's end of a Unix socket pair made again (<see cref="UnixSockets"/>), with the recorded status flags.</summary>
    private static int OpenSocket(Description d, RestoreSession session, FileTable table)
    {
        string what = $"pid {d.FirstPid} fd {d.First.Fd} ({Encoding.UTF8.GetString(d.First.Path)})";
        // Before the first socket of all: a listener may take an abstract name a named pair needs for an instant.
        UnixSockets.MakeNamedPairs(session);
        int local = d.State switch
        {
            UnixSocket socket => UnixSockets.Open(socket, d.FirstPid, session),
            InetSocket listener => InetSockets.Open(listener, d.FirstPid, what, table.Warn),
            InetDatagramSocket datagrams => UdpSockets.Open(datagrams, what),
            UnixListener listener => UnixListeners.Open(listener, what),
            _ => throw new InvalidDataException($"image: {what} has no USCK, ULSN, ISCK or UDPS item after its FDES, so there is nothing to make it from"),
        };
        try
        {
            if (Native.FcntlOrThrow(local, Native.F_GETFL, 0, what) != (int)d.First.OpenFlags)
                Native.FcntlOrThrow(local, Native.F_SETFL, (int)d.First.OpenFlags, what);
            WarnIfFlagsDiffer(local, d.First.OpenFlags, what, table);
            return local;
        }
        catch
        {
            Native.Close(local);
            throw;
        }
    }

    /// <summary>
    /// A new open file description of a memfd or deleted file made by <see cref="PathlessFiles"/>:
    /// opened through cryo's descriptor of it in /proc/self/fd (as a program reopens a memfd),
    /// with the recorded status flags, at the recorded offset.
    /// </summary>
    private static int OpenPathlessDescription(FileDescriptor fd, int pid, RestoreSession session, FileTable table)
    {
        string what = $"pid {pid} fd {fd.Fd} ({Encoding.UTF8.GetString(fd.Path)})";
        int local = PathlessFiles.LocalFd(session, fd.Device, fd.Inode, readOnly: false, what);
        // O_TMPFILE (which holds O_DIRECTORY) made the file: a reopen of it is of a regular file.
        int flags = ((int)fd.OpenFlags & ~(Native.O_CREAT | Native.O_TRUNC | Native.O_EXCL | Native.O_NOCTTY | Native.O_TMPFILE)) | Native.O_CLOEXEC;
        int result = PathlessFiles.TakeTmpfileDescription(session, fd.Device, fd.Inode, fd.OpenFlags, what) ?? Native.Open($"/proc/self/fd/{local}", flags, 0);
        if (result < 0)
            throw new SysCallException("open", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what}: opening it again through cryo's fd {local} with flags 0{Convert.ToString(flags, 8)}");
        try
        {
            const int settable = Native.O_APPEND | Native.O_NONBLOCK | Native.O_ASYNC | Native.O_DIRECT | Native.O_NOATIME;
            if ((Native.FcntlOrThrow(result, Native.F_GETFL, 0, what) & settable) != (flags & settable))
                Native.FcntlOrThrow(result, Native.F_SETFL, flags & settable, what);
            if (fd.Offset != 0 && Native.Lseek(result, fd.Offset, Native.SEEK_SET) != fd.Offset)
                throw new SysCallException("lseek", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{what} to offset {fd.Offset}");
            WarnIfFlagsDiffer(result, fd.OpenFlags, what, table);
            return result;
        }
        catch
        {
            Native.Close(result);
            throw;
        }
    }

    /// <summary>
    /// Makes the process's descriptor table exactly the image's: close every fd the image does not
    /// have (the stub's 0-2, leftovers); then per description a copy of cryo's
    /// (<see cref="FdTransfer"/>: pidfd_getfd, or a reopen through /proc), which lands close-on-exec
    /// at the lowest free number, dup3 onto the wanted number (O_CLOEXEC only if the image says so)
    /// and close the temporary. A further descriptor of a description already installed in this
    /// process is a dup3 of the first. cryo's copy of a description is closed after its last install.
    /// </summary>
    internal static void Install(RestoringProcess process, IReadOnlyList<FileDescriptor> items, FileTable table, RestoreSession session)
    {
        int pid = process.Pid;
        var sys = process.Syscalls;
        var wanted = items.Select(i => i.Fd).ToHashSet();
        var transfer = FdTransfer.Of(process);
        transfer.Release(process);
        // The pidfd of cryo that pidfd_getfd needs must not take a number the image wants: it goes
        // in the lowest gap, which is below the image's highest number unless there is none (a
        // number above them all could be past the limit on open files, which the image's may fill).
        transfer.PidfdFloor = Enumerable.Range(0, wanted.Count + 1).First(n => !wanted.Contains(n));
        Limits.RaiseOpenFiles(process, Math.Max(transfer.PidfdFloor, wanted.Count == 0 ? 0 : wanted.Max()) + 1);
        try
        {
            foreach (int stale in OpenFds(pid))
                if (!wanted.Contains(stale))
                    sys.Checked($"close(fd {stale} not in the image)", SyscallNumbers.Close, stale);

            var installedAt = new Dictionary<ulong, int>();
            foreach (var item in items.OrderBy(i => i.Fd))
            {
                var description = table.Descriptions[item.DescriptionId];
                bool cloexec = (item.FdFlags & FileDescriptor.CloseOnExec) != 0;
                string what = $"fd {item.Fd} ({item.Kind} {Encoding.UTF8.GetString(item.Path)})";
                if (installedAt.TryGetValue(item.DescriptionId, out int sibling))
                    sys.Checked($"dup3 for {what}", SyscallNumbers.Dup3, sibling, item.Fd, cloexec ? Native.O_CLOEXEC : 0);
                else
                {
                    if (description.Fd < 0) throw new InvalidOperationException($"pid {pid} {what}: its description was not prepared");
                    // An anonymous inode cannot be opened through /proc: only the description itself will do.
                    int temporary = Terminals.OpenDevTtyInProcess(process, item, session);
                    if (temporary < 0)
                    {
                        temporary = transfer.Copy(process, description.Fd, $"pid {pid} {what}", out var reopened, reopenable: item.Kind is not (FileKind.AnonInode or FileKind.Socket));
                        if (reopened is not null) WarnReopened(table, session, item, reopened);
                    }
                    if (temporary == item.Fd)
                        sys.Checked($"fcntl(F_SETFD) for {what}", SyscallNumbers.Fcntl, item.Fd, Native.F_SETFD, cloexec ? Native.FD_CLOEXEC : 0);
                    else
                    {
                        sys.Checked($"dup3 for {what}", SyscallNumbers.Dup3, temporary, item.Fd, cloexec ? Native.O_CLOEXEC : 0);
                        sys.Checked("close (temporary)", SyscallNumbers.Close, temporary);
                    }
                    installedAt[item.DescriptionId] = item.Fd;
                }
                if (((int)item.OpenFlags & Native.O_ASYNC) != 0 && installedAt[item.DescriptionId] == item.Fd) RegisterAsync(process, item, what);
                if (process.State<ProcessFiles>().Owners.TryGetValue(item.Fd, out var owner)) SetOwner(process, owner, what);
                if (process.State<ProcessFiles>().Locks.TryGetValue(item.Fd, out var locks))
                    foreach (var held in locks) TakeLock(process, held, what);
                if (--description.Pending == 0) description.Close();
            }
        }
        finally
        {
            transfer.Release(process);
            transfer.PidfdFloor = 0;
        }

        // Every watched number is in place now.
        foreach (var epoll in process.State<ProcessFiles>().Watches)
            EventPolls.AddWatches(process, epoll, $"fd {epoll.File.Fd} (epoll)");

        var now = OpenFds(pid);
        if (!now.ToHashSet().SetEquals(wanted))
            throw new InvalidOperationException(
                $"pid {pid}: after installing, its descriptors are [{string.Join(' ', now)}], the image has [{string.Join(' ', wanted.Order())}]");
    }

    /// <summary>
    /// An O_ASYNC description keeps the descriptor number it was made O_ASYNC through, and its
    /// signals carry that number as si_fd: cryo's own copy, or the temporary one of the install.
    /// Clearing and setting O_ASYNC again through the final number registers that one.
    /// </summary>
    private static void RegisterAsync(RestoringProcess process, FileDescriptor item, string what)
    {
        long flags = item.OpenFlags;
        process.Syscalls.Checked($"fcntl(F_SETFL without O_ASYNC) for {what}", SyscallNumbers.Fcntl, item.Fd, Native.F_SETFL, flags & ~Native.O_ASYNC);
        process.Syscalls.Checked($"fcntl(F_SETFL with O_ASYNC) for {what}", SyscallNumbers.Fcntl, item.Fd, Native.F_SETFL, flags);
    }

    /// <summary>
    /// Takes a saved lock again through the installed descriptor, inside the process (a POSIX
    /// lock belongs to the process that takes it), without waiting: if someone else holds a
    /// conflicting lock now (the original left running, another program), the restore fails and
    /// says so rather than wait or come back without it.
    /// </summary>
    private static void TakeLock(RestoringProcess process, FileLock held, string what)
    {
        const long Flock = 73, LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, F_SETLK = 6, F_OFD_SETLK = 37, F_RDLCK = 0, F_WRLCK = 1;
        string lockName = held.Kind switch
        {
            FileLockKind.Flock => $"flock {(held.Exclusive ? "LOCK_EX" : "LOCK_SH")}",
            _ => $"{(held.Kind == FileLockKind.Posix ? "F_SETLK" : "F_OFD_SETLK")} {(held.Exclusive ? "F_WRLCK" : "F_RDLCK")} " +
                 $"bytes {held.Start}{(held.Length == 0 ? "-EOF" : $"+{held.Length}")}",
        };
        long result;
        if (held.Kind == FileLockKind.Flock)
            result = process.Syscalls.Invoke(Flock, held.Fd, (held.Exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
        else
        {
            // struct flock: l_type, l_whence (SEEK_SET 0), l_start, l_len, l_pid (0).
            var scratch = process.ScratchFor(lockName);
            Span<byte> raw = stackalloc byte[32];
            raw.Clear();
            BitConverter.TryWriteBytes(raw, (short)(held.Exclusive ? F_WRLCK : F_RDLCK));
            BitConverter.TryWriteBytes(raw[8..], (long)held.Start);
            BitConverter.TryWriteBytes(raw[16..], (long)held.Length);
            scratch.Write(0, raw);
            result = process.Syscalls.Invoke(SyscallNumbers.Fcntl, held.Fd, held.Kind == FileLockKind.Posix ? F_SETLK : F_OFD_SETLK, (long)scratch.Address);
        }
        if (result >= 0) return;
        int errno = (int)-result;
        if (errno is ErrnoNames.EAGAIN or ErrnoNames.EACCES)
            throw new InvalidOperationException(
                $"pid {process.Pid} {what}: cannot take its lock again ({lockName}): someone holds a conflicting lock now " +
                "(the original, if it was left running, or another program)");
        throw new SysCallException($"{lockName} (injected)", errno, $"pid {process.Pid} {what}");
    }

    /// <summary>
    /// Gives the installed descriptor's description its I/O signal and owner again (F_SETSIG,
    /// F_SETOWN_EX), by injected fcntl calls: a reopened copy is a description of its own, and the
    /// owner must exist (every process of the image does by now; threads of later processes do not).
    /// </summary>
    private static void SetOwner(RestoringProcess process, FileOwner owner, string what)
    {
        var sys = process.Syscalls;
        var scratch = process.ScratchFor("F_SETOWN_EX");
        if (owner.Signal != 0) sys.Checked($"fcntl(F_SETSIG {owner.Signal}) for {what}", SyscallNumbers.Fcntl, owner.Fd, Native.F_SETSIG, owner.Signal);
        if (owner.Owner == 0) return;
        Span<byte> raw = stackalloc byte[8];
        BitConverter.TryWriteBytes(raw, (int)owner.Kind);
        BitConverter.TryWriteBytes(raw[4..], owner.Owner);
        scratch.Write(0, raw);
        sys.Checked($"fcntl(F_SETOWN_EX {owner.Kind} {owner.Owner}) for {what}", SyscallNumbers.Fcntl, owner.Fd, Native.F_SETOWN_EX, (long)scratch.Address);
    }

    /// <summary>
    /// What a reopened copy (a new open file description) loses, said once per description:
    /// where the image shares the description between processes, each now has its own, so the
    /// offset and status flags are no longer shared (within a process the dup3 above still shares
    /// it); and status flags a reopen cannot give (O_LARGEFILE on a pipe2 end, O_DIRECT on a pipe).
    /// </summary>
    private static void WarnReopened(FileTable table, RestoreSession session, FileDescriptor item, FdTransfer.Reopening reopened)
    {
        var holders = table.All.Where(e => e.Item.DescriptionId == item.DescriptionId).ToList();
        var lost = new List<string>();
        if (holders.Select(h => h.Pid).Distinct().Count() > 1)
            lost.Add("the processes shared one open file description and now each has its own: the file offset and status flags are no longer shared between them");
        if (reopened.StatusFlags != reopened.OriginalFlags)
            lost.Add($"status flags are 0{Convert.ToString(reopened.StatusFlags, 8)}, were 0{Convert.ToString(reopened.OriginalFlags, 8)}");
        if (lost.Count == 0 || !table.ReopenWarned.Add(item.DescriptionId)) return;
        session.Warn($"{string.Join(", ", holders.Select(h => $"pid {h.Pid} fd {h.Item.Fd}"))} ({item.Kind} {Encoding.UTF8.GetString(item.Path)}): " +
                     $"without pidfd_getfd reopened through {reopened.Path}: {string.Join("; ", lost)}");
    }

    private static List<int> OpenFds(int pid) =>
        [.. Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Select(e => int.Parse(Path.GetFileName(e), CultureInfo.InvariantCulture)).Order()];
}
