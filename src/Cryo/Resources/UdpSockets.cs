using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;

namespace Cryo.Resources;

/// <summary>
/// UDP sockets, IPv4 and IPv6 (UDPS), for <see cref="InetSockets"/>' dispatch: a metrics or log
/// client that keeps its socket (statsd, syslog over UDP), a small DNS or discovery service. Saved:
/// the local address and port, the connected peer, SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST,
/// IPV6_V6ONLY, the buffer sizes and the type of service. A restore makes the socket in cryo,
/// binds it where it was bound (the old socket went with the killed process, so the port is
/// free) and connects it to its peer. Refused: datagrams waiting to be read (their senders cannot
/// be made again), a corked socket (its datagram is half written), one bound to a device.
/// docs/engine-files.md, "UDP sockets".
/// </summary>
internal static class UdpSockets
{
    public static InetDatagramSocket Dump(OpenFile file, int copy, int family, Func<string, UnsupportedResourceException> refuse, string what)
    {
        if (Native.Readable(copy, what))
            throw refuse(Native.DatagramWaits(copy, what)
                ? "datagrams wait in its queue to be read, which cannot be saved (their senders cannot be made again): checkpoint again once the program has read them"
                : "it is shut down for reading (shutdown(SHUT_RD)), which cryo does not save yet");
        if (Native.GetSocketOption(copy, Native.IPPROTO_UDP, Native.UDP_CORK, what) != 0)
            throw refuse("it is corked (UDP_CORK): a datagram may be half written, which cannot be saved");
        if (Native.BoundDevice(copy, what) is { Length: > 0 } device)
            throw refuse($"it is bound to the device {device} (SO_BINDTODEVICE), which cryo does not save yet");
        var local = Native.SocketName(copy, what);
        if (local.Port == 0 && local.Address.AsSpan().IndexOfAnyExcept((byte)0) >= 0)
            throw refuse("it is bound to an address without a port (IP_BIND_ADDRESS_NO_PORT), which cryo does not save yet");
        var peer = Native.PeerName(copy, what) ?? (family, (ushort)0, new byte[16], 0u);
        bool v6 = family == Native.AF_INET6;
        uint options = (Native.GetSocketOption(copy, Native.SO_REUSEADDR, what) != 0 ? InetDatagramSocket.ReuseAddress : 0)
            | (Native.GetSocketOption(copy, Native.SO_REUSEPORT, what) != 0 ? InetDatagramSocket.ReusePort : 0)
            | (Native.GetSocketOption(copy, Native.SO_BROADCAST, what) != 0 ? InetDatagramSocket.Broadcast : 0)
            | (v6 && Native.GetSocketOption(copy, Native.IPPROTO_IPV6, Native.IPV6_V6ONLY, what) != 0 ? InetDatagramSocket.V6Only : 0);
        int tos = v6 ? Native.GetSocketOption(copy, Native.IPPROTO_IPV6, Native.IPV6_TCLASS, what) : Native.GetSocketOption(copy, Native.IPPROTO_IP, Native.IP_TOS, what);
        return new InetDatagramSocket(file.Fd, (byte)family, local.Port, local.Address, local.ScopeId, peer.Port, peer.Address, peer.ScopeId, options,
            (uint)Native.GetSocketOption(copy, Native.SO_SNDBUF, what), (uint)Native.GetSocketOption(copy, Native.SO_RCVBUF, what), (uint)(tos & 0xff));
    }

    /// <summary>
    /// A UDP socket in cryo as the image's was: options, buffer sizes (half the saved value:
    /// getsockopt shows the kernel's doubled number) and type of service, then bound and
    /// connected. A port in use (the original left running, another program) fails the restore,
    /// naming the address.
    /// </summary>
    /// <remarks>
    /// A connected socket is bound to the wildcard address with its port, and its connect picks
    /// the local address as it did at first: bound to a specific address, an IPv6 socket would be
    /// IPv6-only from then on (the kernel sets IPV6_V6ONLY at such a bind), and a disconnect
    /// (connect to AF_UNSPEC) would keep the address. Only when routing now picks another address
    /// is it made again bound to the saved one.
    /// </remarks>
    public static int Open(InetDatagramSocket item, string what)
    {
        if (!item.IsConnected) return Make(item, item.LocalAddress, item.LocalScopeId, what);
        int fd = Make(item, new byte[16], 0, what);
        if (Native.SocketName(fd, what).Address.AsSpan().SequenceEqual(item.LocalAddress)) return fd;
        Native.Close(fd);
        return Make(item, item.LocalAddress, item.LocalScopeId, what);
    }

    /// <summary>The socket with its options, bound to <paramref name="address"/> and the saved port if it was bound, connected if it was.</summary>
    private static int Make(InetDatagramSocket item, byte[] address, uint scope, string what)
    {
        int fd = Native.Socket(item.Family, Native.SOCK_DGRAM | Native.SOCK_CLOEXEC, Native.IPPROTO_UDP, what);
        try
        {
            void Flag(int level, int name, uint bit)
            {
                if ((item.Options & bit) != 0) Native.SetSocketOption(fd, level, name, 1, what);
            }
            Flag(Native.SOL_SOCKET, Native.SO_REUSEADDR, InetDatagramSocket.ReuseAddress);
            Flag(Native.SOL_SOCKET, Native.SO_REUSEPORT, InetDatagramSocket.ReusePort);
            Flag(Native.SOL_SOCKET, Native.SO_BROADCAST, InetDatagramSocket.Broadcast);
            bool v6 = item.Family == InetSocket.Inet6;
            if (v6) Native.SetSocketOption(fd, Native.IPPROTO_IPV6, Native.IPV6_V6ONLY, (item.Options & InetDatagramSocket.V6Only) != 0 ? 1 : 0, what);
            Native.SetSocketOption(fd, Native.SO_SNDBUFFORCE, (int)(item.SendBuffer / 2), what);
            Native.SetSocketOption(fd, Native.SO_RCVBUFFORCE, (int)(item.ReceiveBuffer / 2), what);
            if (item.TypeOfService != 0)
                Native.SetSocketOption(fd, v6 ? Native.IPPROTO_IPV6 : Native.IPPROTO_IP, v6 ? Native.IPV6_TCLASS : Native.IP_TOS, (int)item.TypeOfService, what);
            if (item.IsBound)
            {
                try { Native.BindInet(fd, item.Family, item.LocalPort, address, scope, what); }
                catch (SysCallException e) when (e.Errno == ErrnoNames.EADDRINUSE)
                {
                    throw new InvalidOperationException(
                        $"{what}: cannot bind to {item.AddressText(item.LocalAddress)} port {item.LocalPort} again: the address is in use (the original, if it was left running, or another program)");
                }
            }
            if (item.IsConnected) Native.ConnectInet(fd, item.Family, item.PeerPort, item.PeerAddress, item.PeerScopeId, what);
            return fd;
        }
        catch
        {
            Native.Close(fd);
            throw;
        }
    }
}
