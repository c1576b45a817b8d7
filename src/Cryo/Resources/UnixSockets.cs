using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// Unix socket pairs (USCK, UDAT), for <see cref="Files"/>: both ends of a socketpair held in
/// the tree, with the bytes waiting in each end's receive queue. The dump reads the queue
/// without taking it (MSG_PEEK with SO_PEEK_OFF on a pidfd_getfd copy), the restore makes the
/// pair again in cryo and sends each end's bytes through the other end. Python's asyncio keeps
/// such a pair for its wake-ups, multiprocessing.Pipe() is one, and parents and children talk
/// through them. Named, listening or unconnected Unix sockets, other families, a peer outside the
/// tree and descriptors in flight are refused.
/// </summary>
internal static class UnixSockets
{
    private const int TcpListen = 10;
    // The largest message read in one peek: a datagram or seqpacket message is at most about the
    // sender's SO_SNDBUF, 208 KiB by default.
    private const int LargestMessage = 8 << 20;
    private const int MostMessages = 1 << 20;

    // Per checkpoint: which socket is held by which process of the tree, and which sockets'
    // queues are written already. Keyed by the session, so nothing outlives it.
    private static readonly ConditionalWeakTable<DumpSession, DumpRegistry> Registries = new();

    private sealed class DumpRegistry(DumpSession session)
    {
        private Dictionary<ulong, int>? holders;

        /// <summary>The queued byte count of each socket whose queue is written already (it goes into every USCK of the socket).</summary>
        public Dictionary<ulong, ulong> Queued { get; } = [];

        /// <summary>A process of the tree that holds the socket with this inode, or null.</summary>
        public int? HolderOf(ulong inode)
        {
            holders ??= ReadHolders(session.TreePids);
            return holders.TryGetValue(inode, out int pid) ? pid : null;
        }

