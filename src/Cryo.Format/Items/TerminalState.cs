namespace Cryo.Format;

/// <summary>
/// <c>TTYS</c>: the terminal behind a descriptor of kind 10 (<see cref="FileKind.Terminal"/>): its
/// line settings as TCGETS2 returns them (struct termios2), its window size (TIOCGWINSZ), and
/// how the process stood to it: whether it is the controlling terminal of the process's session,
/// and whether the process's group was the terminal's foreground group. Written right after the
/// first <c>FDES</c> of each terminal (by device number) in each process that has one. A restore
/// opens the terminal it is given in its place (the path in the <c>FDES</c> names the one the
/// process had) and sets these settings on it.
/// </summary>
public sealed record TerminalState(int Fd, uint Flags, uint InputModes, uint OutputModes, uint ControlModes, uint LocalModes,
    byte LineDiscipline, byte[] ControlChars, uint InputSpeed, uint OutputSpeed,
    ushort Rows, ushort Columns, ushort PixelWidth, ushort PixelHeight) : CheckpointItem
{
    /// <summary>The terminal is the controlling terminal of the process's session.</summary>
    public const uint Controlling = 1;
    /// <summary>The process's group was the terminal's foreground group.</summary>
    public const uint Foreground = 2;

    /// <summary>NCCS of the kernel's struct termios2: the number of control characters.</summary>
    public const int ControlCharCount = 19;

    public static readonly ItemTag TagValue = ItemTag.Parse("TTYS");
    public override ItemTag Tag => TagValue;

    public bool IsControlling => (Flags & Controlling) != 0;
    public bool IsForeground => (Flags & Foreground) != 0;

    public override void Encode(PayloadWriter w)
    {
        if (ControlChars.Length != ControlCharCount)
            throw new ArgumentException($"TTYS of fd {Fd}: {ControlChars.Length} control characters, the format has {ControlCharCount}");
        w.I32(Fd); w.U32(Flags);
        w.U32(InputModes); w.U32(OutputModes); w.U32(ControlModes); w.U32(LocalModes);
        w.U8(LineDiscipline); w.Raw(ControlChars); w.U32(InputSpeed); w.U32(OutputSpeed);
        w.U16(Rows); w.U16(Columns); w.U16(PixelWidth); w.U16(PixelHeight);
    }

    public static TerminalState Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        uint flags = r.U32("flags");
        if ((flags & ~(Controlling | Foreground)) != 0)
            throw r.Invalid("flags", $"0x{flags:x}", "only bits 0x1 (controlling terminal) and 0x2 (foreground group) are defined");
        if ((flags & Foreground) != 0 && (flags & Controlling) == 0)
            throw r.Invalid("flags", $"0x{flags:x}", "a foreground group is one of the terminal's session: bit 0x2 needs bit 0x1");
        uint iflag = r.U32("iflag"), oflag = r.U32("oflag"), cflag = r.U32("cflag"), lflag = r.U32("lflag");
        byte line = r.U8("line");
        byte[] cc = r.Raw(ControlCharCount, "cc").ToArray();
        return new TerminalState(fd, flags, iflag, oflag, cflag, lflag, line, cc, r.U32("ispeed"), r.U32("ospeed"),
            r.U16("rows"), r.U16("columns"), r.U16("xpixel"), r.U16("ypixel"));
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd), ItemField.Hex("flags", Flags),
        ItemField.Hex("iflag", InputModes), ItemField.Hex("oflag", OutputModes), ItemField.Hex("cflag", ControlModes), ItemField.Hex("lflag", LocalModes),
        ItemField.Num("line", (ulong)LineDiscipline), ItemField.Data("cc", ControlChars),
        ItemField.Num("ispeed", InputSpeed), ItemField.Num("ospeed", OutputSpeed),
        ItemField.Num("rows", (ulong)Rows), ItemField.Num("columns", (ulong)Columns), ItemField.Num("xpixel", (ulong)PixelWidth), ItemField.Num("ypixel", (ulong)PixelHeight),
    ];
}
