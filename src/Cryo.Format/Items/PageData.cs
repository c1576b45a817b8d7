namespace Cryo.Format;

/// <summary>
/// <c>PAGE</c>: the contents of consecutive pages starting at <see cref="Address"/>; the length is
/// a whole number of pages (header page size). A reader hands out <see cref="Data"/> from its own
/// buffer: it is valid until the next call to <see cref="CheckpointReader.GetNextItem"/>.
/// </summary>
public sealed record PageData(ulong Address, ReadOnlyMemory<byte> Data) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("PAGE");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.U64(Address); w.Raw(Data.Span); }

    public static PageData Decode(ref PayloadReader r, ReadOnlyMemory<byte> payload)
    {
        ulong address = r.U64("address");
        if (r.Remaining == 0) throw r.Error("a PAGE item holds at least one page");
        r.Rest();
        return new PageData(address, payload[8..]);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Addr("address", Address), ItemField.Blob("data", Data)];
}
