using System.Runtime.InteropServices;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// Anonymous pipes and named FIFOs. Dump: <see cref="Files"/> hands every pipe or FIFO
/// descriptor to <see cref="DumpEnd"/>, which records the pipe id (the pipe inode) and, the first
/// time a pipe is seen, its unread contents (tee into a private pipe: nothing is consumed; or
/// drain and write back). The contents go into the FIFO section (<see cref="WriteFifoSection"/>).
/// Restore: FINF creates the pipe in cryo (pipe2, or an O_RDWR open of the FIFO node) and FBUF
/// fills it; <see cref="Files"/> then asks <see cref="OpenDescription"/> for each open file
/// description the processes held, <see cref="Seal"/> checks the contents and closes cryo's own
/// ends, and Files installs the descriptions. See docs/engine-files.md.
/// </summary>
internal sealed class Pipes : IResourceKind
{
    // Status flags F_SETFL can change (fs/fcntl.c SETFL_MASK). O_DIRECT is accepted on a pipe but
    // ignored (seen here): packet mode comes from pipe2(O_DIRECT) only.
    internal const int SettableFlags = Native.O_APPEND | Native.O_NONBLOCK | Native.O_ASYNC | Native.O_DIRECT | Native.O_NOATIME;

    public string Name => "Pipes";

    /// <summary>The pipes of a process are read through <see cref="Files"/>; this kind writes the FIFO section instead.</summary>
    public IDumpedResource Dump(FrozenProcess process, DumpSession session) => new DumpedItems([]);

    public bool Handles(CheckpointItem item) => item is PipeInfo or PipeData;

    // ---------------------------------------------------------------- dump

    /// <summary>
    /// The FDES of pipe or FIFO descriptor <paramref name="end"/>; snapshots the pipe's contents
    /// into <paramref name="session"/> the first time the pipe is seen. <paramref name="all"/> are
    /// all descriptors of the process (the drain strategy may need one of its O_DIRECT write ends).
    /// </summary>
    internal FileDescriptor DumpEnd(FrozenProcess process, DumpSession session, Files.DumpRegistry registry,
        OpenFile end, IReadOnlyList<OpenFile> all, ulong descriptionId)
    {
        var kind = end.Kind;
        ulong pipeId = registry.PipeIdOf(end.Status.Device, end.Status.Inode);
        bool writerHasODirect = all.Any(f => SamePipe(f, end) && (f.OpenFlags & Native.O_ACCMODE) != Native.O_RDONLY && (f.OpenFlags & Native.O_DIRECT) != 0);
        if (kind == FileKind.Pipe) session.AnonymousPipes.Add(System.Text.Encoding.UTF8.GetString(end.Link));
        if (!session.Pipes.TryGetValue(pipeId, out var snapshot))
        {
            snapshot = session.Options.PipeStrategy == PipeDumpStrategy.Drain
                ? Drain(process, end, all, pipeId, writerHasODirect)
                : Tee(process, end, pipeId, writerHasODirect);
            session.Pipes[pipeId] = snapshot;
            session.PipeOrder.Add(pipeId);
        }
        else if (writerHasODirect && !snapshot.Info.Packetized)
        {
            // A write end seen in a later process is in packet mode: future writes keep boundaries.
            // The chunks read so far are then the packets (each read of packet data returns one).
            session.Pipes[pipeId] = snapshot with { Info = snapshot.Info with { Packetized = true } };
        }
        return new FileDescriptor(end.Fd, kind, end.FdFlags, (uint)end.OpenFlags, 0, end.Status.Mode,
            end.Status.Device, end.Status.Inode, end.Status.RawDevice, descriptionId, pipeId, end.Link);
    }

    /// <summary>Writes the FIFO section: each pipe's FINF followed by its FBUF items. Nothing when no pipe was seen.</summary>
    public void WriteFifoSection(CheckpointWriter w, DumpSession s)
    {
        if (s.PipeOrder.Count == 0) return;
        w.BeginSection(ItemKinds.Fifo);
        foreach (ulong id in s.PipeOrder)
        {
            var snapshot = s.Pipes[id];
            w.Write(snapshot.Info);
            foreach (var chunk in snapshot.Chunks) w.WritePipeData(id, chunk);
        }
        w.EndSection(ItemKinds.Fifo);
    }

