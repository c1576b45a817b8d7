namespace Cryo.Format;

/// <summary>
/// <c>ISCK</c>: a listening TCP socket (IPv4 or IPv6) behind a descriptor: the address and port
/// it is bound to, its backlog and the options that shape how it listens and what the
/// connections it accepts inherit. Written right after the first <c>FDES</c> (kind 6) of the open
/// file description in each process that has it. Only listening sockets with no connection
/// waiting to be accepted are written: a connection's state is shared with its peer.
/// </summary>
public sealed record InetSocket(int Fd, byte Family, ushort Port, byte[] Address, uint ScopeId, uint Backlog, uint Options,
    uint DeferAcceptSeconds, uint FastOpenQueue) : CheckpointItem
{
    public const byte Inet = 2, Inet6 = 10;
    /// <summary>Option bits: SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, IPV6_V6ONLY, TCP_NODELAY.</summary>
    public const uint ReuseAddress = 0x1, ReusePort = 0x2, KeepAlive = 0x4, V6Only = 0x8, NoDelay = 0x10;
    private const uint KnownOptions = 0x1f;

    public static readonly ItemTag TagValue = ItemTag.Parse("ISCK");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        if (Address.Length != 16) throw new ArgumentException($"ISCK of fd {Fd}: the address is {Address.Length} bytes, the format has 16 (IPv4 in the first 4)");
        w.I32(Fd); w.U8(Family); w.U16(Port); w.Raw(Address); w.U32(ScopeId); w.U32(Backlog); w.U32(Options);
        w.U32(DeferAcceptSeconds); w.U32(FastOpenQueue);
    }

    public static InetSocket Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        byte family = r.U8("family");
        if (family is not (Inet or Inet6)) throw r.Invalid("family", family, "only 2 (AF_INET) and 10 (AF_INET6) are defined");
        ushort port = r.U16("port");
        byte[] address = r.Raw(16, "address").ToArray();
        if (family == Inet && address.AsSpan(4).IndexOfAnyExcept((byte)0) >= 0)
            throw r.Invalid("address", Convert.ToHexString(address), "an IPv4 address is the first 4 bytes, the rest 0");
        uint scope = r.U32("scope_id");
        if (family == Inet && scope != 0) throw r.Invalid("scope_id", scope, "an IPv4 socket has no scope");
        uint backlog = r.U32("backlog");
        uint options = r.U32("options");
        if ((options & ~KnownOptions) != 0) throw r.Invalid("options", $"0x{options:x}", "only bits 0x1 to 0x10 are defined");
        if (family == Inet && (options & V6Only) != 0) throw r.Invalid("options", $"0x{options:x}", "IPV6_V6ONLY (0x8) is for IPv6 sockets");
        return new InetSocket(fd, family, port, address, scope, backlog, options, r.U32("defer_accept"), r.U32("fastopen_queue"));
    }

    /// <summary>The address as text: dotted IPv4, or IPv6.</summary>
    public string AddressText => new System.Net.IPAddress(Family == Inet ? Address[..4] : Address).ToString();

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Num("family", (ulong)Family), ItemField.Vol("port", Port),
        ItemField.Text("address", System.Text.Encoding.ASCII.GetBytes(AddressText)), ItemField.Num("scope_id", ScopeId),
        ItemField.Num("backlog", Backlog), ItemField.Hex("options", Options), ItemField.Num("defer_accept", DeferAcceptSeconds),
        ItemField.Num("fastopen_queue", FastOpenQueue),
    ];
}
