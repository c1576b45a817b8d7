namespace Cryo.Format;

/// <summary>One auxiliary-vector entry (AT_* type and value) as in /proc/PID/auxv.</summary>
public readonly record struct AuxEntry(ulong Type, ulong Value);

/// <summary>
/// <c>MMST</c>: the mm fields the kernel keeps per process (what prctl PR_SET_MM_MAP takes back)
/// and the auxiliary vector.
/// </summary>
public sealed record MemoryLayout(
    ulong StartCode, ulong EndCode, ulong StartData, ulong EndData,
    ulong StartBrk, ulong Brk, ulong StartStack,
    ulong ArgStart, ulong ArgEnd, ulong EnvStart, ulong EnvEnd,
    AuxEntry[] Auxv) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("MMST");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U64(StartCode); w.U64(EndCode); w.U64(StartData); w.U64(EndData);
        w.U64(StartBrk); w.U64(Brk); w.U64(StartStack);
        w.U64(ArgStart); w.U64(ArgEnd); w.U64(EnvStart); w.U64(EnvEnd);
        w.Count(Auxv.Length);
        foreach (var a in Auxv) { w.U64(a.Type); w.U64(a.Value); }
    }

    public static MemoryLayout Decode(ref PayloadReader r)
    {
        ulong sc = r.U64("start_code"), ec = r.U64("end_code"), sd = r.U64("start_data"), ed = r.U64("end_data");
        ulong sb = r.U64("start_brk"), brk = r.U64("brk"), ss = r.U64("start_stack");
        ulong a0 = r.U64("arg_start"), a1 = r.U64("arg_end"), e0 = r.U64("env_start"), e1 = r.U64("env_end");
        var auxv = new AuxEntry[r.Count("auxv", 16)];
        for (int i = 0; i < auxv.Length; i++) auxv[i] = new AuxEntry(r.U64("type"), r.U64("value"));
        return new MemoryLayout(sc, ec, sd, ed, sb, brk, ss, a0, a1, e0, e1, auxv);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Addr("start_code", StartCode), ItemField.Addr("end_code", EndCode),
        ItemField.Addr("start_data", StartData), ItemField.Addr("end_data", EndData),
        ItemField.Addr("start_brk", StartBrk), ItemField.Addr("brk", Brk), ItemField.Addr("start_stack", StartStack),
        ItemField.Addr("arg_start", ArgStart), ItemField.Addr("arg_end", ArgEnd),
        ItemField.Addr("env_start", EnvStart), ItemField.Addr("env_end", EnvEnd),
        // The kernel's choice of entries changes between versions, so the whole vector is volatile.
        new("auxv", FieldKind.Volatile, Auxv.Select(a => (IReadOnlyList<ItemField>)
            [ItemField.Num("type", a.Type), ItemField.Vol("value", a.Value)]).ToArray()),
    ];
}
