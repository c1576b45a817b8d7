namespace Cryo.Format;

/// <summary>One guard region: a range of pages that faults on every access, inside one area.</summary>
public readonly record struct GuardRange(ulong Start, ulong End);

/// <summary>
/// <c>GARD</c>: the guard regions of a process (madvise(MADV_GUARD_INSTALL), Linux 6.13+): page
/// ranges inside its areas that raise SIGSEGV on any access, without an area of their own (the
/// kernel keeps them as markers in the page table, shown in /proc/PID/pagemap). Their pages hold
/// no data and are not stored. Written after <c>MADV</c>, only when there is any; a restore
/// installs them again once every page is in.
/// </summary>
public sealed record GuardRegions(GuardRange[] Ranges) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("GARD");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.Count(Ranges.Length);
        foreach (var range in Ranges) { w.U64(range.Start); w.U64(range.End); }
    }

    public static GuardRegions Decode(ref PayloadReader r)
    {
        var ranges = new GuardRange[r.Count("ranges", 16)];
        if (ranges.Length == 0) throw r.Invalid("ranges", 0, "a GARD lists at least one range");
        ulong previousEnd = 0;
        for (int i = 0; i < ranges.Length; i++)
        {
            var (start, end) = r.AscendingRange(ref previousEnd, "a range", "ranges");
            ranges[i] = new GuardRange(start, end);
        }
        return new GuardRegions(ranges);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.List("ranges", Ranges.Select(g => (IReadOnlyList<ItemField>)
            [ItemField.Addr("start", g.Start), ItemField.Addr("end", g.End)]).ToArray()),
    ];
}
