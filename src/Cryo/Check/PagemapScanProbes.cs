using System.Runtime.InteropServices;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Check;

/// <summary>
/// PAGEMAP_SCAN (ioctl on /proc/PID/pagemap, 6.7+): whether the ioctl exists, which page
/// categories this kernel knows (an unknown category bit is EINVAL), and where cheap, whether a
/// category is seen on a real page. Also userfaultfd write-protection in async mode
/// (UFFD_FEATURE_WP_ASYNC), the dirty tracking PAGE_IS_WRITTEN reports.
/// </summary>
internal static unsafe class PagemapScanProbes
{
    /// <summary>The category bits of include/uapi/linux/fs.h, by name.</summary>
    public static readonly (string Name, ulong Bit)[] Categories =
    [
        ("wpallowed", 1 << 0), ("written", 1 << 1), ("file", 1 << 2), ("present", 1 << 3),
        ("swapped", 1 << 4), ("pfnzero", 1 << 5), ("huge", 1 << 6), ("soft-dirty", 1 << 7), ("guard", 1 << 8),
    ];

    /// <summary>Scans [start, end) of this process for pages in any of <paramref name="anyOf"/>; -errno on failure.</summary>
    public static int Scan(int pagemapFd, nint start, nint end, ulong anyOf, Span<PageRegion> regions)
    {
        fixed (PageRegion* vec = regions)
        {
            var arg = new PagemapScanArg
            {
                Size = (ulong)sizeof(PagemapScanArg), Start = (ulong)start, End = (ulong)end,
                Vec = (ulong)vec, VecLen = (ulong)regions.Length, CategoryAnyofMask = anyOf, ReturnMask = anyOf,
            };
            int result = Native.Ioctl(pagemapFd, PagemapScanArg.PAGEMAP_SCAN, &arg);
            return result >= 0 ? result : -Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>Pages found in [start, end) with any of <paramref name="anyOf"/>.</summary>
    private static long PagesFound(ReadOnlySpan<PageRegion> regions, int count) =>
        regions[..count].ToArray().Sum(r => (long)(r.End - r.Start)) / Environment.SystemPageSize;

    /// <summary>The ioctl itself: present pages of a region with one written page.</summary>
    public static ProbeOutcome ScanIoctl()
    {
        nuint page = (nuint)Environment.SystemPageSize;
        using var mapping = new MappingHolder(CheckNative.MapAnonymous(page * 4), page * 4);
        *(byte*)(mapping.Address + (nint)page) = 1;
        using var pagemap = new FdHolder(Native.OpenOrThrow("/proc/self/pagemap", Native.O_RDONLY | Native.O_CLOEXEC));
        Span<PageRegion> regions = stackalloc PageRegion[8];
        int count = Scan(pagemap.Fd, mapping.Address, mapping.Address + (nint)(page * 4), 1 << 3, regions);
        if (count < 0) return ProbeOutcome.Missing($"ioctl(PAGEMAP_SCAN): {ErrnoNames.Name(-count)} (6.7+); cryo reads pagemap entry by entry");
        return count == 1 && regions[0].Start == (ulong)(mapping.Address + (nint)page) && regions[0].End - regions[0].Start == page
            ? ProbeOutcome.Ok("found exactly the one written page of four")
            : ProbeOutcome.Degraded($"{count} region(s) for one written page of four");
    }

    /// <summary>One category: known to the kernel (no EINVAL), and seen on a page made for it where that is cheap.</summary>
    public static ProbeOutcome Category(string name)
    {
        ulong bit = Categories.First(c => c.Name == name).Bit;
        nuint page = (nuint)Environment.SystemPageSize;
        using var pagemap = new FdHolder(Native.OpenOrThrow("/proc/self/pagemap", Native.O_RDONLY | Native.O_CLOEXEC));
        Span<PageRegion> regions = stackalloc PageRegion[8];
        nint address;
        nuint length = page * 2;
        int fileFd = -1;
        if (name == "file")
        {
            fileFd = Native.OpenOrThrow("/proc/self/exe", Native.O_RDONLY | Native.O_CLOEXEC);
            address = Native.Mmap(0, length, Native.PROT_READ, Native.MAP_PRIVATE, fileFd, 0);
            if (address == -1) throw new SysCallException("mmap", Marshal.GetLastPInvokeError(), "/proc/self/exe");
        }
        else address = CheckNative.MapAnonymous(length);
        using var mapping = new MappingHolder(address, length);
        using var file = new FdHolder(fileFd);
        string expectation;
        switch (name)
        {
            case "present" or "soft-dirty":
                *(byte*)address = 1;
                expectation = "a written anonymous page";
                break;
            case "file":
                _ = System.Threading.Volatile.Read(ref *(byte*)address);
                expectation = "a read page of a file mapping";
                break;
            case "pfnzero":
                Madvise(address, length, 15 /* MADV_NOHUGEPAGE */);
                _ = System.Threading.Volatile.Read(ref *(byte*)address);
                _ = System.Threading.Volatile.Read(ref *(byte*)(address + (nint)page));
                // Some kernels (a microVM host's here) give a read fault a fresh page, not the shared
                // zero page: two such pages then have different frames, and there is nothing to find.
                if (Pfn(pagemap.Fd, address) is { } first && Pfn(pagemap.Fd, address + (nint)page) is { } second && first != second)
                    return ProbeOutcome.Ok($"category 0x{bit:x} accepted; this kernel maps a fresh page on a read fault (frames {first:x} and {second:x}), not the zero page");
                expectation = "a read, never written anonymous page (the zero page)";
                break;
            default:
                *(byte*)address = 1;
                expectation = "";
                break;
        }
        int count = Scan(pagemap.Fd, address, address + (nint)length, bit, regions);
        if (count == -ErrnoNames.EINVAL) return ProbeOutcome.Missing($"category 0x{bit:x}: EINVAL (this kernel does not know it)");
        if (count < 0) return ProbeOutcome.Missing($"ioctl(PAGEMAP_SCAN): {ErrnoNames.Name(-count)}");
        if (expectation == "") return ProbeOutcome.Ok($"category 0x{bit:x} accepted");
        long pages = PagesFound(regions, count);
        if (pages >= 1) return ProbeOutcome.Ok($"category 0x{bit:x} accepted, seen on {expectation}");
        return ProbeOutcome.Degraded(name == "soft-dirty"
            ? $"category 0x{bit:x} accepted, but never set on {expectation} (soft-dirty tracking not built in: see soft-dirty)"
            : $"category 0x{bit:x} accepted, but not seen on {expectation}");
    }

    private static void Madvise(nint address, nuint length, int advice) => Native.Madvise(address, length, advice);

    /// <summary>The page frame of a present page (/proc/self/pagemap, bits 0–54; root sees them), or null.</summary>
    private static ulong? Pfn(int pagemap, nint address)
    {
        ulong value = 0;
        long offset = (long)((ulong)address / (ulong)Environment.SystemPageSize) * 8;
        if (Native.Pread(pagemap, (byte*)&value, 8, offset) != 8) return null;
        ulong frame = value & ((1UL << 55) - 1);
        return (value >> 63) != 0 && frame != 0 ? frame : null;
    }

    // ---- userfaultfd ----

    // The handshake and registration are restore's (Restore/UffdFill.cs); write-protection is the probe's own.
    private const ulong UFFDIO_WRITEPROTECT = 0xC018AA06, UFFDIO_WRITEPROTECT_MODE_WP = 1;
    private const ulong UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1 << 0, UFFD_FEATURE_WP_ASYNC = 1 << 15;

    [StructLayout(LayoutKind.Sequential)]
    private struct UffdioWriteProtect { public ulong Start, Length, Mode; }

    private static long OpenUserfaultfd()
    {
        long fd = Native.Syscall(UffdFill.UserfaultfdCall, UffdFill.UserfaultfdFlags | 1 /* UFFD_USER_MODE_ONLY */);
        if (fd < 0) fd = Native.Syscall(UffdFill.UserfaultfdCall, UffdFill.UserfaultfdFlags);
        return fd;
    }

    /// <summary>
    /// userfaultfd with write-protection in async mode: handshake with UFFD_FEATURE_WP_ASYNC, register
    /// two written pages for WP, protect them, write one (async mode resolves the fault in the kernel,
    /// nothing blocks), and PAGEMAP_SCAN must report exactly that page as written.
    /// </summary>
    public static ProbeOutcome UffdWpAsync()
    {
        long fd = OpenUserfaultfd();
        if (fd < 0) return ProbeOutcome.Missing($"userfaultfd: {CheckNative.LastError()}");
        using (var plain = new FdHolder((int)fd))
        {
            if (UffdFill.Handshake(plain.Fd, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_PAGEFAULT_FLAG_WP) is not { } features)
            {
                string error = CheckNative.LastError();
                return ProbeOutcome.Missing($"UFFDIO_API with WP_ASYNC: {error} (userfaultfd exists; async write-protect is 6.7+)");
            }
            if ((features & UFFD_FEATURE_WP_ASYNC) == 0) return ProbeOutcome.Missing($"UFFDIO_API features 0x{features:x} lack WP_ASYNC");

            nuint page = (nuint)Environment.SystemPageSize;
            using var mapping = new MappingHolder(CheckNative.MapAnonymous(page * 2), page * 2);
            *(byte*)mapping.Address = 1;
            *(byte*)(mapping.Address + (nint)page) = 1;
            if (!UffdFill.RegisterRange(plain.Fd, (ulong)mapping.Address, page * 2, UffdFill.RegisterWriteProtect))
                return ProbeOutcome.Degraded($"WP_ASYNC offered, but UFFDIO_REGISTER(MODE_WP): {CheckNative.LastError()}");
            var protect = new UffdioWriteProtect { Start = (ulong)mapping.Address, Length = page * 2, Mode = UFFDIO_WRITEPROTECT_MODE_WP };
            if (Native.Ioctl(plain.Fd, UFFDIO_WRITEPROTECT, &protect) != 0)
                return ProbeOutcome.Degraded($"WP_ASYNC offered, but UFFDIO_WRITEPROTECT: {CheckNative.LastError()}");
            *(byte*)(mapping.Address + (nint)page) = 2; // async: the kernel resolves this fault itself

            using var pagemap = new FdHolder(Native.OpenOrThrow("/proc/self/pagemap", Native.O_RDONLY | Native.O_CLOEXEC));
            Span<PageRegion> regions = stackalloc PageRegion[4];
            int count = Scan(pagemap.Fd, mapping.Address, mapping.Address + (nint)(page * 2), 1 << 1 /* written */, regions);
            if (count < 0) return ProbeOutcome.Ok($"register, protect and an async write work; PAGEMAP_SCAN: {ErrnoNames.Name(-count)}");
            return count == 1 && regions[0].Start == (ulong)(mapping.Address + (nint)page) && regions[0].End - regions[0].Start == page
                ? ProbeOutcome.Ok("registered, write-protected, one page written: PAGEMAP_SCAN reports exactly that page as written")
                : ProbeOutcome.Degraded($"async write went through, but PAGEMAP_SCAN 'written' gave {count} region(s)");
        }
    }
}