    private static bool SamePipe(OpenFile a, OpenFile b) =>
        a.Kind is FileKind.Pipe or FileKind.Fifo && a.Status.Device == b.Status.Device && a.Status.Inode == b.Status.Inode;

    /// <summary>
    /// The design's way: open the pipe again through /proc (a new reader, O_NONBLOCK), count the
    /// bytes (FIONREAD) and copy them without consuming anything (<see cref="TeeCopy"/>). The
    /// original's buffers are only referenced, never consumed.
    /// </summary>
    private static PipeSnapshot Tee(FrozenProcess process, OpenFile end, ulong pipeId, bool writerHasODirect)
    {
        string where = Where(process.Pid, end);
        int source = OpenProcFd(process.Pid, end, Native.O_RDONLY);
        try
        {
            int count = Native.BytesQueued(source, where);
            int capacity = Native.FcntlOrThrow(source, Native.F_GETPIPE_SZ, 0, where);
            if (count == 0) return Snapshot(pipeId, end, capacity, [], writerHasODirect);
            var (chunks, packets) = TeeCopy(process.Pid, end, source, count, capacity, where);
            return Snapshot(pipeId, end, capacity, chunks, writerHasODirect || packets);
        }
        finally
        {
            Native.Close(source);
        }
    }

    /// <summary>
    /// The <paramref name="count"/> unread bytes of <paramref name="source"/>, nothing consumed:
    /// one tee() into a private pipe, then a marker byte behind the copy through the private pipe's
    /// plain (stream) write end, then reads of the private pipe with a buffer of everything left.
    /// tee copies each buffer's packet flag (seen here) and a read stops after a packet buffer,
    /// while a stream's read runs on into the next buffers: so each read is one packet, or the
    /// stream with the marker at its end, and even a lone packet (a packet pipe whose O_DIRECT
    /// writer is gone) is told from a stream. The marker needs a free slot, so the private pipe
    /// gets twice the capacity where pipe-max-size allows; without the marker (a completely full
    /// pipe of the largest size) more than one read still means packets.
    /// </summary>
    private static (List<byte[]> Chunks, bool Packets) TeeCopy(int pid, OpenFile end, int source, int count, int capacity, string where)
    {
        var (privateRead, privateWrite) = PrivatePipe(capacity, where, spareSlot: true);
        try
        {
            nint copied = Native.Tee(source, privateWrite, (nuint)count, Native.SPLICE_F_NONBLOCK);
            if (copied < 0) throw new SysCallException("tee", Marshal.GetLastPInvokeError(), where);
            if (copied != count)
                throw new UnsupportedResourceException(pid, Describe(end),
                    $"tee copied {copied} of {count} unread bytes into a private pipe of {capacity} bytes");
            bool marked = WriteMarker(privateWrite, where);
            Native.Close(privateWrite);
            privateWrite = -1;
            var chunks = ReadChunks(privateRead, count + (marked ? 1 : 0), where);
            if (!marked) return (chunks, chunks.Count > 1);
            if (chunks[^1].Length == 1 && chunks.Count > 1 && chunks.Take(chunks.Count - 1).Sum(c => c.Length) == count)
            {
                chunks.RemoveAt(chunks.Count - 1); // the marker alone: the data ended with a packet
                return (chunks, true);
            }
            chunks[^1] = chunks[^1][..^1]; // a stream's last read ran on into the marker
            return (chunks, chunks.Count > 1);
        }
        finally
        {
            Native.Close(privateRead);
            if (privateWrite >= 0) Native.Close(privateWrite);
        }
    }

    /// <summary>Writes one byte into a private pipe; false if it has no free slot (EAGAIN).</summary>
    private static unsafe bool WriteMarker(int fd, string where)
    {
        byte marker = 0;
        nint written = Native.Write(fd, &marker, 1);
        if (written == 1) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (written < 0 && errno == ErrnoNames.EAGAIN) return false;
        throw new SysCallException("write (marker into a private pipe)", errno, where);
    }

