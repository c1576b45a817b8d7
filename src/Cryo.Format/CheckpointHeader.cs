using System.Text;

namespace Cryo.Format;

/// <summary>
/// The file header: magic, format version, flags, architecture, page size, creation time, kernel
/// release and creator, closed by its own CRC-32C (docs/format.md, "Header").
/// </summary>
public sealed record CheckpointHeader(
    ushort VersionMajor, ushort VersionMinor, uint Flags, ushort Architecture, uint PageSize,
    long CreatedUnixNanoseconds, string KernelRelease, string Creator)
{
    public static CheckpointHeader Create(string kernelRelease, string creator, uint pageSize = 4096, DateTimeOffset? created = null) =>
        new(FormatLimits.VersionMajor, FormatLimits.VersionMinor, 0, FormatLimits.ArchX86_64, pageSize,
            ((created ?? DateTimeOffset.UtcNow) - DateTimeOffset.UnixEpoch).Ticks * 100, kernelRelease, creator);

    /// <summary>Header bytes without the trailing checksum.</summary>
    internal byte[] Encode()
    {
        var w = new PayloadWriter();
        w.Raw(FormatLimits.Magic);
        w.U16(VersionMajor); w.U16(VersionMinor); w.U32(Flags);
        w.U16(Architecture); w.U16(0); w.U32(PageSize);
        w.I64(CreatedUnixNanoseconds);
        w.Bytes16(Encoding.UTF8.GetBytes(KernelRelease));
        w.Bytes16(Encoding.UTF8.GetBytes(Creator));
        return w.Written.ToArray();
    }

    /// <summary>The fixed part: magic 8, major 2, minor 2, flags 4, arch 2, reserved 2, page size 4, time 8.</summary>
    internal const int FixedSize = 32;

    internal static CheckpointHeader Decode(ref PayloadReader r)
    {
        if (!r.Raw(8, "magic").SequenceEqual(FormatLimits.Magic))
            throw r.Error("not a cryo checkpoint file (bad magic)");
        ushort major = r.U16("version_major"), minor = r.U16("version_minor");
        if (major != FormatLimits.VersionMajor)
            throw r.Error($"format version {major}.{minor} is not supported; this reader reads version {FormatLimits.VersionMajor}.x");
        uint flags = r.U32("flags");
        if (flags != 0) throw r.Invalid("flags", $"0x{flags:x}", "no header flags are defined in version 1");
        ushort arch = r.U16("arch");
        if (arch != FormatLimits.ArchX86_64)
            throw r.Invalid("arch", arch, $"only x86-64 (ELF machine {FormatLimits.ArchX86_64}) is supported");
        ushort reserved = r.U16("reserved");
        if (reserved != 0) throw r.Invalid("reserved", reserved, "must be zero");
        uint pageSize = r.U32("page_size");
        if (pageSize < 4096 || pageSize > (1 << 20) || (pageSize & (pageSize - 1)) != 0)
            throw r.Invalid("page_size", pageSize, "a page size is a power of two from 4096 to 1 MiB");
        long created = r.I64("created_ns");
        string kernel = DecodeText(ref r, "kernel_release");
        string creator = DecodeText(ref r, "creator");
        return new CheckpointHeader(major, minor, flags, arch, pageSize, created, kernel, creator);
    }

    private static string DecodeText(ref PayloadReader r, string field)
    {
        byte[] bytes = r.Bytes16(field);
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { throw r.Invalid(field, "(bytes)", "not valid UTF-8"); }
    }

    public DateTimeOffset Created => DateTimeOffset.UnixEpoch.AddTicks(CreatedUnixNanoseconds / 100);

    public IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("version_major", (ulong)VersionMajor), ItemField.Num("version_minor", (ulong)VersionMinor),
        ItemField.Hex("flags", Flags), ItemField.Num("arch", (ulong)Architecture), ItemField.Num("page_size", (ulong)PageSize),
        ItemField.Time("created_ns", CreatedUnixNanoseconds),
        new("kernel_release", FieldKind.Volatile, Encoding.UTF8.GetBytes(KernelRelease)),
        new("creator", FieldKind.Volatile, Encoding.UTF8.GetBytes(Creator)),
    ];
}
