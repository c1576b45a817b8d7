using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// Connected Unix sockets (USCK, USNM, UDAT), for <see cref="Files"/>: both ends of a pair held
/// in the tree, with the bytes waiting in each end's receive queue. The dump reads the queue
/// without taking it (MSG_PEEK with SO_PEEK_OFF on a pidfd_getfd copy), the restore makes the
/// pair again in cryo and sends each end's bytes through the other end. Python's asyncio keeps
/// such a pair for its wake-ups, multiprocessing.Pipe() is one, and parents and children talk
/// through them. A stream or seqpacket pair with a name (an accepted connection and its client:
/// a local server and the program's own clients, a Python multiprocessing manager) is made by a
/// connection under the same names (<see cref="UnixSocketNames"/>). Named datagram sockets,
/// unconnected sockets, a peer outside the tree and descriptors in flight are refused; listening
/// sockets are <see cref="UnixListeners"/>.
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
        private HashSet<string>? listenerNames;

        /// <summary>The queued byte count of each socket whose queue is written already (it goes into every USCK of the socket).</summary>
        public Dictionary<ulong, ulong> Queued { get; } = [];

        /// <summary>A process of the tree that holds the socket with this inode, or null.</summary>
        public int? HolderOf(ulong inode)
        {
            holders ??= ReadHolders(session.TreePids);
            return holders.TryGetValue(inode, out int pid) ? pid : null;
        }

        /// <summary>Whether a Unix listener held by the tree is bound to <paramref name="name"/> (as bound).</summary>
        public bool IsListenerName(byte[] name, string what)
        {
            holders ??= ReadHolders(session.TreePids);
            listenerNames ??= [.. holders.Keys
                .Select(inode => Native.DiagnoseUnixSocket((uint)inode, what))
                .Where(d => d is { State: TcpListen, Name.Length: > 0 })
                .Select(d => Encoding.Latin1.GetString(UnixSocketNames.AsBound(d!.Name!)))];
            return listenerNames.Contains(Encoding.Latin1.GetString(name));
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
            byte[]? name = diag.Name is { Length: > 0 } bound && !IsAutobound(bound) ? UnixSocketNames.AsBound(bound) : null;
            string named = name is null ? "" : $" bound to the name '{UnixSocketNames.Show(name)}'";
            if (name is not null && diag.Type == (int)UnixSocketType.Datagram)
                throw Refuse($"a datagram Unix socket{named} is not supported yet: only unnamed datagram pairs (socketpair), named stream and seqpacket connections and listeners are");
            bool peerClosed = diag.Peer == 0 && diag.Shutdown == (UnixSocket.ReceiveShut | UnixSocket.SendShut) && diag.Type != (int)UnixSocketType.Datagram;
            if (diag.Peer == 0 && !peerClosed) throw Refuse($"an unconnected Unix socket{named} that does not listen is not supported yet: only connected ones and listeners are");
            var registry = Registries.GetValue(session, s => new DumpRegistry(s));
            if (diag.Peer != 0 && registry.HolderOf(diag.Peer) is null)
                throw Refuse($"its peer (socket:[{diag.Peer}]) is held by a process outside the checkpointed tree, which a restore could not reconnect");
            if (name is not null && diag.Peer != 0) CheckAcceptedEndKnown(name, diag.Peer, registry, Refuse, what);
            bool receiveShut = (diag.Shutdown & UnixSocket.ReceiveShut) != 0;
            var queue = registry.Queued.ContainsKey(file.Status.Inode) ? null : PeekQueue(copy, (UnixSocketType)diag.Type, receiveShut, Refuse, what);
            if (queue is not null) registry.Queued[file.Status.Inode] = (ulong)queue.Sum(m => (long)m.Length);
            int peek = Native.GetSocketOption(copy, Native.SO_PEEK_OFF, what);
            var item = new UnixSocket(file.Fd, file.Status.Inode, diag.Peer, (UnixSocketType)diag.Type, diag.Shutdown,
                (uint)Native.GetSocketOption(copy, Native.SO_SNDBUF, what), (uint)Native.GetSocketOption(copy, Native.SO_RCVBUF, what),
                Native.GetSocketOption(copy, Native.SO_PASSCRED, what) != 0 ? UnixSocket.PassCredentials : 0, peek,
                registry.Queued[file.Status.Inode]);
            if (queue is null) return [item];
            return [item, .. name is null ? [] : new CheckpointItem[] { new UnixSocketName(file.Status.Inode, name) },
                .. queue.Select(m => new UnixSocketData(file.Status.Inode, m))];
        }
        finally
        {
            Native.Close(copy);
        }
    }

    /// <summary>
    /// A connection whose two ends are both named (a client bound a name of its own before it
    /// connected) is restored only when the accepted end can be told from the client: it is the
    /// one named like a listener of the tree (the restore gives the client its name by bind,
    /// which takes an abstract name for good, and the accepted end its own by accept, which does
    /// not). unix_diag shows no difference between the two.
    /// </summary>
    private static void CheckAcceptedEndKnown(byte[] name, uint peer, DumpRegistry registry, Func<string, UnsupportedResourceException> refuse, string what)
    {
        if (Native.DiagnoseUnixSocket(peer, what) is not { Name: { Length: > 0 } bound } || IsAutobound(bound)) return;
        byte[] peerName = UnixSocketNames.AsBound(bound);
        bool mine = registry.IsListenerName(name, what), theirs = registry.IsListenerName(peerName, what);
        if (mine != theirs) return;
        throw refuse($"both ends of its connection are named ('{UnixSocketNames.Show(name)}' here, '{UnixSocketNames.Show(peerName)}' at its peer socket:[{peer}]) " +
            $"and {(mine ? "both" : "neither")} of the names is a listener's of the tree, so which end was accepted and which one bound its name cannot be told; " +
            "this is not supported: checkpoint it while the listener is still open");
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

        /// <summary>The socket whose USNM and UDAT items may follow (the last USCK that was a socket's first).</summary>
        public SocketEnd? Filling { get; set; }

        /// <summary>Whether the named pairs are made (all at once, before any other socket).</summary>
        public bool NamedPairsMade { get; set; }

        /// <summary>The names the image's listeners are bound to (as Latin-1 strings: one char per byte).</summary>
        public HashSet<string> ListenerNames { get; } = [];

        public void Dispose()
        {
            foreach (var end in Sockets.Values) end.Close();
        }
    }

    internal sealed class SocketEnd(UnixSocket item, int pid)
    {
        public UnixSocket Item { get; } = item;
        public List<byte[]> Queue { get; } = [];

        /// <summary>The name it is bound to (USNM), or null.</summary>
        public byte[]? Name { get; set; }

        /// <summary>The first holder, for messages: "pid P fd F (socket:[I])".</summary>
        public string What { get; } = $"pid {pid} fd {item.Fd} (socket:[{item.SocketId}])";

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
        table.Sockets[item.SocketId] = table.Filling = new SocketEnd(item, pid);
    }

    /// <summary>A ULSN as it is read: its name tells accepted ends from clients that bound a name (<see cref="MakeNamedPairs"/>).</summary>
    public static void NoteListener(UnixListener listener, RestoreSession session) =>
        session.State<SocketTable>().ListenerNames.Add(Encoding.Latin1.GetString(listener.Name));

    /// <summary>A USNM: the name of the socket whose first USCK came just before, ahead of its UDAT items.</summary>
    public static void Read(UnixSocketName name, int pid, RestoreSession session)
    {
        var table = session.State<SocketTable>();
        if (table.Filling is not { } end || end.Item.SocketId != name.SocketId || end.Name is not null || end.Queue.Count > 0)
            throw new InvalidDataException($"image of pid {pid}: the USNM of socket {name.SocketId} does not follow the first USCK of that socket (once, before its UDAT items)");
        if (end.Item.Type == UnixSocketType.Datagram)
            throw new InvalidDataException($"image of pid {pid}: the USNM of socket {name.SocketId} names a datagram socket, which is never written with a name");
        end.Name = name.Name;
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

    /// <summary>
    /// Every pair with a name, made at once before any other socket of the image (a restored
    /// listener may hold the same abstract name a moment later): a named end is the accepted end
    /// of a connection to its name, its peer (or a stand-in for a closed one) the connecting end,
    /// bound first to its own name if it has one. The connecting end holds its name as a bound
    /// socket does (an abstract one is then taken, for a listener as for anyone), the accepted
    /// end only shows its listener's; so when both ends are named, the accepted one must be told
    /// from the client, which nothing in unix_diag does: the end named like a listener of the
    /// image is the accepted one (a checkpoint refuses a connection where that does not tell).
    /// </summary>
    public static void MakeNamedPairs(RestoreSession session)
    {
        var table = session.State<SocketTable>();
        if (table.NamedPairsMade) return;
        table.NamedPairsMade = true;
        var pairs = new List<(SocketEnd Accepted, SocketEnd? Connector)>();
        var planned = new HashSet<SocketEnd>();
        foreach (var end in table.Sockets.Values)
        {
            if (end.Name is null || end.Made || !planned.Add(end)) continue;
            var peer = PeerOf(end, table, end.What);
            CheckQueue(end, end.What);
            if (peer is null)
            {
                pairs.Add((end, null));
                continue;
            }
            CheckQueue(peer, end.What);
            planned.Add(peer);
            pairs.Add(peer.Name is null || IsAccepted(end, peer, table) ? (end, peer) : (peer, end));
        }
        var made = UnixSocketNames.Connect(pairs.Select(p =>
            new UnixSocketNames.Connection(p.Accepted.Name!, p.Connector?.Name, p.Accepted.Item.Type, p.Accepted.What)).ToList());
        // Each pair owns its two descriptors from here on (the table closes what is not handed out).
        for (int i = 0; i < pairs.Count; i++)
        {
            var (accepted, connector) = pairs[i];
            accepted.Fd = made[i].Accepted;
            accepted.Made = true;
            if (connector is not null)
            {
                connector.Fd = made[i].Connector;
                connector.Made = true;
            }
        }
        int filled = 0;
        try
        {
            for (; filled < pairs.Count; filled++)
                Fill(pairs[filled].Accepted, pairs[filled].Connector, made[filled].Accepted, made[filled].Connector, pairs[filled].Accepted.What);
        }
        catch
        {
            // The stand-ins of closed peers not reached yet are nobody's.
            for (int i = filled + 1; i < pairs.Count; i++)
                if (pairs[i].Connector is null) Native.Close(made[i].Connector);
            throw;
        }
    }

    /// <summary>Of two named ends of a pair, whether <paramref name="end"/> is the accepted one (see <see cref="MakeNamedPairs"/>).</summary>
    private static bool IsAccepted(SocketEnd end, SocketEnd peer, SocketTable table)
    {
        bool endListens = table.ListenerNames.Contains(Encoding.Latin1.GetString(end.Name!));
        bool peerListens = table.ListenerNames.Contains(Encoding.Latin1.GetString(peer.Name!));
        return endListens != peerListens ? endListens
            : throw new InvalidDataException($"image: {end.What}: both ends of its connection are named, and {(endListens ? "both" : "neither")} of the names is a listener's of the image, so the accepted end cannot be told (a checkpoint refuses such a connection)");
    }

    /// <summary>The USCK of <paramref name="end"/>'s peer, checked to name it back; null for a closed peer.</summary>
    private static SocketEnd? PeerOf(SocketEnd end, SocketTable table, string what)
    {
        var item = end.Item;
        if (item.PeerId == 0) return null;
        if (!table.Sockets.TryGetValue(item.PeerId, out var peer))
            throw new InvalidDataException($"image: {what}: its peer socket {item.PeerId} has no USCK");
        if (peer.Item.PeerId != item.SocketId || peer.Item.Type != item.Type)
            throw new InvalidDataException($"image: {what}: socket {item.PeerId} is not its peer of type {item.Type} (it names {peer.Item.PeerId}, type {peer.Item.Type})");
        return peer;
    }

    private static void MakePair(SocketEnd end, SocketTable table, string what)
    {
        var peer = PeerOf(end, table, what);
        CheckQueue(end, what);
        if (peer is not null) CheckQueue(peer, what);
        var (a, b) = Native.SocketPair((int)end.Item.Type, what);
        end.Fd = a;
        end.Made = true;
        if (peer is not null)
        {
            peer.Fd = b;
            peer.Made = true;
        }
        Fill(end, peer, a, b, what);
    }

    /// <summary>
    /// A new pair's options, queues, shut-down directions and peek offsets: <paramref name="a"/>
    /// is <paramref name="end"/>'s descriptor, <paramref name="b"/> its peer's, or of a stand-in
    /// for a closed peer, which sends the end's queue and is closed.
    /// </summary>
    private static void Fill(SocketEnd end, SocketEnd? peer, int a, int b, string what)
    {
        var item = end.Item;
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
