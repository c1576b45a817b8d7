namespace Cryo.Format;

/// <summary>
/// <c>TRLR</c>: the last item. <see cref="ItemCount"/> counts every item before it (section frames
/// included); <see cref="ChainChecksum"/> is the CRC-32C over the header's checksum and then every
/// item's checksum, each as 4 little-endian bytes, in file order. With the per-item checksums this
/// covers every byte of the file and detects items that were dropped, repeated or reordered.
/// </summary>
public sealed record Trailer(ulong ItemCount, uint ChainChecksum) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("TRLR");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.U64(ItemCount); w.U32(ChainChecksum); }

    public static Trailer Decode(ref PayloadReader r) => new(r.U64("item_count"), r.U32("chain_crc"));

    public override IReadOnlyList<ItemField> Describe() =>
        [ItemField.Num("item_count", ItemCount), ItemField.Hex("chain_crc", ChainChecksum)];
}