        private static Dictionary<ulong, int> ReadHolders(IEnumerable<int> pids)
        {
            var found = new Dictionary<ulong, int>();
            foreach (int pid in pids)
                foreach (string entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                {
                    string link;
                    try { link = Encoding.UTF8.GetString(Native.ReadLink(entry)); }
                    catch (SysCallException) { continue; }
                    if (link.StartsWith("socket:[", StringComparison.Ordinal)
                        && ulong.TryParse(link.AsSpan(8, link.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode))
                        found.TryAdd(inode, pid);
                }
            return found;
        }
    }

    // ---------------------------------------------------------------- dump

    /// <summary>
    /// The USCK of a socket descriptor (the first of its description in this process), followed
    /// by the socket's UDAT items the first time the checkpoint meets it. Throws
    /// <see cref="UnsupportedResourceException"/> for every socket that is not one end of a pair in the tree.
    /// </summary>
    public static IEnumerable<CheckpointItem> Dump(int pid, OpenFile file, DumpSession session)
    {
        string where = $"fd {file.Fd} (socket {Encoding.UTF8.GetString(file.Link)})", what = $"pid {pid} {where}";
        UnsupportedResourceException Refuse(string why) => new(pid, where, why);
        int copy = FdTransfer.FromProcess(pid, file.Fd);
        if (copy < 0) throw Refuse("reading a socket needs pidfd_getfd (Linux 5.6+), which this kernel lacks or a policy refuses");
        try
        {
            int domain = Native.GetSocketOption(copy, Native.SO_DOMAIN, what);
            if (domain is Native.AF_INET or Native.AF_INET6) return [InetSockets.Dump(pid, file, copy, domain, Refuse, what)];
            if (domain != Native.AF_UNIX)
                throw Refuse($"sockets of address family {domain} are not supported yet (only pairs of Unix sockets, socketpair, and listening TCP sockets are)");
            var diag = Native.DiagnoseUnixSocket((uint)file.Status.Inode, what)
                ?? throw Refuse(UnixDiagWorks()
                    ? "the kernel's unix_diag does not know this socket"
                    : "this kernel answers no unix_diag request (CONFIG_UNIX_DIAG; as a module: modprobe unix_diag), and only unix_diag tells which socket is whose peer");
            if (diag.State == TcpListen) return [UnixListeners.Dump(file, copy, diag, Refuse, what)];
            if (diag.Name is { Length: > 0 } name && !IsAutobound(name))
                throw Refuse($"a connected or unconnected Unix socket bound to a name ('{Encoding.UTF8.GetString(name).TrimEnd('\0')}') is not supported yet: only unnamed pairs (socketpair) and listeners are");
            bool peerClosed = diag.Peer == 0 && diag.Shutdown == (UnixSocket.ReceiveShut | UnixSocket.SendShut) && diag.Type != (int)UnixSocketType.Datagram;
            if (diag.Peer == 0 && !peerClosed) throw Refuse("an unconnected Unix socket is not supported yet: only pairs (socketpair) are");
            var registry = Registries.GetValue(session, s => new DumpRegistry(s));
            if (diag.Peer != 0 && registry.HolderOf(diag.Peer) is null)
                throw Refuse($"its peer (socket:[{diag.Peer}]) is held by a process outside the checkpointed tree, which a restore could not reconnect");
            bool receiveShut = (diag.Shutdown & UnixSocket.ReceiveShut) != 0;
            var queue = registry.Queued.ContainsKey(file.Status.Inode) ? null : PeekQueue(copy, (UnixSocketType)diag.Type, receiveShut, Refuse, what);
            if (queue is not null) registry.Queued[file.Status.Inode] = (ulong)queue.Sum(m => (long)m.Length);
            int peek = Native.GetSocketOption(copy, Native.SO_PEEK_OFF, what);
            var item = new UnixSocket(file.Fd, file.Status.Inode, diag.Peer, (UnixSocketType)diag.Type, diag.Shutdown,
                (uint)Native.GetSocketOption(copy, Native.SO_SNDBUF, what), (uint)Native.GetSocketOption(copy, Native.SO_RCVBUF, what),
                Native.GetSocketOption(copy, Native.SO_PASSCRED, what) != 0 ? UnixSocket.PassCredentials : 0, peek,
                registry.Queued[file.Status.Inode]);
            return [item, .. (queue ?? []).Select(m => new UnixSocketData(file.Status.Inode, m))];
        }
        finally
        {
            Native.Close(copy);
        }
    }

    /// <summary>Whether unix_diag answers at all: asked about one end of a pair of cryo's own (it says ENOENT both for an unknown socket and when it is missing).</summary>
    private static bool UnixDiagWorks()
    {
        var (a, b) = Native.SocketPair((int)UnixSocketType.Stream, "a probe of unix_diag");
        try
        {
            var status = Native.Fstat(a, "a probe of unix_diag");
            return Native.DiagnoseUnixSocket((uint)status.Inode, "a probe of unix_diag") is not null;
        }
        finally
        {
            Native.Close(a);
            Native.Close(b);
        }
    }

    /// <summary>
    /// The abstract name the kernel gives an unnamed socket by itself (autobind: a NUL and five
    /// hex digits), e.g. when it sends with SO_PASSCRED set. Nobody chose it, so the socket
    /// counts as unnamed; a restored one gets a new such name the same way.
    /// </summary>
    private static bool IsAutobound(byte[] name) =>
        name.Length == 6 && name[0] == 0 && name.AsSpan(1).IndexOfAnyExcept("0123456789abcdef"u8) < 0;

    /// <summary>
    /// The receive queue, message by message (chunks for a stream), read without taking it:
    /// SO_PEEK_OFF makes each MSG_PEEK go on where the last one ended; the process's own peek
    /// offset is put back afterwards. A queue that carries descriptors (SCM_RIGHTS) is refused.
    /// A read of 0 bytes is the end of a stream, and of any socket whose receiving side is shut
    /// down (the kernel then answers 0 for an empty queue, not EAGAIN: an empty message queued
    /// there cannot be told from the end, and is not saved); otherwise it is an empty message.
    /// </summary>
    private static List<byte[]> PeekQueue(int socket, UnixSocketType type, bool receiveShut, Func<string, UnsupportedResourceException> refuse, string what)
    {
        int saved = Native.GetSocketOption(socket, Native.SO_PEEK_OFF, what);
        Native.SetSocketOption(socket, Native.SO_PEEK_OFF, 0, what);
        try
        {
            var messages = new List<byte[]>();
            var buffer = new byte[type == UnixSocketType.Stream ? FormatLimits.DataChunk : LargestMessage];
            while (messages.Count < MostMessages)
            {
                long n = Native.PeekMessage(socket, buffer, out bool truncated, out int passed, out int errno);
                if (n < 0)
                {
                    if (errno == ErrnoNames.EAGAIN) return messages;
                    throw new SysCallException("recvmsg(MSG_PEEK)", errno, what);
                }
                if (passed > 0) throw refuse("descriptors are in flight in its queue (SCM_RIGHTS), which cryo does not save yet");
                if (truncated) throw refuse($"a message in its queue is longer than {LargestMessage} bytes");
                if (n == 0 && (type == UnixSocketType.Stream || receiveShut)) return messages;
                messages.Add(buffer.AsSpan(0, (int)n).ToArray());
            }
            throw refuse($"more than {MostMessages} messages wait in its queue");
        }
        finally
        {
            Native.SetSocketOption(socket, Native.SO_PEEK_OFF, saved, what);
        }
    }

    // ---------------------------------------------------------------- restore

    /// <summary>The sockets of one restore, by socket id: their first USCK and their queued bytes; cryo's ends until installed.</summary>
    internal sealed class SocketTable : IDisposable
    {
        public Dictionary<ulong, SocketEnd> Sockets { get; } = [];

        /// <summary>The socket whose UDAT items may follow (the last USCK that was a socket's first).</summary>
        public SocketEnd? Filling { get; set; }

        public void Dispose()
        {
            foreach (var end in Sockets.Values) end.Close();
        }
    }

    internal sealed class SocketEnd(UnixSocket item)
    {
        public UnixSocket Item { get; } = item;
        public List<byte[]> Queue { get; } = [];

        /// <summary>cryo's fd of this end once its pair is made, -1 before and after it was handed out.</summary>
        public int Fd { get; set; } = -1;
        public bool Made { get; set; }

        public void Close()
        {
            if (Fd >= 0) Native.Close(Fd);
            Fd = -1;
        }
    }

    /// <summary>A USCK as it is read: the first of its socket is kept (later ones, of other processes holding it, must agree).</summary>
    public static void Read(UnixSocket item, int pid, RestoreSession session)
    {
        var table = session.State<SocketTable>();
        if (table.Sockets.TryGetValue(item.SocketId, out var known))
        {
            if (known.Item with { Fd = item.Fd } != item)
                throw new InvalidDataException($"image of pid {pid}: the USCK of fd {item.Fd} describes socket {item.SocketId} differently from its first USCK");
            table.Filling = null;
            return;
        }
        table.Sockets[item.SocketId] = table.Filling = new SocketEnd(item);
    }

    /// <summary>A UDAT: the next queued message of the socket whose first USCK came just before.</summary>
    public static void Read(UnixSocketData data, int pid, RestoreSession session)
    {
        var table = session.State<SocketTable>();
        if (table.Filling is not { } end || end.Item.SocketId != data.SocketId)
            throw new InvalidDataException($"image of pid {pid}: UDAT of socket {data.SocketId} does not follow the first USCK of that socket");
        end.Queue.Add(data.Data.ToArray());
    }

    /// <summary>
    /// cryo's fd of the socket end <paramref name="item"/>: the pair is made when its first end is
    /// asked for. Each end gets its buffer sizes and options, its queued bytes are sent through
    /// the other end, then the shut-down directions and the peek offset are set. A peer that was
    /// closed is closed again once it has sent its bytes.
    /// </summary>
    public static int Open(UnixSocket item, int pid, RestoreSession session)
    {
        var table = session.State<SocketTable>();
        string what = $"pid {pid} fd {item.Fd} (socket:[{item.SocketId}])";
        var end = table.Sockets[item.SocketId];
        if (!end.Made) MakePair(end, table, what);
        if (end.Fd < 0) throw new InvalidOperationException($"{what}: the socket is in two open file descriptions, which cryo cannot make");
        int fd = end.Fd;
        end.Fd = -1; // Files owns it now
        return fd;
    }

    private static void MakePair(SocketEnd end, SocketTable table, string what)
    {
        var item = end.Item;
        SocketEnd? peer = null;
        if (item.PeerId != 0)
        {
            if (!table.Sockets.TryGetValue(item.PeerId, out peer))
                throw new InvalidDataException($"image: {what}: its peer socket {item.PeerId} has no USCK");
            if (peer.Item.PeerId != item.SocketId || peer.Item.Type != item.Type)
                throw new InvalidDataException($"image: {what}: socket {item.PeerId} is not its peer of type {item.Type} (it names {peer.Item.PeerId}, type {peer.Item.Type})");
        }
        CheckQueue(end, what);
        if (peer is not null) CheckQueue(peer, what);
        var (a, b) = Native.SocketPair((int)item.Type, what);
        end.Fd = a;
        end.Made = true;
        if (peer is null)
        {
            try
            {
                Configure(end, a, what);
                // The closed peer's buffer size is unknown: large enough for what it had sent.
                Native.SetSocketOption(b, Native.SO_SNDBUFFORCE, (int)Math.Min(int.MaxValue / 4, (long)item.QueuedBytes + (1 << 16)), what);
                Send(end, b, what);
            }
            finally
            {
                Native.Close(b); // the peer was closed: the queue, then end of file
            }
            Native.SetSocketOption(a, Native.SO_PEEK_OFF, item.PeekOffset, what);
            return;
        }
        peer.Fd = b;
        peer.Made = true;
        Configure(end, a, what);
        Configure(peer, b, what);
        Send(end, b, what);
        Send(peer, a, what);
        foreach (var (side, fd) in new[] { (end, a), (peer, b) })
        {
            if ((side.Item.Shutdown & UnixSocket.ReceiveShut) != 0) Native.Shutdown(fd, Native.SHUT_RD, what);
            if ((side.Item.Shutdown & UnixSocket.SendShut) != 0) Native.Shutdown(fd, Native.SHUT_WR, what);
            Native.SetSocketOption(fd, Native.SO_PEEK_OFF, side.Item.PeekOffset, what);
        }
    }

    private static void CheckQueue(SocketEnd end, string what)
    {
        ulong queued = (ulong)end.Queue.Sum(m => (long)m.Length);
        if (queued != end.Item.QueuedBytes)
            throw new InvalidDataException($"image: {what}: socket {end.Item.SocketId} has {queued} bytes in UDAT items, its USCK says {end.Item.QueuedBytes}");
    }

    /// <summary>
    /// The buffer sizes (getsockopt shows twice what setsockopt asks for; the FORCE options pass
    /// the system's maximum, cryo being privileged) and SO_PASSCRED.
    /// </summary>
    private static void Configure(SocketEnd end, int fd, string what)
    {
        Native.SetSocketOption(fd, Native.SO_SNDBUFFORCE, (int)(end.Item.SendBuffer / 2), what);
        Native.SetSocketOption(fd, Native.SO_RCVBUFFORCE, (int)(end.Item.ReceiveBuffer / 2), what);
        if ((end.Item.Options & UnixSocket.PassCredentials) != 0) Native.SetSocketOption(fd, Native.SO_PASSCRED, 1, what);
    }

    /// <summary>
    /// The bytes queued at <paramref name="end"/>, sent through its peer <paramref name="sender"/>:
    /// one send per message of a datagram or seqpacket socket, a stream as long as it takes. A
    /// queue the new pair cannot hold fails instead of waiting (MSG_DONTWAIT).
    /// </summary>
    private static void Send(SocketEnd end, int sender, string what)
    {
        string context = $"{what}: the bytes queued at socket {end.Item.SocketId}";
        foreach (var message in end.Queue)
        {
            long sent = Native.SendMessage(sender, message, context);
            if (end.Item.Type != UnixSocketType.Stream && sent != message.Length)
                throw new InvalidOperationException($"{context}: a message of {message.Length} bytes went out as {sent}");
            for (long at = sent; at < message.Length; at += sent)
                if ((sent = Native.SendMessage(sender, message.AsSpan((int)at), context)) == 0)
                    throw new InvalidOperationException($"{context}: the new pair took {at} of a chunk of {message.Length} bytes and no more");
        }
    }
}
