namespace Cryo.Format;

/// <summary>The I/O scheduling classes of ioprio_set(2), numbered as on Linux (IOPRIO_CLASS_*).</summary>
public enum IoPriorityClass : byte { None = 0, Realtime = 1, BestEffort = 2, Idle = 3 }

/// <summary>
/// <c>IOPR</c>: a thread's I/O priority (ioprio_set, <c>ionice</c>): its class and, for the
/// real-time and best-effort classes, its level 0 (highest) … 7, with the 6.x hint bits. Class
/// none (the default: I/O priority follows the nice value) has level and hint 0. Linux keeps it
/// per thread; a restored thread would otherwise keep cryo's.
/// </summary>
public sealed record IoPriority(IoPriorityClass Class, ushort Hint, byte Level) : CheckpointItem
{
    public const byte MaxLevel = 7;
    public const ushort MaxHint = 0x3ff;
    public static readonly ItemTag TagValue = ItemTag.Parse("IOPR");
    public override ItemTag Tag => TagValue;

    /// <summary>The ioprio value of ioprio_get/ioprio_set: class in bits 13–15, hint in bits 3–12, level in bits 0–2.</summary>
    public ushort Value => (ushort)((int)Class << 13 | Hint << 3 | Level);

    /// <summary>The item for an ioprio value; class none is kept as plain 0 (older kernels report it with level 4).</summary>
    public static IoPriority FromValue(int value)
    {
        var ioClass = (IoPriorityClass)(value >> 13 & 7);
        return ioClass == IoPriorityClass.None ? new IoPriority(IoPriorityClass.None, 0, 0)
            : new IoPriority(ioClass, (ushort)(value >> 3 & MaxHint), (byte)(value & MaxLevel));
    }

    public override void Encode(PayloadWriter w)
    {
        w.U8((byte)Class); w.U16(Hint); w.U8(Level);
    }

    public static IoPriority Decode(ref PayloadReader r)
    {
        byte ioClass = r.U8("class");
        if (ioClass > (byte)IoPriorityClass.Idle) throw r.Invalid("class", ioClass, "0 is none, 1 real-time, 2 best-effort, 3 idle");
        ushort hint = r.U16("hint");
        if (hint > MaxHint) throw r.Invalid("hint", hint, $"the hint has 10 bits (at most {MaxHint})");
        byte level = r.U8("level");
        if (level > MaxLevel) throw r.Invalid("level", level, $"levels are 0 … {MaxLevel}");
        if (ioClass == (byte)IoPriorityClass.None && (hint != 0 || level != 0))
            throw r.Invalid("level", level, "class none (0) has level and hint 0");
        return new IoPriority((IoPriorityClass)ioClass, hint, level);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("class", (ulong)Class), ItemField.Num("hint", (ulong)Hint), ItemField.Num("level", (ulong)Level),
    ];
}
