using System.Buffers.Binary;
using Cryo.Check;
using Cryo.Interop;
using Cryo.Proc;

namespace Cryo.Tracing;

/// <summary>
/// Reads a stopped thread's rseq registration. With PTRACE_GET_RSEQ_CONFIGURATION (5.13+) the
/// kernel says it; without it (5.10: EIO) the registration glibc made is found the way
/// design.md describes: the area sits at fs_base + glibc's exported <c>__rseq_offset</c> (a
/// data symbol of ld.so, read from the tracee's memory), with glibc's length 32 and signature
/// 0x53053053 (glibc reports <c>__rseq_size</c> 20, but unregistering with 20 gives EINVAL). The
/// area counts as registered when the kernel has written a cpu id (≥ 0) into it, and as not
/// registered when nothing is mapped there: a restore's new child is a copy of its restored parent,
/// the image's memory (its ld.so) with the stub's registers, and fs_base still points into the
/// stub's TLS, gone with the stub's memory, whose registration was removed before that memory
/// was (5.10: every child of a restored tree failed here with EFAULT).
/// Which path is taken comes from <see cref="KernelFeatures.Current"/> (probe results), never
/// from the kernel version; an EIO on first use records the feature as missing.
/// </summary>
internal static class RseqAccess
{
    public const uint GlibcRseqLength = 32, GlibcRseqSignature = 0x53053053;

    public static RseqConfiguration Read(Tracer tracer, int tid, int pid)
    {
        if (KernelFeatures.Current.RseqConfiguration != false)
        {
            try
            {
                var config = tracer.GetRseqConfiguration(tid);
                KernelFeatures.Learn(KernelFeatures.Current with { RseqConfiguration = true });
                return config;
            }
            catch (SysCallException e) when (e.Errno == ErrnoNames.EIO)
            {
                KernelFeatures.Learn(KernelFeatures.Current with { RseqConfiguration = false });
            }
        }
        return FromGlibc(tracer, tid, pid);
    }

    /// <summary>The registration glibc made in thread <paramref name="tid"/> of <paramref name="pid"/>, found through __rseq_offset; default when none.</summary>
    public static RseqConfiguration FromGlibc(Tracer tracer, int tid, int pid)
    {
        var regs = tracer.GetRegs(tid);
        var maps = ProcMaps.Read(pid);
        using var memory = new RemoteMemory(pid);
        foreach (var candidate in maps.Where(m => m.Offset == 0 && m.IsFileBacked && Path.GetFileName(m.Path).StartsWith("ld-", StringComparison.Ordinal)))
        {
            byte[] elf;
            try { elf = File.ReadAllBytes($"/proc/{pid}/map_files/{candidate.Start:x}-{candidate.End:x}"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { elf = File.ReadAllBytes(candidate.Path); }
            var symbols = ElfSymbols.Find(elf, "__rseq_offset", "__rseq_size");
            if (!symbols.TryGetValue("__rseq_offset", out ulong offsetSymbol)) continue;
            ulong bias = candidate.Start - ElfSymbols.FirstLoadAddress(elf);
            long offset = memory.Read<long>(bias + offsetSymbol);
            if (symbols.TryGetValue("__rseq_size", out ulong sizeSymbol) && memory.Read<uint>(bias + sizeSymbol) == 0)
                return default; // glibc did not register (tunable off, or the kernel refused)
            ulong area = regs.FsBase + (ulong)offset;
            int cpuId;
            try { cpuId = memory.Read<int>(area + 4); }
            catch (SysCallException e) when (e.Errno == ErrnoNames.EFAULT) { return default; }
            catch (RemoteMemoryException) { return default; }
            return cpuId >= 0 ? new RseqConfiguration(area, GlibcRseqLength, GlibcRseqSignature, 0) : default;
        }
        return default; // no glibc ld.so with __rseq_offset (static or another libc): nothing known to undo
    }
}

/// <summary>Just enough ELF64 reading to find exported data symbols in .dynsym.</summary>
internal static class ElfSymbols
{
    public static Dictionary<string, ulong> Find(ReadOnlySpan<byte> elf, params string[] names)
    {
        var found = new Dictionary<string, ulong>();
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2)
            throw new InvalidDataException("not an ELF64 file");
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3a..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3c..]);
        for (int i = 0; i < shnum; i++)
        {
            var section = elf.Slice(checked((int)shoff + i * shentsize), 64);
            if (BinaryPrimitives.ReadUInt32LittleEndian(section[4..]) != 11) continue; // SHT_DYNSYM
            int symOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(section[0x18..]));
            int symSize = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(section[0x20..]));
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(section[0x28..]);
            var strSection = elf.Slice(checked((int)shoff + link * shentsize), 64);
            var strings = elf.Slice(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strSection[0x18..])),
                checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strSection[0x20..])));
            for (int s = 0; s + 24 <= symSize; s += 24)
            {
                var symbol = elf.Slice(symOffset + s, 24);
                int nameOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(symbol);
                if (BinaryPrimitives.ReadUInt16LittleEndian(symbol[6..]) == 0) continue; // undefined
                var rest = strings[nameOffset..];
                int end = rest.IndexOf((byte)0);
                string name = System.Text.Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
                if (Array.IndexOf(names, name) >= 0) found[name] = BinaryPrimitives.ReadUInt64LittleEndian(symbol[8..]);
            }
        }
        return found;
    }

    /// <summary>The page-aligned virtual address of the first PT_LOAD segment (0 for shared objects).</summary>
    public static ulong FirstLoadAddress(ReadOnlySpan<byte> elf)
    {
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x20..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x36..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x38..]);
        ulong lowest = ulong.MaxValue;
        for (int i = 0; i < phnum; i++)
        {
            var header = elf.Slice(checked((int)phoff + i * phentsize), 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) == 1) // PT_LOAD
                lowest = Math.Min(lowest, BinaryPrimitives.ReadUInt64LittleEndian(header[0x10..]));
        }
        return lowest == ulong.MaxValue ? 0 : lowest & ~0xfffUL;
    }
}
