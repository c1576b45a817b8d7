namespace Cryo.Format;

/// <summary>
/// <c>FBUF</c>: unread bytes of the pipe <see cref="PipeId"/> (the seed's fifobufs), following its
/// <c>FINF</c>. <see cref="Data"/> is valid until the reader's next GetNextItem call.
/// </summary>
public sealed record PipeData(ulong PipeId, ReadOnlyMemory<byte> Data) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("FBUF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.U64(PipeId); w.Raw(Data.Span); }

    public static PipeData Decode(ref PayloadReader r, ReadOnlyMemory<byte> payload)
    {
        ulong id = r.U64("pipe_id");
        r.Rest();
        return new PipeData(id, payload[8..]);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Ino("pipe_id", PipeId), ItemField.Data("data", Data)];
}
