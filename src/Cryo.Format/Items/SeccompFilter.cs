namespace Cryo.Format;

/// <summary>One classic BPF instruction of a seccomp filter (struct sock_filter).</summary>
public readonly record struct BpfInstruction(ushort Code, byte JumpTrue, byte JumpFalse, uint K);

/// <summary>
/// <c>SCMF</c>: one seccomp filter of a process, as PTRACE_SECCOMP_GET_FILTER shows it: its
/// classic BPF program and its flags, and the filter it was stacked on (<see cref="ParentId"/>,
/// 0 for the first of a chain). Filters are numbered from 1 in each <c>PROC</c> section and
/// written before any <c>THRD</c>, parents first; a thread's <c>SCMT</c> names the last filter of
/// its chain. A restore installs each thread's chain again, first filter first, as the last
/// thing before the thread runs.
/// </summary>
public sealed record SeccompFilter(uint FilterId, uint ParentId, uint Flags, BpfInstruction[] Program) : CheckpointItem
{
    /// <summary>SECCOMP_FILTER_FLAG_LOG: actions other than SECCOMP_RET_ALLOW are logged.</summary>
    public const uint Log = 2;
    /// <summary>BPF_MAXINSNS: the longest program the kernel accepts.</summary>
    public const int MaxInstructions = 4096;

    public static readonly ItemTag TagValue = ItemTag.Parse("SCMF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U32(FilterId); w.U32(ParentId); w.U32(Flags);
        w.Count(Program.Length);
        foreach (var i in Program) { w.U16(i.Code); w.U8(i.JumpTrue); w.U8(i.JumpFalse); w.U32(i.K); }
    }

    public static SeccompFilter Decode(ref PayloadReader r)
    {
        uint id = r.U32("filter_id");
        if (id == 0) throw r.Invalid("filter_id", id, "filters are numbered from 1");
        uint parent = r.U32("parent_id");
        if (parent >= id) throw r.Invalid("parent_id", parent, $"a filter's parent is written before it (a lower id than {id})");
        uint flags = r.U32("flags");
        if ((flags & ~Log) != 0) throw r.Invalid("flags", $"0x{flags:x}", "only bit 0x2 (SECCOMP_FILTER_FLAG_LOG) is defined");
        int count = r.Count("program", 8);
        if (count is 0 or > MaxInstructions) throw r.Invalid("program.count", count, $"a seccomp program has 1 to {MaxInstructions} instructions");
        var program = new BpfInstruction[count];
        for (int i = 0; i < count; i++) program[i] = new BpfInstruction(r.U16("code"), r.U8("jt"), r.U8("jf"), r.U32("k"));
        return new SeccompFilter(id, parent, flags, program);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("filter_id", FilterId), ItemField.Num("parent_id", ParentId), ItemField.Hex("flags", Flags),
        ItemField.List("program", [.. Program.Select(i => (IReadOnlyList<ItemField>)
            [ItemField.Hex("code", i.Code), ItemField.Num("jt", (ulong)i.JumpTrue), ItemField.Num("jf", (ulong)i.JumpFalse), ItemField.Hex("k", i.K)])]),
    ];
}

/// <summary>The seccomp mode of a thread ("Seccomp:" in /proc/PID/task/TID/status; PR_GET_SECCOMP would kill a thread in strict mode).</summary>
public enum SeccompMode : byte
{
    /// <summary>SECCOMP_MODE_STRICT: only read, write, _exit and sigreturn.</summary>
    Strict = 1,
    /// <summary>SECCOMP_MODE_FILTER: the thread's chain of BPF filters decides.</summary>
    Filter = 2,
}

/// <summary>
/// <c>SCMT</c>: the seccomp mode of one thread, in its <c>THRD</c> section; only for a thread
/// under seccomp. In filter mode <see cref="FilterId"/> names the last <c>SCMF</c> of its chain
/// (the most recently installed; the rest follow by <c>parent_id</c>); in strict mode it is 0.
/// </summary>
public sealed record ThreadSeccomp(SeccompMode Mode, uint FilterId) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("SCMT");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.U8((byte)Mode); w.U32(FilterId); }

    public static ThreadSeccomp Decode(ref PayloadReader r)
    {
        byte mode = r.U8("mode");
        if (mode is not ((byte)SeccompMode.Strict or (byte)SeccompMode.Filter))
            throw r.Invalid("mode", mode, "only 1 (strict) and 2 (filter) are defined");
        uint id = r.U32("filter_id");
        if ((mode == (byte)SeccompMode.Filter) != (id != 0))
            throw r.Invalid("filter_id", id, "a thread in filter mode names its last filter; one in strict mode names none (0)");
        return new ThreadSeccomp((SeccompMode)mode, id);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Num("mode", (ulong)Mode), ItemField.Num("filter_id", FilterId)];
}
