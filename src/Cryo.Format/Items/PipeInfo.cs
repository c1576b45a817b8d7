namespace Cryo.Format;

public enum PipeKind : byte { Anonymous = 0, Named = 1 }

/// <summary>
/// <c>FINF</c>: one pipe or FIFO in the <c>FIFO</c> section (the seed's fifofdinfo): its id (shared with
/// the <c>FDES</c> items of its ends), capacity in bytes, and how many unread bytes it held. Its
/// contents follow as <c>FBUF</c> items; when <see cref="Packetized"/> is set each FBUF is one packet
/// (O_DIRECT pipes keep message boundaries), else they are consecutive chunks.
/// </summary>
public sealed record PipeInfo(ulong PipeId, PipeKind Kind, bool Packetized, uint Capacity, ulong ByteCount) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("FINF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U64(PipeId); w.U8((byte)Kind); w.U8(Packetized ? (byte)1 : (byte)0); w.U32(Capacity); w.U64(ByteCount);
    }

    public static PipeInfo Decode(ref PayloadReader r)
    {
        ulong id = r.U64("pipe_id");
        byte kind = r.U8("kind");
        if (kind > 1) throw r.Invalid("kind", kind, "0 is an anonymous pipe, 1 a named FIFO");
        byte packetized = r.U8("packetized");
        if (packetized > 1) throw r.Invalid("packetized", packetized, "a boolean is 0 or 1");
        uint capacity = r.U32("capacity");
        ulong count = r.U64("byte_count");
        if (count > capacity) throw r.Invalid("byte_count", count, $"a pipe cannot hold more than its capacity {capacity}");
        return new PipeInfo(id, (PipeKind)kind, packetized == 1, capacity, count);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Ino("pipe_id", PipeId), ItemField.Num("kind", (ulong)Kind), ItemField.Num("packetized", Packetized ? 1UL : 0UL),
        ItemField.Num("capacity", (ulong)Capacity), ItemField.Num("byte_count", ByteCount),
    ];
}
