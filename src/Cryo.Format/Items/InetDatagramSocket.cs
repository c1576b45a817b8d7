namespace Cryo.Format;

/// <summary>
/// <c>UDPS</c>: a UDP socket (IPv4 or IPv6) behind a descriptor: the local address and port it
/// is bound to (port 0: not bound yet), the peer it is connected to (port 0: none), its options
/// and buffer sizes. Written right after the first <c>FDES</c> (kind 6) of the open file
/// description in each process that has it. Only sockets with no datagram waiting to be read and
/// none corked are written: a datagram's sender cannot be made again.
/// </summary>
public sealed record InetDatagramSocket(int Fd, byte Family, ushort LocalPort, byte[] LocalAddress, uint LocalScopeId,
    ushort PeerPort, byte[] PeerAddress, uint PeerScopeId, uint Options, uint SendBuffer, uint ReceiveBuffer, uint TypeOfService) : CheckpointItem
{
    /// <summary>Option bits: SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST, IPV6_V6ONLY.</summary>
    public const uint ReuseAddress = 0x1, ReusePort = 0x2, Broadcast = 0x4, V6Only = 0x8;
    private const uint KnownOptions = 0xf;

    public static readonly ItemTag TagValue = ItemTag.Parse("UDPS");
    public override ItemTag Tag => TagValue;

    public bool IsBound => LocalPort != 0;
    public bool IsConnected => PeerPort != 0;

    public override void Encode(PayloadWriter w)
    {
        if (LocalAddress.Length != 16 || PeerAddress.Length != 16)
            throw new ArgumentException($"UDPS of fd {Fd}: the addresses are {LocalAddress.Length} and {PeerAddress.Length} bytes, the format has 16 (IPv4 in the first 4)");
        w.I32(Fd); w.U8(Family);
        w.U16(LocalPort); w.Raw(LocalAddress); w.U32(LocalScopeId);
        w.U16(PeerPort); w.Raw(PeerAddress); w.U32(PeerScopeId);
        w.U32(Options); w.U32(SendBuffer); w.U32(ReceiveBuffer); w.U32(TypeOfService);
    }

    public static InetDatagramSocket Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        byte family = r.U8("family");
        if (family is not (InetSocket.Inet or InetSocket.Inet6)) throw r.Invalid("family", family, "only 2 (AF_INET) and 10 (AF_INET6) are defined");
        var (localPort, local, localScope) = Endpoint(ref r, family, "local");
        var (peerPort, peer, peerScope) = Endpoint(ref r, family, "peer");
        if (peerPort != 0 && localPort == 0) throw r.Invalid("local_port", 0, "a connected socket is bound (connect binds it)");
        uint options = r.U32("options");
        if ((options & ~KnownOptions) != 0) throw r.Invalid("options", $"0x{options:x}", "only bits 0x1 to 0x8 are defined");
        if (family == InetSocket.Inet && (options & V6Only) != 0) throw r.Invalid("options", $"0x{options:x}", "IPV6_V6ONLY (0x8) is for IPv6 sockets");
        uint send = r.U32("send_buffer"), receive = r.U32("receive_buffer");
        uint tos = r.U32("tos");
        if (tos > 0xff) throw r.Invalid("tos", tos, "a type of service (traffic class) is one byte");
        return new InetDatagramSocket(fd, family, localPort, local, localScope, peerPort, peer, peerScope, options, send, receive, tos);
    }

    private static (ushort Port, byte[] Address, uint Scope) Endpoint(ref PayloadReader r, byte family, string which)
    {
        ushort port = r.U16($"{which}_port");
        byte[] address = r.Raw(16, $"{which}_address").ToArray();
        if (family == InetSocket.Inet && address.AsSpan(4).IndexOfAnyExcept((byte)0) >= 0)
            throw r.Invalid($"{which}_address", Convert.ToHexString(address), "an IPv4 address is the first 4 bytes, the rest 0");
        uint scope = r.U32($"{which}_scope_id");
        if (family == InetSocket.Inet && scope != 0) throw r.Invalid($"{which}_scope_id", scope, "an IPv4 socket has no scope");
        return (port, address, scope);
    }

    /// <summary>An address as text: dotted IPv4, or IPv6.</summary>
    public string AddressText(byte[] address) => new System.Net.IPAddress(Family == InetSocket.Inet ? address[..4] : address).ToString();

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("family", (ulong)Family),
        ItemField.Vol("local_port", LocalPort), ItemField.Text("local_address", System.Text.Encoding.ASCII.GetBytes(AddressText(LocalAddress))),
        ItemField.Num("local_scope_id", LocalScopeId),
        ItemField.Vol("peer_port", PeerPort), ItemField.Text("peer_address", System.Text.Encoding.ASCII.GetBytes(AddressText(PeerAddress))),
        ItemField.Num("peer_scope_id", PeerScopeId),
        ItemField.Hex("options", Options), ItemField.Num("send_buffer", SendBuffer), ItemField.Num("receive_buffer", ReceiveBuffer),
        ItemField.Hex("tos", TypeOfService),
    ];
}
