namespace Cryo.Format;

/// <summary>
/// <c>GREG</c>: the general-purpose registers of a thread, the 27 words of the x86-64
/// user_regs_struct (NT_PRSTATUS) in the order of <see cref="Names"/>, each a u64.
/// </summary>
public sealed record Registers(ulong[] Values) : CheckpointItem
{
    public static readonly string[] Names =
    [
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi",
        "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
    ];

    public const int Count = 27;
    public static readonly ItemTag TagValue = ItemTag.Parse("GREG");
    public override ItemTag Tag => TagValue;

    public ulong this[string name] => Values[Array.IndexOf(Names, name)];

    public override void Encode(PayloadWriter w)
    {
        if (Values.Length != Count) throw new ArgumentException($"GREG holds {Count} registers, not {Values.Length}");
        foreach (ulong v in Values) w.U64(v);
    }

    public static Registers Decode(ref PayloadReader r)
    {
        var values = new ulong[Count];
        for (int i = 0; i < Count; i++) values[i] = r.U64(Names[i]);
        return new Registers(values);
    }

    // Segment selectors are fixed by the kernel ABI and stay stable; the rest depend on the run.
    private static readonly HashSet<string> Stable = ["cs", "ss", "ds", "es", "fs", "gs"];

    public override IReadOnlyList<ItemField> Describe() =>
        Names.Select((n, i) => Stable.Contains(n) ? ItemField.Hex(n, Values[i]) : ItemField.Vol(n, Values[i])).ToArray();

    public bool Equals(Registers? other) => other is not null && Values.AsSpan().SequenceEqual(other.Values);
    public override int GetHashCode() => Values.Length == 0 ? 0 : HashCode.Combine(Values[0], Values[^1]);
}
