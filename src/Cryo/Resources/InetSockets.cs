using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;

namespace Cryo.Resources;

/// <summary>
/// Listening TCP sockets, IPv4 and IPv6 (ISCK), for <see cref="UnixSockets"/>' dispatch: a job
/// that serves (an HTTP endpoint, a notebook, a metrics exporter) holds one. Saved: the bound
/// address and port, the backlog (inet_diag), and the options that shape listening and what the
/// accepted connections inherit. A restore binds and listens again in cryo (the old socket is
/// closed with the killed process, so the port is free again). UDP sockets go to
/// <see cref="UdpSockets"/>. Refused: connected and unconnected TCP sockets (a connection's state
/// lives in its peer too), raw sockets, a
/// listener with connections waiting to be accepted, one bound to a device.
/// docs/engine-files.md, "Listening TCP sockets".
/// </summary>
internal static class InetSockets
{
    /// <summary>The default backlog when inet_diag cannot say: what listen() makes of SOMAXCONN (4096 on 5.4+).</summary>
    private const int UnknownBacklog = 4096;

    public static CheckpointItem Dump(int pid, OpenFile file, int copy, int domain, Func<string, UnsupportedResourceException> refuse, string what)
    {
        int type = Native.GetSocketOption(copy, Native.SO_TYPE, what);
        int protocol = Native.GetSocketOption(copy, Native.SO_PROTOCOL, what);
        if (type == Native.SOCK_DGRAM && protocol == Native.IPPROTO_UDP) return UdpSockets.Dump(file, copy, domain, refuse, what);
        if (type != Native.SOCK_STREAM || protocol != Native.IPPROTO_TCP)
            throw refuse($"IP sockets of type {type}, protocol {protocol} are not supported yet (listening TCP and UDP ones are)");
        if (Native.GetSocketOption(copy, Native.SO_ACCEPTCONN, what) == 0)
            throw refuse("a TCP socket that does not listen (connected, or not yet) is not supported: a connection's state lives in its peer too; listening TCP sockets are");
        if (Native.Readable(copy, what))
            throw refuse("connections wait in its queue to be accepted, which cannot be saved: checkpoint again once the program has accepted them");
        if (Native.BoundDevice(copy, what) is { Length: > 0 } device)
            throw refuse($"it is bound to the device {device} (SO_BINDTODEVICE), which cryo does not save yet");
        var (family, port, address, scope) = Native.SocketName(copy, what);
        uint options = (Native.GetSocketOption(copy, Native.SO_REUSEADDR, what) != 0 ? InetSocket.ReuseAddress : 0)
            | (Native.GetSocketOption(copy, Native.SO_REUSEPORT, what) != 0 ? InetSocket.ReusePort : 0)
            | (Native.GetSocketOption(copy, Native.SO_KEEPALIVE, what) != 0 ? InetSocket.KeepAlive : 0)
            | (family == Native.AF_INET6 && Native.GetSocketOption(copy, Native.IPPROTO_IPV6, Native.IPV6_V6ONLY, what) != 0 ? InetSocket.V6Only : 0)
            | (Native.GetSocketOption(copy, Native.IPPROTO_TCP, Native.TCP_NODELAY, what) != 0 ? InetSocket.NoDelay : 0);
        uint backlog = Native.ListenBacklog(family, (uint)file.Status.Inode, what) ?? 0;
        return new InetSocket(file.Fd, (byte)family, port, address, scope, backlog, options,
            (uint)Native.GetSocketOption(copy, Native.IPPROTO_TCP, Native.TCP_DEFER_ACCEPT, what),
            (uint)Native.GetSocketOption(copy, Native.IPPROTO_TCP, Native.TCP_FASTOPEN, what));
    }

    /// <summary>
    /// A listener in cryo bound where the image's was, with its options and backlog. The
    /// address must be free: a program still listening there (the original left running,
    /// another one) fails the restore, naming the address.
    /// </summary>
    public static int Open(InetSocket item, int pid, string what, Action<string> warn)
    {
        int fd = Native.Socket(item.Family, Native.SOCK_STREAM | Native.SOCK_CLOEXEC, Native.IPPROTO_TCP, what);
        try
        {
            void Flag(int level, int name, uint bit)
            {
                if ((item.Options & bit) != 0) Native.SetSocketOption(fd, level, name, 1, what);
            }
            Flag(Native.SOL_SOCKET, Native.SO_REUSEADDR, InetSocket.ReuseAddress);
            Flag(Native.SOL_SOCKET, Native.SO_REUSEPORT, InetSocket.ReusePort);
            Flag(Native.SOL_SOCKET, Native.SO_KEEPALIVE, InetSocket.KeepAlive);
            if (item.Family == InetSocket.Inet6)
                Native.SetSocketOption(fd, Native.IPPROTO_IPV6, Native.IPV6_V6ONLY, (item.Options & InetSocket.V6Only) != 0 ? 1 : 0, what);
            Flag(Native.IPPROTO_TCP, Native.TCP_NODELAY, InetSocket.NoDelay);
            if (item.DeferAcceptSeconds != 0) Native.SetSocketOption(fd, Native.IPPROTO_TCP, Native.TCP_DEFER_ACCEPT, (int)item.DeferAcceptSeconds, what);
            if (item.FastOpenQueue != 0) Native.SetSocketOption(fd, Native.IPPROTO_TCP, Native.TCP_FASTOPEN, (int)item.FastOpenQueue, what);
            int backlog = item.Backlog == 0 ? UnknownBacklog : (int)Math.Min(item.Backlog, int.MaxValue);
            if (item.Backlog == 0) warn($"{what}: its backlog was not saved (no inet_diag at the checkpoint): it listens with {UnknownBacklog}");
            try { Native.BindAndListen(fd, item.Family, item.Port, item.Address, item.ScopeId, backlog, what); }
            catch (SysCallException e) when (e.Errno == ErrnoNames.EADDRINUSE)
            {
                throw new InvalidOperationException(
                    $"{what}: cannot listen on {item.AddressText} port {item.Port} again: the address is in use (the original, if it was left running, or another program)");
            }
            return fd;
        }
        catch
        {
            Native.Close(fd);
            throw;
        }
    }
}
