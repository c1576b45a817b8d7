using System.Buffers.Binary;
using System.Collections.Immutable;

namespace Cryo.Proc;

/// <summary>One entry of the ELF auxiliary vector.</summary>
internal readonly record struct AuxvEntry(ulong Type, ulong Value);

/// <summary>Parser of /proc/PID/auxv (pairs of native 64-bit words up to AT_NULL).</summary>
internal static class ProcAuxv
{
    public const ulong AT_NULL = 0, AT_PHDR = 3, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
        AT_ENTRY = 9, AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25,
        AT_HWCAP2 = 26, AT_EXECFN = 31, AT_SYSINFO_EHDR = 33, AT_MINSIGSTKSZ = 51;

    public static ImmutableArray<AuxvEntry> Read(int pid)
    {
        string path = ProcFiles.PathOf(pid, "auxv");
        return Parse(ProcFiles.ReadBytes(path), path);
    }

    /// <summary>The entries before AT_NULL (AT_NULL itself is not included).</summary>
    public static ImmutableArray<AuxvEntry> Parse(ReadOnlySpan<byte> bytes, string file = "auxv")
    {
        if (bytes.Length % 16 != 0)
            throw new ProcFormatException(file, $"length {bytes.Length} is not a multiple of 16");
        var entries = ImmutableArray.CreateBuilder<AuxvEntry>(bytes.Length / 16);
        for (int offset = 0; offset < bytes.Length; offset += 16)
        {
            ulong type = BinaryPrimitives.ReadUInt64LittleEndian(bytes[offset..]);
            if (type == AT_NULL) return entries.ToImmutable();
            entries.Add(new AuxvEntry(type, BinaryPrimitives.ReadUInt64LittleEndian(bytes[(offset + 8)..])));
        }
        throw new ProcFormatException(file, "no AT_NULL terminator");
    }

    public static ulong? Find(IEnumerable<AuxvEntry> entries, ulong type)
    {
        foreach (var entry in entries)
            if (entry.Type == type) return entry.Value;
        return null;
    }
}
