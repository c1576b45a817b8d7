namespace Cryo.Format;

/// <summary>Fixed numbers of format version 1 (docs/format.md, "Limits").</summary>
public static class FormatLimits
{
    public static ReadOnlySpan<byte> Magic => "CRYO\r\n\u001a\n"u8;
    public const ushort VersionMajor = 1;
    public const ushort VersionMinor = 0;
    public const ushort ArchX86_64 = 62; // ELF e_machine EM_X86_64

    public const int ItemFrameHeaderSize = 12; // tag, flags, length
    public const int ItemCrcSize = 4;
    public const int MaxPayload = 16 << 20;
    public const int MaxBytesString = 4096;
    public const int MaxSectionDepth = 8;
    public const int MaxListEntries = 1 << 16;
    /// <summary>The writer splits page and pipe data into items of at most this many data bytes.</summary>
    public const int DataChunk = 1 << 20;
}
