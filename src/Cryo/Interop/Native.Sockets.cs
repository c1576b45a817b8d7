using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>
/// Unix sockets: socket options, peeking at a receive queue, making a pair again, and the
/// kernel's unix_diag (NETLINK_SOCK_DIAG), the only place that says which socket is a socket's peer.
/// </summary>
internal static unsafe partial class Native
{
    public const int AF_UNIX = 1, AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, NETLINK_SOCK_DIAG = 4;
    public const int SOL_SOCKET = 1, SO_TYPE = 3, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_PASSCRED = 16,
        SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33, SO_PEEK_OFF = 42, SO_DOMAIN = 39;
    public const int MSG_PEEK = 2, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_CTRUNC = 8, MSG_NOSIGNAL = 0x4000;
    public const int SHUT_RD = 0, SHUT_WR = 1;
    public const int SCM_RIGHTS = 1;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int SocketRaw(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static partial int SocketpairRaw(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int GetsockoptRaw(int fd, int level, int name, int* value, int* length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetsockoptRaw(int fd, int level, int name, int* value, int length);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvmsgRaw(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint SendRaw(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int ShutdownRaw(int fd, int how);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int ConnectRaw(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4Raw(int fd, byte* address, int* length, int flags);

    // struct msghdr and struct iovec on x86-64.
    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector { public byte* Base; public nuint Length; }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name; public uint NameLength; public IoVector* Vectors; public nuint VectorCount;
        public byte* Control; public nuint ControlLength; public int Flags;
    }

    /// <summary>An int option at SOL_SOCKET (the level-taking overload is in Native.InetSockets).</summary>
    public static int GetSocketOption(int fd, int name, string context) => GetSocketOption(fd, SOL_SOCKET, name, context);

    public static void SetSocketOption(int fd, int name, int value, string context) => SetSocketOption(fd, SOL_SOCKET, name, value, context);

    public static (int A, int B) SocketPair(int type, string context)
    {
        int* fds = stackalloc int[2];
        if (SocketpairRaw(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0)
            throw new SysCallException("socketpair", Marshal.GetLastPInvokeError(), context);
        return (fds[0], fds[1]);
    }

    /// <summary>
    /// bind() of a Unix socket to <paramref name="name"/>: a path as the kernel resolves it for
    /// the calling thread (its root and working directory), or an abstract name (a NUL, then
    /// bytes; its exact length counts).
    /// </summary>
    public static void BindUnix(int fd, ReadOnlySpan<byte> name, string context)
    {
        byte* raw = stackalloc byte[110];
        int length = UnixAddress(raw, name);
        if (BindRaw(fd, raw, length) != 0) throw new SysCallException("bind", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>connect() of a Unix socket to <paramref name="name"/>, named as for <see cref="BindUnix"/>.</summary>
    public static void ConnectUnix(int fd, ReadOnlySpan<byte> name, string context)
    {
        byte* raw = stackalloc byte[110];
        int length = UnixAddress(raw, name);
        if (ConnectRaw(fd, raw, length) != 0) throw new SysCallException("connect", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>accept4() with close-on-exec; the peer's address is not asked for.</summary>
    public static int Accept(int fd, string context)
    {
        int accepted = Accept4Raw(fd, null, null, SOCK_CLOEXEC);
        return accepted >= 0 ? accepted : throw new SysCallException("accept4", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>struct sockaddr_un for a name (at most 108 bytes): its length is the family's 2 bytes and the name's own.</summary>
    private static int UnixAddress(byte* raw, ReadOnlySpan<byte> name)
    {
        new Span<byte>(raw, 110).Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(raw, 2), (ushort)AF_UNIX);
        name.CopyTo(new Span<byte>(raw + 2, 108));
        return 2 + name.Length;
    }

    /// <summary>
    /// recvmsg(MSG_PEEK | MSG_DONTWAIT) into <paramref name="buffer"/>: the byte count (0 for an
    /// empty datagram or end of file), or -1 with <paramref name="errno"/> (EAGAIN: nothing more).
    /// <paramref name="truncated"/> says the message was longer than the buffer; descriptors
    /// passed with it (SCM_RIGHTS), which a peek installs in cryo, are closed and counted.
    /// </summary>
    public static long PeekMessage(int fd, Span<byte> buffer, out bool truncated, out int passedDescriptors, out int errno)
    {
        const int controlSize = 512;
        byte* control = stackalloc byte[controlSize];
        fixed (byte* data = buffer)
        {
            var vector = new IoVector { Base = data, Length = (nuint)buffer.Length };
            var message = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = control, ControlLength = controlSize };
            long n = RecvmsgRaw(fd, &message, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
            errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            truncated = n > buffer.Length || (message.Flags & MSG_TRUNC) != 0;
            passedDescriptors = n < 0 ? 0 : CloseReceivedDescriptors(control, (int)message.ControlLength) + ((message.Flags & MSG_CTRUNC) != 0 ? 1 : 0);
            return n < 0 ? -1 : Math.Min(n, buffer.Length);
        }
    }

    /// <summary>Closes the descriptors of every SCM_RIGHTS message in a control buffer; how many there were.</summary>
    private static int CloseReceivedDescriptors(byte* control, int length)
    {
        int count = 0;
        // struct cmsghdr: size_t len, int level, int type, then the data, each aligned to 8 bytes.
        for (int at = 0; at + 16 <= length;)
        {
            long size = *(long*)(control + at);
            int level = *(int*)(control + at + 8), type = *(int*)(control + at + 12);
            if (size < 16 || at + size > length) break;
            if (level == SOL_SOCKET && type == SCM_RIGHTS)
                for (int d = 16; d + 4 <= size; d += 4, count++) Close(*(int*)(control + at + d));
            at += (int)((size + 7) & ~7);
        }
        return count;
    }

    /// <summary>send() with MSG_DONTWAIT | MSG_NOSIGNAL (a full queue fails instead of waiting); the bytes taken.</summary>
    public static long SendMessage(int fd, ReadOnlySpan<byte> data, string context)
    {
        fixed (byte* p = data)
        {
            long sent = SendRaw(fd, p, (nuint)data.Length, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent < 0) throw new SysCallException("send", Marshal.GetLastPInvokeError(), context);
            return sent;
        }
    }

    public static void Shutdown(int fd, int how, string context)
    {
        if (ShutdownRaw(fd, how) != 0) throw new SysCallException($"shutdown({how})", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>What unix_diag says of one Unix socket.</summary>
    /// <param name="ReceiveQueue">Bytes queued; for a listener, the connections waiting to be accepted.</param>
    /// <param name="WriteQueue">For a listener, its backlog (sk_max_ack_backlog).</param>
    /// <param name="FileInode">The socket file's inode (UNIX_DIAG_VFS) for a socket bound to a path, else 0.</param>
    /// <param name="FileDevice">Its device, in the kernel's own encoding (major above bit 20).</param>
    public sealed record UnixDiag(int Type, int State, uint Peer, byte[]? Name, byte Shutdown, uint ReceiveQueue,
        uint WriteQueue = 0, uint FileInode = 0, uint FileDevice = 0);

    // unix_diag: SOCK_DIAG_BY_FAMILY, the attributes asked for, and the ones read.
    private const ushort SockDiagByFamily = 20, NlmFRequest = 1, NlmsgError = 2;
    private const uint ShowName = 1, ShowVfs = 2, ShowPeer = 4, ShowRqlen = 0x10;
    private const ushort DiagName = 0, DiagVfs = 1, DiagPeer = 2, DiagRqlen = 4, DiagShutdown = 6;

    /// <summary>unix_diag of the Unix socket with inode <paramref name="inode"/>; null when the kernel knows no such Unix socket (ENOENT).</summary>
    public static UnixDiag? DiagnoseUnixSocket(uint inode, string context)
    {
        int fd = SocketRaw(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0) throw new SysCallException("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Marshal.GetLastPInvokeError(), context);
        try
        {
            // struct nlmsghdr (16 bytes) + struct unix_diag_req (24 bytes).
            Span<byte> request = stackalloc byte[40];
            request.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(request, 40);
            BinaryPrimitives.WriteUInt16LittleEndian(request[4..], SockDiagByFamily);
            BinaryPrimitives.WriteUInt16LittleEndian(request[6..], NlmFRequest);
            request[16] = AF_UNIX;
            BinaryPrimitives.WriteUInt32LittleEndian(request[20..], uint.MaxValue); // every state
            BinaryPrimitives.WriteUInt32LittleEndian(request[24..], inode);
            BinaryPrimitives.WriteUInt32LittleEndian(request[28..], ShowName | ShowVfs | ShowPeer | ShowRqlen);
            BinaryPrimitives.WriteUInt64LittleEndian(request[32..], ulong.MaxValue); // no cookie
            fixed (byte* p = request)
                if (Write(fd, p, 40) != 40) throw new SysCallException("write (unix_diag request)", Marshal.GetLastPInvokeError(), context);
            var reply = new byte[8192];
            long n;
            fixed (byte* p = reply) n = Read(fd, p, (nuint)reply.Length);
            if (n < 16) throw new SysCallException("read (unix_diag reply)", Marshal.GetLastPInvokeError(), context);
            return ParseUnixDiag(reply.AsSpan(0, (int)n), context);
        }
        finally
        {
            Close(fd);
        }
    }

    private static UnixDiag? ParseUnixDiag(ReadOnlySpan<byte> reply, string context)
    {
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(reply[4..]);
        if (type == NlmsgError)
        {
            int error = -BinaryPrimitives.ReadInt32LittleEndian(reply[16..]);
            if (error == ErrnoNames.ENOENT) return null;
            throw new SysCallException("unix_diag", error, context);
        }
        int length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(reply), (uint)reply.Length);
        // struct unix_diag_msg: family, type, state, pad, ino, cookie[2] (16 bytes), then attributes.
        int socketType = reply[17], state = reply[18];
        uint peer = 0, receiveQueue = 0, writeQueue = 0, fileInode = 0, fileDevice = 0;
        byte[]? name = null;
        byte shutdown = 0;
        for (int at = 32; at + 4 <= length;)
        {
            int size = BinaryPrimitives.ReadUInt16LittleEndian(reply[at..]);
            ushort attribute = BinaryPrimitives.ReadUInt16LittleEndian(reply[(at + 2)..]);
            if (size < 4 || at + size > length) break;
            var value = reply.Slice(at + 4, size - 4);
            switch (attribute)
            {
                case DiagName: name = value.ToArray(); break;
                case DiagPeer: peer = BinaryPrimitives.ReadUInt32LittleEndian(value); break;
                case DiagRqlen:
                    receiveQueue = BinaryPrimitives.ReadUInt32LittleEndian(value);
                    writeQueue = BinaryPrimitives.ReadUInt32LittleEndian(value[4..]);
                    break;
                case DiagVfs:
                    fileInode = BinaryPrimitives.ReadUInt32LittleEndian(value);
                    fileDevice = BinaryPrimitives.ReadUInt32LittleEndian(value[4..]);
                    break;
                case DiagShutdown: shutdown = value[0]; break;
            }
            at += (size + 3) & ~3;
        }
        return new UnixDiag(socketType, state, peer, name, shutdown, receiveQueue, writeQueue, fileInode, fileDevice);
    }
}
