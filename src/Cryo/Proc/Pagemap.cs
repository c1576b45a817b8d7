using System.Runtime.InteropServices;
using Cryo.Interop;

namespace Cryo.Proc;

/// <summary>One 64-bit /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).</summary>
internal readonly record struct PagemapEntry(ulong Raw)
{
    public bool Present => (Raw & (1UL << 63)) != 0;
    public bool Swapped => (Raw & (1UL << 62)) != 0;

    /// <summary>A page-cache page or shared anonymous page. A present page of a PRIVATE file
    /// mapping with this bit clear is an anonymous copy (written by the process): save it.</summary>
    public bool FileOrSharedAnon => (Raw & (1UL << 61)) != 0;

    public bool ExclusivelyMapped => (Raw & (1UL << 56)) != 0;
    public bool SoftDirty => (Raw & (1UL << 55)) != 0;

    /// <summary>Page frame number (zero without CAP_SYS_ADMIN); for swapped pages, type+offset.</summary>
    public ulong Frame => Raw & ((1UL << 55) - 1);
}

/// <summary>
/// Reads /proc/PID/pagemap with pread in large batches (one 8-byte entry per virtual page).
/// Not thread-safe; owns its fd.
/// </summary>
internal sealed class PagemapReader : IDisposable
{
    // 64 Ki entries = 512 KiB per pread covers 256 MiB of address space per call.
    private const int EntriesPerRead = 64 * 1024;

    private int fd;
    private readonly string path;

    public PagemapReader(int pid, int pageSize = 4096)
    {
        Pid = pid;
        PageSize = pageSize;
        path = ProcFiles.PathOf(pid, "pagemap");
        fd = Native.OpenOrThrow(path, Native.O_RDONLY | Native.O_CLOEXEC);
    }

    public int Pid { get; }
    public int PageSize { get; }

    /// <summary>Fills <paramref name="entries"/> with the entries of consecutive pages from <paramref name="start"/>.</summary>
    public unsafe void Read(ulong start, Span<PagemapEntry> entries)
    {
        if (start % (ulong)PageSize != 0)
            throw new ArgumentException($"pagemap read of pid {Pid} at {start:#x}: address is not page aligned", nameof(start));
        ulong firstPage = start / (ulong)PageSize;
        for (int done = 0; done < entries.Length;)
        {
            int count = Math.Min(EntriesPerRead, entries.Length - done);
            fixed (PagemapEntry* destination = &entries[done])
            {
                nint read = Native.Pread(fd, (byte*)destination, (nuint)count * 8, (long)(firstPage + (ulong)done) * 8);
                if (read < 0)
                    throw new SysCallException("pread", Marshal.GetLastPInvokeError(), $"fd {fd} ({path}) at page {firstPage + (ulong)done:#x}");
                if (read == 0 || read % 8 != 0)
                    throw new ProcFormatException(path, $"pread at page {firstPage + (ulong)done:#x} returned {read} bytes");
                done += (int)(read / 8);
            }
        }
    }

    /// <summary>Entries of every page of [start, end), freshly allocated.</summary>
    public PagemapEntry[] Read(ulong start, ulong end)
    {
        var entries = new PagemapEntry[(end - start) / (ulong)PageSize];
        Read(start, entries);
        return entries;
    }

    public void Dispose()
    {
        if (fd >= 0) Native.Close(fd);
        fd = -1;
    }
}