    /// <summary>
    /// The seed's way done right: read exactly the FIONREAD count through a new reader, check the
    /// pipe is then empty, write everything back, check the count again. Packet boundaries can
    /// only be written back through an O_DIRECT description (F_SETFL cannot set it on a pipe and
    /// an open of /proc/PID/fd/N with O_DIRECT fails with EINVAL, seen here), so a packet pipe is
    /// written back through a copy (pidfd_getfd, <see cref="FdTransfer.FromProcess"/>) of the
    /// process's own O_DIRECT write end, taken before anything is read. Without one (no such end,
    /// or no pidfd_getfd), a pipe holding packets is refused before anything is read
    /// (<see cref="TeeCopy"/> tells).
    /// </summary>
    private static PipeSnapshot Drain(FrozenProcess process, OpenFile end, IReadOnlyList<OpenFile> all, ulong pipeId, bool writerHasODirect)
    {
        string where = Where(process.Pid, end);
        int source = OpenProcFd(process.Pid, end, Native.O_RDONLY);
        int sink = -1;
        try
        {
            int count = Native.BytesQueued(source, where);
            int capacity = Native.FcntlOrThrow(source, Native.F_GETPIPE_SZ, 0, where);
            if (count == 0) return Snapshot(pipeId, end, capacity, [], writerHasODirect);

            // Packets can only be written back through the process's own O_DIRECT write end, copied
            // with pidfd_getfd (a reopen cannot be O_DIRECT): take it before anything is consumed.
            // Without such an end, find out first (a tee copy) whether there are any packets.
            // A FIFO never holds packets: open() refuses O_DIRECT, so no writer can be in packet mode.
            var writer = all.FirstOrDefault(f => SamePipe(f, end) && (f.OpenFlags & Native.O_DIRECT) != 0 && (f.OpenFlags & Native.O_ACCMODE) != Native.O_RDONLY);
            if (writer is not null) sink = FdTransfer.FromProcess(process.Pid, writer.Fd);
            if (writer is not null && sink < 0)
                throw new UnsupportedResourceException(process.Pid, Describe(end),
                    $"the pipe is in packet mode (fd {writer.Fd} is an O_DIRECT write end) and pidfd_getfd is missing, so cryo cannot " +
                    "write the packets back through that end (a reopen through /proc cannot be O_DIRECT); nothing was drained: use --pipe-dump tee");
            if (writer is null && end.Kind == FileKind.Pipe && TeeCopy(process.Pid, end, source, count, capacity, where).Packets)
                throw new UnsupportedResourceException(process.Pid, Describe(end),
                    $"the pipe holds {count} bytes in packets (O_DIRECT) and the process has no O_DIRECT write end to write them " +
                    "back with their boundaries; nothing was drained: use --pipe-dump tee");
            var chunks = ReadChunks(source, count, where);
            bool packets = chunks.Count > 1 || writerHasODirect;
            try
            {
                int left = Native.BytesQueued(source, where);
                if (left != 0) throw new InvalidOperationException($"{where}: {left} bytes remained after reading the {count} counted");
                if (packets && sink < 0)
                    throw new InvalidOperationException(
                        $"{where}: the drained packets cannot be written back with their boundaries (no O_DIRECT write end in pid {process.Pid}); use the tee strategy");
                if (sink < 0) sink = OpenProcFd(process.Pid, end, Native.O_WRONLY); // we hold a reader: no ENXIO
                // One write per packet; a stream in one write, so it lands in whole pages.
                foreach (var chunk in chunks) WriteAll(sink, chunk, packets, where);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException(
                    $"{where}: writing back the {count} drained bytes failed; the process may have lost pipe data: {e.Message}", e);
            }
            int after = Native.BytesQueued(source, where);
            if (after != count) throw new InvalidOperationException($"{where}: the pipe holds {after} bytes after the write-back, expected {count}");
            return Snapshot(pipeId, end, capacity, chunks, packets);
        }
        finally
        {
            Native.Close(source);
            if (sink >= 0) Native.Close(sink);
        }
    }

