using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>
/// TCP/IP sockets: options at any level, the bound address, making a listener again, whether
/// connections wait to be accepted, and the kernel's inet_diag (the only place that shows a
/// listening socket's backlog).
/// </summary>
internal static unsafe partial class Native
{
    public const int AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1, IPPROTO_TCP = 6, IPPROTO_IPV6 = 41;
    public const int SO_REUSEADDR = 2, SO_KEEPALIVE = 9, SO_REUSEPORT = 15, SO_BINDTODEVICE = 25, SO_ACCEPTCONN = 30, SO_PROTOCOL = 38;
    public const int IPV6_V6ONLY = 26, TCP_NODELAY = 1, TCP_DEFER_ACCEPT = 9, TCP_FASTOPEN = 23;
    public const int SOCK_DGRAM = 2, IPPROTO_IP = 0, IPPROTO_UDP = 17, SO_BROADCAST = 6, IP_TOS = 1, IPV6_TCLASS = 67, UDP_CORK = 1;

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    private static partial int GetsocknameRaw(int fd, byte* address, int* length);

    [LibraryImport("libc", EntryPoint = "getpeername", SetLastError = true)]
    private static partial int GetpeernameRaw(int fd, byte* address, int* length);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int BindRaw(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    private static partial int ListenRaw(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int PollRaw(long* fds, nuint count, int timeout);

    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    private static partial nint RecvfromRaw(int fd, byte* buffer, nuint length, int flags, byte* address, int* addressLength);

    public static int GetSocketOption(int fd, int level, int name, string context)
    {
        int value = 0, length = sizeof(int);
        if (GetsockoptRaw(fd, level, name, &value, &length) != 0)
            throw new SysCallException($"getsockopt({level}, {name})", Marshal.GetLastPInvokeError(), context);
        return value;
    }

    public static void SetSocketOption(int fd, int level, int name, int value, string context)
    {
        if (SetsockoptRaw(fd, level, name, &value, sizeof(int)) != 0)
            throw new SysCallException($"setsockopt({level}, {name}, {value})", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>The device a socket is bound to (SO_BINDTODEVICE), "" if none.</summary>
    public static string BoundDevice(int fd, string context)
    {
        byte* name = stackalloc byte[32];
        int length = 32;
        if (GetsockoptRaw(fd, SOL_SOCKET, SO_BINDTODEVICE, (int*)name, &length) != 0)
            throw new SysCallException("getsockopt(SO_BINDTODEVICE)", Marshal.GetLastPInvokeError(), context);
        return System.Text.Encoding.ASCII.GetString(name, Math.Max(0, length)).TrimEnd('\0');
    }

    /// <summary>getsockname: family, port, the address (16 bytes: an IPv4 one in the first 4) and an IPv6 scope id.</summary>
    public static (int Family, ushort Port, byte[] Address, uint ScopeId) SocketName(int fd, string context)
    {
        byte* raw = stackalloc byte[128];
        int length = 128;
        if (GetsocknameRaw(fd, raw, &length) != 0) throw new SysCallException("getsockname", Marshal.GetLastPInvokeError(), context);
        return DecodeInetAddress(new ReadOnlySpan<byte>(raw, length));
    }

    /// <summary>getpeername, as <see cref="SocketName"/>; null when the socket is not connected (ENOTCONN).</summary>
    public static (int Family, ushort Port, byte[] Address, uint ScopeId)? PeerName(int fd, string context)
    {
        byte* raw = stackalloc byte[128];
        int length = 128;
        if (GetpeernameRaw(fd, raw, &length) == 0) return DecodeInetAddress(new ReadOnlySpan<byte>(raw, length));
        int errno = Marshal.GetLastPInvokeError();
        return errno == ErrnoNames.ENOTCONN ? null : throw new SysCallException("getpeername", errno, context);
    }

    private static (int Family, ushort Port, byte[] Address, uint ScopeId) DecodeInetAddress(ReadOnlySpan<byte> bytes)
    {
        int family = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        var address = new byte[16];
        uint scope = 0;
        if (family == AF_INET) bytes.Slice(4, 4).CopyTo(address);
        else if (family == AF_INET6)
        {
            // struct sockaddr_in6: family, port, flowinfo (4), address (16), scope id (4).
            bytes.Slice(8, 16).CopyTo(address);
            scope = BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]);
        }
        return (family, port, address, scope);
    }

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true)]
    private static partial int ChmodRaw(byte* path, uint mode);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true)]
    private static partial int LchownRaw(byte* path, uint uid, uint gid);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true)]
    private static partial int UnlinkRaw(byte* path);

    /// <summary>A Unix socket bound to <paramref name="name"/> (a path, or an abstract name: a NUL, then bytes; its exact length counts) and listening.</summary>
    public static void BindUnixAndListen(int fd, ReadOnlySpan<byte> name, int backlog, string context)
    {
        BindUnix(fd, name, context);
        Listen(fd, backlog, context);
    }

    public static void Listen(int fd, int backlog, string context)
    {
        if (ListenRaw(fd, backlog) != 0) throw new SysCallException($"listen({backlog})", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>chmod and lchown of a path (a socket file made again), or throws.</summary>
    public static void SetOwnerAndMode(ReadOnlySpan<byte> path, uint mode, uint uid, uint gid, string context)
    {
        fixed (byte* p = CString(path))
        {
            if (LchownRaw(p, uid, gid) != 0) throw new SysCallException("lchown", Marshal.GetLastPInvokeError(), context);
            if (ChmodRaw(p, mode & 0xfff) != 0) throw new SysCallException("chmod", Marshal.GetLastPInvokeError(), context);
        }
    }

    public static void UnlinkOrThrow(ReadOnlySpan<byte> path, string context)
    {
        fixed (byte* p = CString(path))
            if (UnlinkRaw(p) != 0) throw new SysCallException("unlink", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>A TCP socket bound to the address and listening, close-on-exec; the options before bind run first.</summary>
    public static void BindAndListen(int fd, int family, ushort port, ReadOnlySpan<byte> address, uint scopeId, int backlog, string context)
    {
        BindInet(fd, family, port, address, scopeId, context);
        Listen(fd, backlog, context);
    }

    /// <summary>bind() of an IPv4 or IPv6 socket to the address (16 bytes: an IPv4 one in the first 4) and port.</summary>
    public static void BindInet(int fd, int family, ushort port, ReadOnlySpan<byte> address, uint scopeId, string context)
    {
        byte* raw = stackalloc byte[28];
        int length = InetAddress(raw, family, port, address, scopeId);
        if (BindRaw(fd, raw, length) != 0) throw new SysCallException("bind", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>connect() of an IPv4 or IPv6 socket to the address and port, named as for <see cref="BindInet"/>.</summary>
    public static void ConnectInet(int fd, int family, ushort port, ReadOnlySpan<byte> address, uint scopeId, string context)
    {
        byte* raw = stackalloc byte[28];
        int length = InetAddress(raw, family, port, address, scopeId);
        if (ConnectRaw(fd, raw, length) != 0) throw new SysCallException("connect", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>struct sockaddr_in or sockaddr_in6 at <paramref name="raw"/> (28 bytes); its length.</summary>
    private static int InetAddress(byte* raw, int family, ushort port, ReadOnlySpan<byte> address, uint scopeId)
    {
        new Span<byte>(raw, 28).Clear();
        var bytes = new Span<byte>(raw, 28);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)family);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[2..], port);
        int length;
        if (family == AF_INET)
        {
            address[..4].CopyTo(bytes[4..]);
            length = 16;
        }
        else
        {
            address[..16].CopyTo(bytes[8..]);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], scopeId);
            length = 28;
        }
        return length;
    }

    public static int Socket(int family, int type, int protocol, string context)
    {
        int fd = SocketRaw(family, type, protocol);
        return fd >= 0 ? fd : throw new SysCallException("socket", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>Whether <paramref name="fd"/> is readable now (poll with no wait): for a listener, a connection waits to be accepted.</summary>
    public static bool Readable(int fd, string context) => (PollNow(fd, POLLIN, context) & POLLIN) != 0;

    public const short POLLIN = 1;

    /// <summary>poll with no wait: the events of <paramref name="events"/> that <paramref name="fd"/> is ready for now (with POLLERR, POLLHUP, which poll always reports).</summary>
    public static int PollNow(int fd, short events, string context)
    {
        // struct pollfd { int fd; short events; short revents; }
        long entry = (uint)fd | ((long)(ushort)events << 32);
        int ready = PollRaw(&entry, 1, 0);
        if (ready < 0) throw new SysCallException("poll", Marshal.GetLastPInvokeError(), context);
        return ready > 0 ? (int)((entry >> 48) & 0xffff) : 0;
    }

    /// <summary>
    /// Whether a datagram waits on the readable datagram socket <paramref name="fd"/>: a peek
    /// (nothing taken) names its sender. A socket shut down for reading is readable too, and
    /// its peek returns 0 without a sender.
    /// </summary>
    public static bool DatagramWaits(int fd, string context)
    {
        byte* sender = stackalloc byte[128];
        int length = 128;
        nint n = RecvfromRaw(fd, null, 0, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC, sender, &length);
        if (n < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno == ErrnoNames.EAGAIN ? false : throw new SysCallException("recvfrom(MSG_PEEK)", errno, context);
        }
        return length > 0;
    }

    /// <summary>
    /// The backlog of the listening TCP socket with this inode (inet_diag: a dump of the family's
    /// listeners; idiag_wqueue is sk_max_ack_backlog for them); null when inet_diag does not answer
    /// (CONFIG_INET_DIAG, tcp_diag) or does not list the socket.
    /// </summary>
    public static uint? ListenBacklog(int family, uint inode, string context)
    {
        int fd = SocketRaw(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (fd < 0) throw new SysCallException("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Marshal.GetLastPInvokeError(), context);
        try
        {
            // struct nlmsghdr (16) + struct inet_diag_req_v2 (56): family, protocol, ext, pad, states, id (48).
            const ushort NlmFDump = 0x300, NlmsgDone = 3;
            const int TcpListen = 10;
            Span<byte> request = stackalloc byte[72];
            request.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(request, 72);
            BinaryPrimitives.WriteUInt16LittleEndian(request[4..], SockDiagByFamily);
            BinaryPrimitives.WriteUInt16LittleEndian(request[6..], (ushort)(NlmFRequest | NlmFDump));
            request[16] = (byte)family;
            request[17] = IPPROTO_TCP;
            BinaryPrimitives.WriteUInt32LittleEndian(request[20..], 1u << TcpListen);
            fixed (byte* p = request)
                if (Write(fd, p, 72) != 72) throw new SysCallException("write (inet_diag request)", Marshal.GetLastPInvokeError(), context);
            var reply = new byte[32768];
            while (true)
            {
                long n;
                fixed (byte* p = reply) n = Read(fd, p, (nuint)reply.Length);
                if (n < 16) throw new SysCallException("read (inet_diag reply)", Marshal.GetLastPInvokeError(), context);
                for (int at = 0; at + 16 <= n;)
                {
                    var message = reply.AsSpan(at, (int)n - at);
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(message);
                    ushort type = BinaryPrimitives.ReadUInt16LittleEndian(message[4..]);
                    if (type is NlmsgDone or NlmsgError) return null;
                    // struct inet_diag_msg after the header: rqueue at 56, wqueue at 60, inode at 68.
                    if (length >= 16 + 72 && BinaryPrimitives.ReadUInt32LittleEndian(message[(16 + 68)..]) == inode)
                        return BinaryPrimitives.ReadUInt32LittleEndian(message[(16 + 60)..]);
                    if (length < 16) return null;
                    at += (length + 3) & ~3;
                }
            }
        }
        finally
        {
            Close(fd);
        }
    }
}
