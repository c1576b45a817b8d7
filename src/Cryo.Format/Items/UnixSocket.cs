namespace Cryo.Format;

/// <summary>The type of a Unix socket, as socket(2) numbers it.</summary>
public enum UnixSocketType : byte
{
    Stream = 1,
    Datagram = 2,
    SeqPacket = 5,
}

/// <summary>
/// <c>USCK</c>: one end of a connected pair of Unix sockets (socketpair) behind a descriptor: its
/// peer, type, shut-down directions, buffer sizes and options, and how many bytes wait in its
/// receive queue. Written right after the first <c>FDES</c> (kind 6) of the open file description
/// in each process that has it; the queued bytes follow as <c>UDAT</c> items after the first
/// <c>USCK</c> of the socket in the file. A restore makes the pair again and sends each end's
/// queued bytes through the other end.
/// </summary>
public sealed record UnixSocket(int Fd, ulong SocketId, ulong PeerId, UnixSocketType Type, byte Shutdown,
    uint SendBuffer, uint ReceiveBuffer, uint Options, int PeekOffset, ulong QueuedBytes) : CheckpointItem
{
    /// <summary>Shut-down directions as the kernel's unix_diag reports them: receiving (SHUT_RD), sending (SHUT_WR).</summary>
    public const byte ReceiveShut = 1, SendShut = 2;
    /// <summary>SO_PASSCRED: the socket receives the sender's credentials with each message.</summary>
    public const uint PassCredentials = 1;

    public static readonly ItemTag TagValue = ItemTag.Parse("USCK");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd); w.U64(SocketId); w.U64(PeerId); w.U8((byte)Type); w.U8(Shutdown);
        w.U32(SendBuffer); w.U32(ReceiveBuffer); w.U32(Options); w.I32(PeekOffset); w.U64(QueuedBytes);
    }

    public static UnixSocket Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        ulong id = r.U64("socket_id");
        if (id == 0) throw r.Invalid("socket_id", id, "a socket id is the socket's inode number, never 0");
        ulong peer = r.U64("peer_id");
        if (peer == id) throw r.Invalid("peer_id", peer, "a socket is not its own peer");
        byte type = r.U8("type");
        if (type is not ((byte)UnixSocketType.Stream or (byte)UnixSocketType.Datagram or (byte)UnixSocketType.SeqPacket))
            throw r.Invalid("type", type, "only 1 (stream), 2 (datagram) and 5 (seqpacket) are defined");
        byte shutdown = r.U8("shutdown");
        if ((shutdown & ~(ReceiveShut | SendShut)) != 0) throw r.Invalid("shutdown", shutdown, "only bits 1 (receive) and 2 (send) are defined");
        uint send = r.U32("send_buffer"), receive = r.U32("receive_buffer");
        uint options = r.U32("options");
        if ((options & ~PassCredentials) != 0) throw r.Invalid("options", $"0x{options:x}", "only bit 0x1 (SO_PASSCRED) is defined");
        int peek = r.I32("peek_offset");
        if (peek < -1) throw r.Invalid("peek_offset", peek, "a peek offset is -1 (off) or not negative");
        return new UnixSocket(fd, id, peer, (UnixSocketType)type, shutdown, send, receive, options, peek, r.U64("queued_bytes"));
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Ino("socket_id", SocketId), ItemField.Ino("peer_id", PeerId),
        ItemField.Num("type", (ulong)Type), ItemField.Hex("shutdown", Shutdown), ItemField.Num("send_buffer", SendBuffer),
        ItemField.Num("receive_buffer", ReceiveBuffer), ItemField.Hex("options", Options), ItemField.Num("peek_offset", (long)PeekOffset),
        ItemField.Num("queued_bytes", QueuedBytes),
    ];
}

/// <summary>
/// <c>UDAT</c>: bytes waiting in the receive queue of the Unix socket <see cref="SocketId"/>, in
/// the order they would be read: one item per message of a datagram or seqpacket socket (a
/// message may be empty), chunks of the byte stream of a stream socket. <see cref="Data"/> is
/// valid until the reader's next GetNextItem call.
/// </summary>
public sealed record UnixSocketData(ulong SocketId, ReadOnlyMemory<byte> Data) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("UDAT");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.U64(SocketId); w.Raw(Data.Span); }

    public static UnixSocketData Decode(ref PayloadReader r, ReadOnlyMemory<byte> payload)
    {
        ulong id = r.U64("socket_id");
        r.Rest();
        return new UnixSocketData(id, payload[8..]);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Ino("socket_id", SocketId), ItemField.Data("data", Data)];
}

/// <summary>
/// <c>USNM</c>: the name a connected Unix socket (stream or seqpacket) of a <c>USCK</c> is bound
/// to: a path as bound (absolute or relative, no NUL), or an abstract name (a NUL, then bytes; its
/// exact length counts). An accepted socket carries the name of the listener that accepted it,
/// and a client may have bound one before it connected. Written right after the first
/// <c>USCK</c> of the socket, before its <c>UDAT</c> items; a socket without it is unnamed. A
/// restore makes such a pair by a connection to a listener bound to the name, so that both ends
/// show the same names (getsockname, getpeername) as before.
/// </summary>
public sealed record UnixSocketName(ulong SocketId, byte[] Name) : CheckpointItem
{
    /// <summary>The longest name: sun_path's size.</summary>
    public const int MaxLength = 108;

    public static readonly ItemTag TagValue = ItemTag.Parse("USNM");
    public override ItemTag Tag => TagValue;

    /// <summary>An abstract name (no file): it starts with a NUL byte.</summary>
    public bool IsAbstract => Name.Length > 0 && Name[0] == 0;

    /// <summary>A Unix socket name for people: a path as it is, an abstract name with '@' for its NUL (as ss shows it).</summary>
    public static string Display(byte[] name) =>
        name.Length > 0 && name[0] == 0 ? $"@{System.Text.Encoding.UTF8.GetString(name.AsSpan(1))}" : System.Text.Encoding.UTF8.GetString(name);

    public override void Encode(PayloadWriter w) { w.U64(SocketId); w.Bytes16(Name); }

    public static UnixSocketName Decode(ref PayloadReader r)
    {
        ulong id = r.U64("socket_id");
        if (id == 0) throw r.Invalid("socket_id", id, "a socket id is the socket's inode number, never 0");
        byte[] name = r.Bytes16("name");
        if (name.Length is 0 or > MaxLength) throw r.Invalid("name", name.Length, $"a bound name is 1 to {MaxLength} bytes (sun_path)");
        if (name[0] != 0 && Array.IndexOf(name, (byte)0) >= 0) throw r.Invalid("name", $"\"{System.Text.Encoding.UTF8.GetString(name).Replace("\0", "\\0")}\"", "a path holds no NUL byte (only an abstract name, which starts with one, may)");
        return new UnixSocketName(id, name);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Ino("socket_id", SocketId), ItemField.Text("name", Name)];
}
