using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// The plan finds the pages to store with PAGEMAP_SCAN where the kernel has it: on this
/// process's own memory it must find exactly the runs that reading pagemap entry by entry finds
/// (and on a kernel without it, fall back to that).
/// </summary>
public sealed unsafe class PagemapScanTests
{
    private static readonly int PageSize = Environment.SystemPageSize;

    [Theory]
    [InlineData(1, 2048)]
    [InlineData(2, 300)]
    [InlineData(3, 1)]
    public void Anonymous_pages_found_by_scan_are_those_found_entry_by_entry(int seed, int pages)
    {
        nint area = MapIsolated(pages);
        try
        {
            var random = new Random(seed);
            var touched = new bool[pages];
            for (int i = 0; i < pages;)
            {
                // Runs of 1 to 40 pages, touched or left alone.
                int run = Math.Min(random.Next(1, 41), pages - i);
                bool touch = random.Next(2) == 0;
                for (int j = i; j < i + run; j++)
                {
                    touched[j] = touch;
                    if (touch) ((byte*)area)[j * PageSize] = 1;
                }
                i += run;
            }
            var runs = AssertSameRuns(area, MemoryAreaKind.AnonymousPrivate);
            Assert.Equal(Expected(touched), runs);
        }
        finally { Unmap(area, pages); }
    }

    /// <summary>More runs than one PAGEMAP_SCAN call returns: the scan goes on from where the last call stopped.</summary>
    [Fact]
    public void More_runs_than_one_scan_returns_are_all_found()
    {
        int pages = 2 * PagemapReader.RegionsPerScan * 2 + 7;
        nint area = MapIsolated(pages);
        try
        {
            var touched = new bool[pages];
            for (int i = 0; i < pages; i += 2)
            {
                touched[i] = true;
                ((byte*)area)[i * PageSize] = 1;
            }
            Assert.Equal(Expected(touched), AssertSameRuns(area, MemoryAreaKind.AnonymousPrivate));
        }
        finally { Unmap(area, pages); }
    }

    /// <summary>Of a private file mapping only the process's own copies count: written pages, not pages only read.</summary>
    [Fact]
    public void Of_a_private_file_mapping_only_written_pages_are_found()
    {
        const int pages = 64;
        string path = Path.Combine(Path.GetTempPath(), $"cryo-scan-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, new byte[pages * PageSize]);
        int fd = Native.OpenOrThrow(path, Native.O_RDONLY | Native.O_CLOEXEC);
        nint area = Native.Mmap(0, (nuint)(pages * PageSize), Native.PROT_READ | Native.PROT_WRITE, Native.MAP_PRIVATE, fd, 0);
        Native.Close(fd);
        Assert.NotEqual(-1, area);
        try
        {
            var written = new bool[pages];
            long sum = 0;
            for (int i = 0; i < pages; i++)
            {
                if (i % 5 == 1 || i is > 40 and < 50)
                {
                    ((byte*)area)[i * PageSize] = 7;
                    written[i] = true;
                }
                else if (i % 3 == 0) sum += ((byte*)area)[i * PageSize]; // present, but the file's page
            }
            Assert.Equal(0, sum);
            Assert.Equal(Expected(written), AssertSameRuns(area, MemoryAreaKind.FilePrivate));
        }
        finally
        {
            Native.Munmap(area, (nuint)(pages * PageSize));
            File.Delete(path);
        }
    }

    /// <summary>
    /// Anonymous read-write pages between two PROT_NONE guard pages, so that the kernel cannot
    /// merge them with a neighbouring mapping of the runtime's: the mapping is exactly these pages.
    /// </summary>
    private static nint MapIsolated(int pages)
    {
        nint guarded = Native.Mmap(0, (nuint)((pages + 2) * PageSize), Native.PROT_NONE, Native.MAP_PRIVATE | Native.MAP_ANONYMOUS, -1, 0);
        Assert.NotEqual(-1, guarded);
        nint area = guarded + PageSize;
        Assert.Equal(0, Native.Mprotect(area, (nuint)(pages * PageSize), Native.PROT_READ | Native.PROT_WRITE));
        return area;
    }

    private static void Unmap(nint area, int pages) => Native.Munmap(area - PageSize, (nuint)((pages + 2) * PageSize));

    /// <summary>The runs of the mapping at <paramref name="address"/> both ways; they must agree.</summary>
    private static PageRun[] AssertSameRuns(nint address, MemoryAreaKind kind)
    {
        var mapping = ProcMaps.Containing(ProcMaps.Read(Environment.ProcessId), (ulong)address)!;
        Assert.Equal((ulong)address, mapping.Start);
        using var pagemap = new PagemapReader(Environment.ProcessId, PageSize);
        var entries = new PagemapEntry[64 * 1024];
        var byEntries = Memory.FindRuns(pagemap, mapping, kind, entries, scan: false);
        var byScan = Memory.FindRuns(pagemap, mapping, kind, entries, scan: true);
        Assert.Equal(byEntries, byScan);
        if (pagemap.Scan(mapping.Start, mapping.End, withoutFile: false) is null)
            Assert.True(Environment.OSVersion.Version < new Version(6, 7), $"no PAGEMAP_SCAN on {Environment.OSVersion.Version}, which should have it");
        return byScan;
    }

    private static PageRun[] Expected(bool[] touched)
    {
        var runs = new List<PageRun>();
        for (int i = 0; i < touched.Length; i++)
        {
            if (!touched[i]) continue;
            int start = i;
            while (i < touched.Length && touched[i]) i++;
            runs.Add(new PageRun((ulong)start, (ulong)(i - start)));
        }
        return [.. runs];
    }
}
