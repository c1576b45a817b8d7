namespace Cryo.Format;

/// <summary>
/// <c>STAT</c> (optional): how the checkpoint went. Readers that do not know it skip it, which
/// makes it the format's standing example of an optional item.
/// </summary>
public sealed record CheckpointStats(ulong FrozenNanoseconds, ulong PagesWritten, uint Processes, uint Threads) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("STAT");
    public override ItemTag Tag => TagValue;
    public override bool IsCritical => false;

    public override void Encode(PayloadWriter w) { w.U64(FrozenNanoseconds); w.U64(PagesWritten); w.U32(Processes); w.U32(Threads); }

    public static CheckpointStats Decode(ref PayloadReader r) =>
        new(r.U64("frozen_ns"), r.U64("pages_written"), r.U32("processes"), r.U32("threads"));

    public override IReadOnlyList<ItemField> Describe() =>
    [
        // How many pages a run writes depends on its stack and heap at that moment.
        new("frozen_ns", FieldKind.Time, FrozenNanoseconds), ItemField.Vol("pages_written", PagesWritten),
        ItemField.Num("processes", (ulong)Processes), ItemField.Num("threads", (ulong)Threads),
    ];
}
