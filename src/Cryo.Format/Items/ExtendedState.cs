namespace Cryo.Format;

/// <summary>
/// <c>XSTA</c>: a thread's FPU/SSE/AVX state as the kernel's XSAVE area (NT_X86_XSTATE), with the
/// feature mask (XCR0) of the CPU it was taken on. The area's size depends on the CPU; a restore
/// must refuse a CPU lacking features set in <see cref="Xcr0"/>.
/// </summary>
public sealed record ExtendedState(ulong Xcr0, byte[] Area) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("XSTA");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.U64(Xcr0); w.U32((uint)Area.Length); w.Raw(Area); }

    public static ExtendedState Decode(ref PayloadReader r)
    {
        ulong xcr0 = r.U64("xcr0");
        uint size = r.U32("size");
        if (size != r.Remaining) throw r.Invalid("size", size, $"the area that follows is {r.Remaining} bytes");
        return new ExtendedState(xcr0, r.Raw((int)size, "area").ToArray());
    }

    public override IReadOnlyList<ItemField> Describe() =>
        // The area's size and contents depend on the CPU, so all three fields are volatile.
        [ItemField.Vol("xcr0", Xcr0), ItemField.Vol("size", (ulong)Area.Length), new("area", FieldKind.Volatile, new ReadOnlyMemory<byte>(Area))];

    public bool Equals(ExtendedState? other) => other is not null && Xcr0 == other.Xcr0 && Area.AsSpan().SequenceEqual(other.Area);
    public override int GetHashCode() => HashCode.Combine(Xcr0, Area.Length);
}