    private static PipeSnapshot Snapshot(ulong pipeId, OpenFile end, int capacity, List<byte[]> chunks, bool packetized)
    {
        ulong total = (ulong)chunks.Sum(c => (long)c.Length);
        var kind = end.Kind == FileKind.Fifo ? PipeKind.Named : PipeKind.Anonymous;
        return new PipeSnapshot(new PipeInfo(pipeId, kind, packetized, (uint)capacity, total), chunks);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; each read() result is one chunk (one packet in packet mode).</summary>
    private static unsafe List<byte[]> ReadChunks(int fd, int count, string where)
    {
        var chunks = new List<byte[]>();
        var buffer = new byte[count];
        int total = 0;
        fixed (byte* b = buffer)
        {
            while (total < count)
            {
                nint read = Native.Read(fd, b + total, (nuint)(count - total));
                if (read < 0) throw new SysCallException("read", Marshal.GetLastPInvokeError(), $"{where} after {total} of {count} bytes");
                if (read == 0) throw new InvalidOperationException($"{where}: end of data after {total} of {count} counted bytes");
                chunks.Add(buffer.AsSpan(total, (int)read).ToArray());
                total += (int)read;
            }
        }
        return chunks;
    }

    private static unsafe void WriteAll(int fd, ReadOnlySpan<byte> data, bool onePacket, string where)
    {
        fixed (byte* b = data)
        {
            int done = 0;
            do
            {
                nint written = Native.Write(fd, b + done, (nuint)(data.Length - done));
                if (written < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    string why = errno == ErrnoNames.EAGAIN ? "the pipe is full (the data does not fit its capacity)" : ErrnoNames.Name(errno);
                    throw new InvalidOperationException($"{where}: write of {data.Length - done} bytes after {done}: {why}");
                }
                if (onePacket && written != data.Length)
                    throw new InvalidOperationException($"{where}: a packet of {data.Length} bytes was written as {written}");
                done += (int)written;
            } while (done < data.Length);
        }
    }

    /// <summary>A pipe of cryo's own; with <paramref name="spareSlot"/> twice <paramref name="capacity"/> if the system allows, else exactly it.</summary>
    private static (int Read, int Write) PrivatePipe(int capacity, string where, bool spareSlot = false)
    {
        var (r, w) = NewPipe(Native.O_NONBLOCK | Native.O_CLOEXEC, where);
        try
        {
            if (!spareSlot || capacity > int.MaxValue / 2 || Native.Fcntl(w, Native.F_SETPIPE_SZ, capacity * 2) < capacity * 2)
                SetCapacity(w, capacity, where);
            return (r, w);
        }
        catch
        {
            Native.Close(r);
            Native.Close(w);
            throw;
        }
    }

    private static unsafe (int Read, int Write) NewPipe(int flags, string where)
    {
        int* fds = stackalloc int[2];
        if (Native.Pipe2(fds, flags) != 0) throw new SysCallException("pipe2", Marshal.GetLastPInvokeError(), where);
        return (fds[0], fds[1]);
    }

    /// <summary>F_SETPIPE_SZ; without CAP_SYS_RESOURCE (not in this machine's bounding set) at most /proc/sys/fs/pipe-max-size.</summary>
    private static void SetCapacity(int fd, int capacity, string where)
    {
        if (Native.FcntlOrThrow(fd, Native.F_GETPIPE_SZ, 0, where) == capacity) return;
        int result = Native.Fcntl(fd, Native.F_SETPIPE_SZ, capacity);
        if (result < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string max = File.Exists("/proc/sys/fs/pipe-max-size") ? File.ReadAllText("/proc/sys/fs/pipe-max-size").Trim() : "?";
            throw new SysCallException($"fcntl(F_SETPIPE_SZ, {capacity})", errno,
                $"{where} (pipe-max-size is {max}; larger pipes need CAP_SYS_RESOURCE)");
        }
        if (result != capacity) throw new InvalidOperationException($"{where}: F_SETPIPE_SZ({capacity}) gave {result}");
    }

    private static int OpenProcFd(int pid, OpenFile end, int access)
    {
        string path = $"/proc/{pid}/fd/{end.Fd}";
        int fd = Native.Open(path, access | Native.O_NONBLOCK | Native.O_CLOEXEC, 0);
        if (fd < 0) throw new SysCallException("open", Marshal.GetLastPInvokeError(), $"{path} ({Describe(end)} of pid {pid})");
        return fd;
    }

    private static string Describe(OpenFile end) => $"fd {end.Fd} ({(end.Kind == FileKind.Fifo ? "FIFO" : "pipe")} {Encoding.UTF8.GetString(end.Link)})";
    private static string Where(int pid, OpenFile end) => $"pid {pid} {Describe(end)}";

    // ---------------------------------------------------------------- restore

    /// <summary>The pipes of one restore, created at their FINF, filled by FBUF, sealed before the first install.</summary>
    internal sealed class PipeTable : IDisposable
    {
        public Dictionary<ulong, RestoredPipe> Pipes { get; } = [];
        public ulong? Current { get; set; }
        public bool Sealed { get; set; }

        public void Dispose()
        {
            foreach (var pipe in Pipes.Values) pipe.CloseOwnEnds();
        }
    }

    internal sealed class RestoredPipe(PipeInfo info, string description)
    {
        public PipeInfo Info { get; } = info;
        public string Description { get; } = description;

        /// <summary>cryo's ends of an anonymous pipe; for a FIFO both are one O_RDWR description.</summary>
        public int ReadFd { get; set; } = -1;
        public int WriteFd { get; set; } = -1;
        public byte[] Path { get; set; } = [];
        public bool ReadEndClaimed { get; set; }
        public bool WriteEndClaimed { get; set; }
        public ulong Written { get; set; }
        public int Packets { get; set; }

        public void CloseOwnEnds()
        {
            if (ReadFd >= 0) Native.Close(ReadFd);
            if (WriteFd >= 0 && WriteFd != ReadFd) Native.Close(WriteFd);
            ReadFd = WriteFd = -1;
        }
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        var table = session.State<PipeTable>();
        switch (item)
        {
            case PipeInfo info:
                if (table.Pipes.ContainsKey(info.PipeId)) throw new InvalidOperationException($"pipe id {info.PipeId} has two FINF items");
                table.Pipes[info.PipeId] = Create(info, session.State<Files.FileTable>());
                table.Current = info.PipeId;
                break;
            case PipeData data:
                if (table.Current != data.PipeId || !table.Pipes.TryGetValue(data.PipeId, out var pipe))
                    throw new InvalidOperationException($"FBUF of pipe id {data.PipeId} does not follow its FINF");
                Fill(pipe, data.Data.Span);
                break;
        }
    }

    /// <summary>Creates a FINF's pipe in cryo: pipe2 (O_DIRECT in packet mode) or the FIFO node opened O_RDWR; sets the capacity.</summary>
    private static RestoredPipe Create(PipeInfo info, Files.FileTable files)
    {
        var holder = files.FirstHolderOfPipe(info.PipeId);
        string what = holder is null ? $"pipe id {info.PipeId}" : $"{(info.Kind == PipeKind.Named ? "FIFO" : "pipe")} {Encoding.UTF8.GetString(holder.Value.Item.Path)} (pipe id {info.PipeId}, pid {holder.Value.Pid} fd {holder.Value.Item.Fd})";
        var pipe = new RestoredPipe(info, what);
        try
        {
            if (info.Kind == PipeKind.Anonymous)
            {
                var (r, w) = NewPipe(Native.O_NONBLOCK | Native.O_CLOEXEC | (info.Packetized ? Native.O_DIRECT : 0), what);
                pipe.ReadFd = r;
                pipe.WriteFd = w;
            }
            else
            {
                if (holder is null) throw new InvalidOperationException($"{what}: a named FIFO that no descriptor refers to has no path");
                pipe.Path = holder.Value.Item.Path;
                int fd = OpenFifoNode(holder.Value.Item, holder.Value.Pid, Native.O_RDWR, files);
                pipe.ReadFd = pipe.WriteFd = fd;
                int queued = Native.BytesQueued(fd, what);
                if (queued != 0)
                    throw new InvalidOperationException(
                        $"{what} already holds {queued} unread bytes: another process has it open (is the checkpointed process still running?)");
            }
            SetCapacity(pipe.WriteFd, (int)info.Capacity, what);
            return pipe;
        }
        catch
        {
            pipe.CloseOwnEnds();
            throw;
        }
    }

    /// <summary>
    /// Opens a FIFO node in cryo with O_NONBLOCK (so neither end waits for a partner). A missing
    /// node is recreated with mkfifo and the recorded permission bits (docs/engine-files.md); a
    /// node that is no longer a FIFO is refused; a different inode is reported as a warning.
    /// </summary>
    internal static int OpenFifoNode(FileDescriptor fd, int pid, int access, Files.FileTable files)
    {
        string what = $"pid {pid} fd {fd.Fd} (FIFO {Encoding.UTF8.GetString(fd.Path)})";
        var status = Native.TryStat(fd.Path, out int errno);
        if (status is null && errno == ErrnoNames.ENOENT)
        {
            int error = Native.MkFifo(fd.Path, fd.Mode & 0xFFF);
            if (error != 0 && error != ErrnoNames.EEXIST) throw new SysCallException("mkfifo", error, $"{what}: recreating the missing FIFO");
            // Under the identity key: the new node's other inode is no news after this warning.
            files.WarnOnce($"fifo-identity:{fd.PipeId}", $"{what}: the FIFO node was missing and has been recreated with mode 0{Convert.ToString(fd.Mode & 0xFFF, 8)}");
            status = Native.TryStat(fd.Path, out errno);
        }
        if (status is null) throw new SysCallException("stat", errno, what);
        if (status.Value.Type != FileStatus.S_IFIFO)
            throw new InvalidOperationException($"{what}: the path is no longer a FIFO (mode 0{Convert.ToString(status.Value.Mode, 8)})");
        if (status.Value.Inode != fd.Inode || status.Value.Device != fd.Device)
            files.WarnOnce($"fifo-identity:{fd.PipeId}", $"{what}: the FIFO at this path is a different node now (inode {status.Value.Inode}, was {fd.Inode})");
        int result = Native.OpenBytes(fd.Path, access | Native.O_NONBLOCK | Native.O_CLOEXEC, 0, out errno);
        if (result < 0) throw new SysCallException("open", errno, what);
        return result;
    }

    private static void Fill(RestoredPipe pipe, ReadOnlySpan<byte> data)
    {
        if (pipe.Written + (ulong)data.Length > pipe.Info.ByteCount)
            throw new InvalidOperationException($"{pipe.Description}: FBUF data exceeds the {pipe.Info.ByteCount} bytes its FINF announced");
        if (pipe.Info.Packetized && data.Length > Environment.SystemPageSize)
            throw new InvalidOperationException($"{pipe.Description}: a packet of {data.Length} bytes is larger than a page");
        // Packet mode: one write per packet keeps its boundary. A stream: one write per item lands
        // the data in whole pages (as the program's plain writes did), so a full pipe still fits.
        if (data.Length > 0) WriteAll(pipe.WriteFd, data, pipe.Info.Packetized, pipe.Description);
        pipe.Written += (ulong)data.Length;
        pipe.Packets++;
    }

    /// <summary>
    /// A new cryo fd for the open file description of pipe/FIFO descriptor <paramref name="fd"/>,
    /// with its status flags. The first read-only and write-only descriptions of an anonymous
    /// pipe are the pipe2 ends (no O_LARGEFILE, as pipe2 made them); further descriptions are
    /// reopened through /proc/self/fd (open() adds O_LARGEFILE, as it did for the original).
    /// </summary>
    internal static int OpenDescription(FileDescriptor fd, int pid, RestoreSession session)
    {
        var table = session.State<PipeTable>();
        if (!table.Pipes.TryGetValue(fd.PipeId, out var pipe))
            throw new InvalidOperationException($"pid {pid} fd {fd.Fd}: pipe id {fd.PipeId} has no FINF in the FIFO section");
        string what = $"pid {pid} fd {fd.Fd} ({pipe.Description})";
        int access = (int)fd.OpenFlags & Native.O_ACCMODE;
        int result;
        if (pipe.Info.Kind == PipeKind.Named)
            result = OpenFifoNode(fd, pid, access, session.State<Files.FileTable>());
        else if (access == Native.O_RDONLY && !pipe.ReadEndClaimed)
        {
            result = Native.FcntlOrThrow(pipe.ReadFd, Native.F_DUPFD_CLOEXEC, 0, what);
            pipe.ReadEndClaimed = true;
        }
        else if (access == Native.O_WRONLY && !pipe.WriteEndClaimed)
        {
            result = Native.FcntlOrThrow(pipe.WriteFd, Native.F_DUPFD_CLOEXEC, 0, what);
            pipe.WriteEndClaimed = true;
        }
        else
        {
            // cryo holds the read end, so even a write-only open finds a reader (no ENXIO).
            result = Native.Open($"/proc/self/fd/{pipe.ReadFd}", access | Native.O_NONBLOCK | Native.O_CLOEXEC, 0);
            if (result < 0) throw new SysCallException("open", Marshal.GetLastPInvokeError(), $"{what}: a further description of the pipe");
        }
        try
        {
            int wanted = (int)fd.OpenFlags;
            int current = Native.FcntlOrThrow(result, Native.F_GETFL, 0, what);
            if (((current ^ wanted) & SettableFlags) != 0)
                Native.FcntlOrThrow(result, Native.F_SETFL, (current & ~SettableFlags) | (wanted & SettableFlags), what);
            int now = Native.FcntlOrThrow(result, Native.F_GETFL, 0, what);
            if (now != wanted)
                session.State<Files.FileTable>().Warn($"{what}: status flags are 0{Convert.ToString(now, 8)}, were 0{Convert.ToString(wanted, 8)}");
            return result;
        }
        catch
        {
            Native.Close(result);
            throw;
        }
    }

    /// <summary>
    /// After every description has been opened: checks each pipe holds exactly the bytes its FINF
    /// announced and closes cryo's own ends, so an end no process held is open nowhere (EOF and
    /// EPIPE then behave as before the checkpoint). Idempotent.
    /// </summary>
    /// <summary>
    /// Processes outside the checkpointed tree (and other than cryo) that hold one of the
    /// anonymous pipes <paramref name="links"/> ("pipe:[N]"): `prog | cat` gives cat the read
    /// end of prog's stdout. A restore makes each pipe anew, and those holders stay with the old
    /// one, so the restored process writes to a pipe nobody reads (EPIPE) or reads one nobody
    /// writes. One message per pipe, naming the holders; read from /proc once the image is
    /// written, before the tree is killed. Processes that come and go meanwhile are skipped.
    /// </summary>
    internal static List<string> HeldOutside(IReadOnlySet<string> links, IReadOnlySet<int> tree)
    {
        var holders = new Dictionary<string, List<string>>();
        if (links.Count == 0) return [];
        foreach (string entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out int pid) || tree.Contains(pid) || pid == Environment.ProcessId) continue;
            try
            {
                foreach (string fd in Directory.EnumerateFileSystemEntries(Path.Combine(entry, "fd")))
                {
                    string? link = new FileInfo(fd).LinkTarget;
                    if (link is null || !links.Contains(link)) continue;
                    string comm = File.ReadAllText(Path.Combine(entry, "comm")).Trim();
                    (holders.TryGetValue(link, out var list) ? list : holders[link] = []).Add($"pid {pid} ({comm}) fd {Path.GetFileName(fd)}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // gone meanwhile
        }
        return [.. holders.Select(h =>
            $"{h.Key} is also held outside the checkpointed tree, by {string.Join(", ", h.Value)}: a restore makes the pipe anew " +
            "and they stay with the old one (a write to a pipe nobody reads fails with EPIPE, a read of one nobody writes ends at end of file); " +
            $"`cryo restore --inherit-fd '{h.Key}=FD'` gives the restored process cryo's FD instead")];
    }

    internal static void Seal(RestoreSession session)
    {
        var table = session.State<PipeTable>();
        if (table.Sealed) return;
        foreach (var pipe in table.Pipes.Values)
        {
            if (pipe.Written != pipe.Info.ByteCount)
                throw new InvalidOperationException($"{pipe.Description}: FBUF items hold {pipe.Written} bytes, the FINF announced {pipe.Info.ByteCount}");
            int queued = Native.BytesQueued(pipe.ReadFd, pipe.Description);
            if ((ulong)queued != pipe.Info.ByteCount)
                throw new InvalidOperationException($"{pipe.Description}: holds {queued} bytes after restore, expected {pipe.Info.ByteCount}");
            pipe.CloseOwnEnds();
        }
        table.Sealed = true;
    }

    /// <summary>Pipes are installed by <see cref="Files.Finish"/> (with every other descriptor); nothing is left per process.</summary>
    public void Finish(RestoringProcess process, RestoreSession session) => Seal(session);
}
