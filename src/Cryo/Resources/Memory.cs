using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using Cryo.Check;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Resources;

/// <summary>
/// The address space: MMST (the mm fields and the auxiliary vector), one AREA per mapping and
/// the PAGE items of the pages that cannot be had from anywhere else. See docs/engine-memory.md.
/// <para>Dump: /proc/PID/maps (as read at the freeze) and pagemap decide what is stored; the pages
/// themselves are read only when the image is written, with process_vm_readv in 4 MiB batches.</para>
/// <para>Restore: the MMST removes the stub's mappings and moves the kernel's [vvar],
/// [vvar_vclock] and [vdso] (together, by one delta) to the image's addresses; each AREA is
/// mapped (MAP_FIXED_NOREPLACE, so a collision is an error, never a silent overwrite) with its
/// final protection; PAGE items are written through /proc/PID/mem. Finish sets the mm fields
/// with PR_SET_MM_MAP and leaves a scratch page for the other kinds.</para>
/// </summary>
internal sealed class Memory : IResourceKind
{
    public string Name => "Memory";

    private static readonly int PageSize = Environment.SystemPageSize;

    // Pages are read in batches of this size (one buffer, rented once per process).
    internal const int ReadBufferSize = 4 << 20;

    // pagemap entries read per pread while the target is frozen (512 KiB, reused for every area).
    private const int PagemapChunk = 64 * 1024;

    // Largest user address + 1 on x86-64 with 4-level page tables ([vsyscall] lies above it).
    private const ulong UserSpaceEnd = 0x7ffffffff000;

    // -------------------------------------------------------------------------------- dump

    public IDumpedResource Dump(FrozenProcess process, DumpSession session)
    {
        int pid = process.Pid;
        var stat = ProcStat.Read(pid);
        var auxv = ProcAuxv.Read(pid);
        // The program break is in no /proc file: ask the process (brk(0) only reports it).
        long brk = process.Syscalls.Checked("brk(0)", SyscallNumbers.Brk, 0);
        var layout = new MemoryLayout(stat.StartCode, stat.EndCode, stat.StartData, stat.EndData,
            stat.StartBrk, (ulong)brk, stat.StartStack, stat.ArgStart, stat.ArgEnd, stat.EnvStart, stat.EnvEnd,
            [.. auxv.Select(a => new AuxEntry(a.Type, a.Value))]);

        var areas = new List<DumpedArea>(process.Mappings.Length);
        using var pagemap = new PagemapReader(pid, PageSize);
        var entries = new PagemapEntry[PagemapChunk];
        foreach (var mapping in process.Mappings)
        {
            var kind = Classify(pid, mapping);
            var runs = (IsSharedObject(kind, mapping) ? SharedObjectRuns(pid, mapping) : null) ?? FindRuns(pagemap, mapping, kind, entries);
            // MAP_GROWSDOWN of an anonymous area the program mapped itself shows only in smaps.
            var vmFlags = process.VmFlagsOf(mapping);
            bool growsDown = kind == MemoryAreaKind.AnonymousPrivate && vmFlags.Contains("gd");
            // MAP_NORESERVE ("nr"): without it a large sparse area may not be mappable at all (ENOMEM: not enough to commit).
            bool noReserve = kind is MemoryAreaKind.AnonymousPrivate or MemoryAreaKind.AnonymousShared or MemoryAreaKind.FilePrivate && vmFlags.Contains("nr");
            areas.Add(new DumpedArea(ToArea(pid, mapping, kind, runs, growsDown, noReserve), mapping.Protection.HasFlag(MappingProtection.Read)));
        }
        var guards = GuardsOf(pagemap, areas);
        return new DumpedMemory(pid, process.Tracer, process.Memory, layout, areas, guards);
    }

    /// <summary>What backs a mapping; refuses (naming pid and mapping) what a restore could not recreate.</summary>
    internal static MemoryAreaKind Classify(int pid, MemoryMapping m)
    {
        const string deleted = " (deleted)";
        string path = m.Path;
        UnsupportedResourceException Refuse(string why) => new(pid, $"memory mapping {m}", why);

        switch (path)
        {
            case "[heap]": return MemoryAreaKind.Heap;
            case "[stack]": return MemoryAreaKind.Stack;
            case "[vdso]": return MemoryAreaKind.Vdso;
            case "[vvar]": return MemoryAreaKind.Vvar;
            case "[vvar_vclock]": return MemoryAreaKind.VvarVclock;
            case "[vsyscall]": return MemoryAreaKind.Vsyscall;
            case "": return m.Shared ? MemoryAreaKind.AnonymousShared : MemoryAreaKind.AnonymousPrivate;
        }
        // Anonymous memory named with PR_SET_VMA_ANON_NAME (the name itself is not restored).
        if (path.StartsWith("[anon:", StringComparison.Ordinal)) return m.Shared ? MemoryAreaKind.AnonymousShared : MemoryAreaKind.AnonymousPrivate;
        if (path.StartsWith("[anon_shmem:", StringComparison.Ordinal)) return MemoryAreaKind.AnonymousShared;
        if (m.IsSpecial) throw Refuse("a kernel mapping of this kind cannot be recreated");
        if (path.StartsWith("/anon_hugepage", StringComparison.Ordinal))
            throw Refuse("hugetlb memory is not supported");
        // System V shm: the segment is attached again (SysVSharedMemory).
        if (SysVSharedMemory.IsSegment(m)) return MemoryAreaKind.SysVShared;
        // memfd: the object is saved by PathlessFiles (which refuses huge pages), mapped again from it.
        if (PathlessFiles.IsMemfd(path)) return MemoryAreaKind.Memfd;
        // MAP_SHARED|MAP_ANONYMOUS: restored as shared anonymous memory with every page stored.
        if (m.Shared && path == "/dev/zero" + deleted) return MemoryAreaKind.AnonymousShared;
        if (PathlessFiles.IsDeletedFile(path))
        {
            // A deleted regular file is saved with its contents (PathlessFiles), and mapped from it again.
            if (Native.TryStat(Encoding.UTF8.GetBytes($"/proc/{pid}/map_files/{m.Start:x}-{m.End:x}"), out _) is { Type: FileStatus.S_IFREG })
                return m.Shared ? MemoryAreaKind.FileShared : MemoryAreaKind.FilePrivate;
            throw Refuse("the mapped file has been deleted and is not a regular file, so a restore could not make it again");
        }
        if (path.EndsWith(deleted, StringComparison.Ordinal))
            throw Refuse("the mapped file has been deleted, so a restore could not map it again");
        if (!path.StartsWith('/')) throw Refuse("the backing file has no usable path");

        var status = Native.TryStat(Encoding.UTF8.GetBytes(path), out int errno);
        if (status is not { } file)
            throw Refuse($"stat of the backing file failed: {ErrnoNames.Name(errno)}");
        // A private mapping of /dev/zero is anonymous memory (the kernel makes it so), only named
        // after the device: restored as anonymous memory, without the name.
        if (!m.Shared && file.Type == FileStatus.S_IFCHR && FileStatus.Major(file.RawDevice) == 1 && FileStatus.Minor(file.RawDevice) == 5)
            return MemoryAreaKind.AnonymousPrivate;
        if (file.Type != FileStatus.S_IFREG)
            throw Refuse($"the backing file is not a regular file (mode 0{Convert.ToString(file.Mode, 8)}); device mappings are not supported");
        var (device, inode) = MappedFileIdentity(pid, m);
        if (file.Inode != inode || file.Device != device)
            throw Refuse($"the path now names another file (device 0x{file.Device:x}, inode {file.Inode}; the mapping has 0x{device:x}, {inode})");
        return m.Shared ? MemoryAreaKind.FileShared : MemoryAreaKind.FilePrivate;
    }

    /// <summary>
    /// Device and inode of the file a mapping maps, as stat() of a path would show them. On
    /// overlayfs /proc/PID/maps shows the lower layer's device and inode while stat() of the path
    /// shows the overlay's, so the mapped file is stat'ed through /proc/PID/map_files (the same
    /// view as the path); the maps line is the fallback where map_files cannot be read.
    /// </summary>
    internal static (ulong Device, ulong Inode) MappedFileIdentity(int pid, MemoryMapping m)
    {
        var mapped = Native.TryStat(Encoding.UTF8.GetBytes($"/proc/{pid}/map_files/{m.Start:x}-{m.End:x}"), out _);
        return mapped is { } f ? (f.Device, f.Inode) : (MakeDevice(m.DeviceMajor, m.DeviceMinor), m.Inode);
    }

    /// <summary>dev_t as glibc's makedev encodes it (what st_dev holds).</summary>
    internal static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    private static bool IsSharedObject(MemoryAreaKind kind, MemoryMapping m) =>
        kind == MemoryAreaKind.SysVShared || kind == MemoryAreaKind.AnonymousShared && m.Inode != 0;

    /// <summary>
    /// The guard regions (MADV_GUARD_INSTALL, 6.13+) of the process, taken out of the areas' runs
    /// (in <paramref name="areas"/>, replaced): their markers read as swapped pages, and reading
    /// one faults. Only looked for when the runs scan saw swapped pages (a second walk of the
    /// page tables otherwise, in the frozen window); PAGEMAP_SCAN reports them from 6.14. Null
    /// when there are none.
    /// </summary>
    private static GuardRegions? GuardsOf(PagemapReader pagemap, List<DumpedArea> areas)
    {
        if (!pagemap.SawSwapped || areas.Count == 0) return null;
        var guards = pagemap.ScanGuards(areas[0].Item.Start, Math.Min(areas[^1].Item.End, UserSpaceEnd)); // not [vsyscall]
        if (guards is not { Count: > 0 }) return null;
        ulong page = (ulong)PageSize;
        for (int i = 0; i < areas.Count; i++)
        {
            var area = areas[i].Item;
            var inside = guards.Where(g => g.Start < area.End && area.Start < g.End).ToList();
            if (inside.Count == 0 || area.Runs.Length == 0) continue;
            var runs = new List<PageRun>();
            foreach (var run in area.Runs)
            {
                ulong from = area.Start + run.FirstPage * page, to = from + run.PageCount * page;
                foreach (var (start, end) in inside.Where(g => g.Start < to && from < g.End))
                {
                    if (start > from) runs.Add(new PageRun((from - area.Start) / page, (start - from) / page));
                    from = Math.Max(from, end);
                }
                if (from < to) runs.Add(new PageRun((from - area.Start) / page, (to - from) / page));
            }
            areas[i] = areas[i] with { Item = area with { Runs = [.. runs] } };
        }
        return new GuardRegions([.. guards.Select(g => new GuardRange(g.Start, g.End))]);
    }

    /// <summary>
    /// The runs of a shared memory area (System V segment, MAP_SHARED|MAP_ANONYMOUS, memfd): the
    /// pages its shmem object holds in the area's range, found with SEEK_DATA/SEEK_HOLE on the
    /// object (opened through /proc/PID/map_files), swapped-out ones included. The process's own
    /// page table tells less: a page of the object that this process never touched (written
    /// through another attachment, by another process, or before a read-only shmat) is not in
    /// its pagemap, yet it is part of the memory. Null when the object cannot be opened: the
    /// pagemap then decides, as for private memory.
    /// </summary>
    internal static PageRun[]? SharedObjectRuns(int pid, MemoryMapping m)
    {
        int fd = Native.OpenBytes(Encoding.UTF8.GetBytes($"/proc/{pid}/map_files/{m.Start:x}-{m.End:x}"), Native.O_RDONLY | Native.O_CLOEXEC, 0, out _);
        if (fd < 0) return null;
        try
        {
            long page = PageSize, first = (long)m.Offset;
            return Native.DataRanges(fd, first, first + (long)m.Length, page, out _)?
                .Select(r => new PageRun((ulong)((r.Offset - first) / page), (ulong)(r.Length / page))).ToArray();
        }
        finally
        {
            Native.Close(fd);
        }
    }

    /// <summary>
    /// The runs of pages whose contents must be stored: anonymous memory present or swapped out;
    /// of a private file mapping only the pages the process wrote (present or swapped, bit 61
    /// clear: anonymous copies); shared file mappings and kernel mappings none. With
    /// <paramref name="scan"/>, through PAGEMAP_SCAN where the kernel has it (the same pages, in
    /// a third of the time: part of the frozen window), else entry by entry.
    /// </summary>
    internal static PageRun[] FindRuns(PagemapReader pagemap, MemoryMapping m, MemoryAreaKind kind, PagemapEntry[] entries, bool scan = true)
    {
        bool onlyPrivateCopies;
        switch (kind)
        {
            case MemoryAreaKind.AnonymousPrivate or MemoryAreaKind.Heap or MemoryAreaKind.Stack or MemoryAreaKind.AnonymousShared
                or MemoryAreaKind.SysVShared:
                onlyPrivateCopies = false;
                break;
            case MemoryAreaKind.FilePrivate:
                onlyPrivateCopies = true;
                break;
            case MemoryAreaKind.Memfd when !m.Shared: // a shared one's pages are the object's (MDAT)
                onlyPrivateCopies = true;
                break;
            default:
                return [];
        }
        if (scan && KernelFeatures.Current.PagemapScan != false)
        {
            if (pagemap.Scan(m.Start, m.End, withoutFile: onlyPrivateCopies) is { } ranges)
                return [.. ranges.Select(r => new PageRun((r.Start - m.Start) / (ulong)PageSize, (r.End - r.Start) / (ulong)PageSize))];
            KernelFeatures.Learn(KernelFeatures.Current with { PagemapScan = false });
        }
        var runs = new List<PageRun>();
        ulong pages = m.Length / (ulong)PageSize;
        ulong runStart = 0;
        bool inRun = false;
        for (ulong first = 0; first < pages; first += PagemapChunk)
        {
            int count = (int)Math.Min(PagemapChunk, pages - first);
            var chunk = entries.AsSpan(0, count);
            pagemap.Read(m.Start + first * (ulong)PageSize, chunk);
            for (int i = 0; i < count; i++)
            {
                var e = chunk[i];
                // A guard region's marker reads as swapped: it holds nothing (GuardsOf).
                bool store = (e.Present || e.Swapped && !e.Guard) && !(onlyPrivateCopies && e.FileOrSharedAnon);
                ulong page = first + (ulong)i;
                if (store && !inRun) { runStart = page; inRun = true; }
                else if (!store && inRun) { runs.Add(new PageRun(runStart, page - runStart)); inRun = false; }
            }
        }
        if (inRun) runs.Add(new PageRun(runStart, pages - runStart));
        return [.. runs];
    }

    private static MemoryArea ToArea(int pid, MemoryMapping m, MemoryAreaKind kind, PageRun[] runs, bool growsDown, bool noReserve)
    {
        uint prot = (uint)m.Protection; // MappingProtection uses the PROT_* bit values
        uint flags = m.Shared ? MemoryArea.MapShared : MemoryArea.MapPrivate;
        if (kind is MemoryAreaKind.AnonymousPrivate or MemoryAreaKind.AnonymousShared or MemoryAreaKind.Heap or MemoryAreaKind.Stack)
            flags |= MemoryArea.MapAnonymous;
        if (kind == MemoryAreaKind.Stack || growsDown) flags |= MemoryArea.MapGrowsDown;
        if (noReserve) flags |= MemoryArea.MapNoReserve;
        // Shared anonymous memory (/dev/zero, memfd) keeps its shmem inode and offset: the
        // identity that tells a restore which areas of which processes are one object. A System V
        // segment's inode is its id, and the offset says where its attachment begins.
        bool file = kind is MemoryAreaKind.FilePrivate or MemoryAreaKind.FileShared or MemoryAreaKind.SysVShared or MemoryAreaKind.Memfd
            || kind == MemoryAreaKind.AnonymousShared && m.Inode != 0;
        // A file's identity as a restore will see it through its path (not the maps line: overlayfs);
        // a memfd's as fstat shows it, which is how PathlessFiles names the object.
        var (device, inode) = kind is MemoryAreaKind.FilePrivate or MemoryAreaKind.FileShared or MemoryAreaKind.Memfd
            ? MappedFileIdentity(pid, m) : (MakeDevice(m.DeviceMajor, m.DeviceMinor), m.Inode);
        return new MemoryArea(m.Start, m.End, file ? m.Offset : 0, prot, flags, kind,
            file ? device : 0, file ? inode : 0, Encoding.UTF8.GetBytes(m.Path), runs);
    }

    internal sealed record DumpedArea(MemoryArea Item, bool Readable);

    /// <summary>
    /// The MMST and AREAs, and the pages, read as they are written: from the still frozen process,
    /// or, after <see cref="ReadFromSnapshot"/>, from a copy-on-write snapshot of it while it runs on.
    /// </summary>
    internal sealed class DumpedMemory(int pid, Tracer tracer, RemoteMemory memory, MemoryLayout layout, List<DumpedArea> areas,
        GuardRegions? guards = null) : IDumpedResource
    {
        // Remote iovecs gathered per process_vm_readv batch (RemoteMemory splits above its own limit).
        private const int MaxRangesPerBatch = 512;

        // Where the pages are read from when written, and the pages read ahead of that, by (area start, batch).
        private PageSource source = new(pid, memory, tracer);
        private readonly Dictionary<(ulong Area, int Batch), byte[]> readAhead = [];

        /// <summary>The areas whose pages the image stores, as planned at the freeze.</summary>
        public IEnumerable<MemoryArea> StoredAreas => areas.Where(a => a.Item.Runs.Length > 0).Select(a => a.Item);

        /// <summary>
        /// Called while the process is still frozen, once <paramref name="snapshot"/> (a
        /// copy-on-write fork of it that never runs) exists: from now on pages are read from the
        /// snapshot, so the process may run on while the image is written. The pages of the areas
        /// <paramref name="copiedByFork"/> rejects (shared memory, which the snapshot shares with the
        /// running process; MADV_DONTFORK and MADV_WIPEONFORK areas, which it lacks) are read now.
        /// Returns the bytes read now.
        /// </summary>
        public long ReadFromSnapshot(RemoteMemory snapshot, Func<MemoryArea, bool> copiedByFork)
        {
            long bytes = 0;
            foreach (var area in areas.Where(a => a.Item.Runs.Length > 0 && !copiedByFork(a.Item)))
            {
                var batches = Batches(area);
                for (int i = 0; i < batches.Count; i++)
                {
                    var data = new byte[(int)batches[i].Sum(r => (long)r.Length)];
                    source.Read(area, batches[i], data);
                    readAhead[(area.Item.Start, i)] = data;
                    bytes += data.Length;
                }
            }
            source.Dispose();
            source = new PageSource(snapshot.Pid, snapshot, tracer, snapshot: true);
            return bytes;
        }

        /// <summary>
        /// Writes MMST and every AREA with its pages. Copying pages out of the target
        /// (process_vm_readv) is the slow half of a dump and scales with threads, so reader
        /// threads fill buffers ahead (<see cref="OrderedReads"/>) while this thread writes them
        /// into the image in order: a dump runs at about the rate of the file system. Only the
        /// readers touch the target, only this thread the writer.
        /// </summary>
        public void WriteTo(CheckpointWriter writer)
        {
            writer.Write(layout);
            var plan = areas.Select(area => (Area: area, Batches: Batches(area))).ToList();
            var jobs = Jobs(plan);
            // The readers also checksum what they read, while it is in their cache, so the writer only writes.
            var checksums = new PageChecksums[jobs.Count][];
            using (source)
            using (var reads = new OrderedReads(jobs.Count, ReaderThreads, ReadBufferSize, (job, buffer) =>
            {
                var sums = new List<PageChecksums>();
                foreach (var part in jobs[job])
                {
                    var area = plan[part.Area].Area;
                    // readers only look the read-ahead up: no lock
                    if (readAhead.TryGetValue((area.Item.Start, part.Batch), out var data)) data.CopyTo(buffer, part.Offset);
                    else source.Read(area, part.Ranges, buffer, part.Offset);
                    var into = buffer.AsSpan(part.Offset);
                    for (int i = 0, offset = 0; i < part.Ranges.Length; offset += (int)part.Ranges[i].Length, i++)
                        sums.Add(CheckpointWriter.ChecksumPages(part.Ranges[i].Address, into.Slice(offset, (int)part.Ranges[i].Length), (uint)PageSize));
                }
                checksums[job] = [.. sums];
            }))
            {
                int written = 0; // areas whose AREA item is in the image
                for (int job = 0; job < jobs.Count; job++)
                {
                    byte[] buffer = reads.Take(job);
                    int sum = 0;
                    foreach (var part in jobs[job])
                    {
                        while (written <= part.Area) writer.Write(plan[written++].Area.Item);
                        for (int i = 0, offset = part.Offset; i < part.Ranges.Length; offset += (int)part.Ranges[i].Length, i++)
                            writer.WritePages(part.Ranges[i].Address, buffer.AsSpan(offset, (int)part.Ranges[i].Length), checksums[job][sum++]);
                    }
                    reads.Release(buffer);
                }
                while (written < plan.Count) writer.Write(plan[written++].Area.Item);
            }
            if (guards is not null) writer.Write(guards);
        }

        /// <summary>One batch of one area, read into a job's buffer at <see cref="Offset"/>.</summary>
        private readonly record struct JobPart(int Area, int Batch, RemoteRange[] Ranges, int Offset);

        /// <summary>
        /// The batches of consecutive areas gathered into read jobs of at most one buffer and
        /// <see cref="MaxRangesPerBatch"/> ranges: a job per batch cost about 10 µs of hand-over
        /// between threads, 0.3 s for a process with 32,000 small areas (measured).
        /// </summary>
        private static List<List<JobPart>> Jobs(List<(DumpedArea Area, List<RemoteRange[]> Batches)> plan)
        {
            var jobs = new List<List<JobPart>>();
            List<JobPart>? current = null;
            int bytes = 0, ranges = 0;
            for (int area = 0; area < plan.Count; area++)
            {
                for (int batch = 0; batch < plan[area].Batches.Count; batch++)
                {
                    var batchRanges = plan[area].Batches[batch];
                    int batchBytes = (int)batchRanges.Sum(r => (long)r.Length);
                    if (current is null || bytes + batchBytes > ReadBufferSize || ranges + batchRanges.Length > MaxRangesPerBatch)
                    {
                        jobs.Add(current = []);
                        bytes = ranges = 0;
                    }
                    current.Add(new JobPart(area, batch, batchRanges, bytes));
                    bytes += batchBytes;
                    ranges += batchRanges.Length;
                }
            }
            return jobs;
        }

        // Two readers keep up with one writer on this machine's tmpfs (docs/benchmarks.md); more
        // would only compete with the writer for the cores.
        private static readonly int ReaderThreads = Math.Clamp(Environment.ProcessorCount, 1, 2);

        /// <summary>The area's runs split into batches of at most one buffer and <see cref="MaxRangesPerBatch"/> ranges.</summary>
        private static List<RemoteRange[]> Batches(DumpedArea area)
        {
            var batches = new List<RemoteRange[]>();
            var current = new List<RemoteRange>();
            ulong filled = 0;
            foreach (var run in area.Item.Runs)
            {
                ulong address = area.Item.Start + run.FirstPage * (ulong)PageSize;
                ulong remaining = run.PageCount * (ulong)PageSize;
                while (remaining > 0)
                {
                    if (current.Count == MaxRangesPerBatch || filled == ReadBufferSize)
                    {
                        batches.Add([.. current]);
                        current.Clear();
                        filled = 0;
                    }
                    ulong take = Math.Min(remaining, ReadBufferSize - filled);
                    current.Add(new RemoteRange(address, take));
                    filled += take;
                    address += take;
                    remaining -= take;
                }
            }
            if (current.Count > 0) batches.Add([.. current]);
            return batches;
        }
    }

    /// <summary>
    /// Reads an area's pages from one process: process_vm_readv, or for pages of a mapping without
    /// PROT_READ (e.g. mprotect(PROT_NONE) after use), which process_vm_readv refuses, /proc/PID/mem
    /// like a debugger does (FOLL_FORCE). A fork snapshot (<paramref name="snapshot"/>) is read
    /// through /proc/PID/mem throughout: process_vm_readv pins the pages it reads, and pinning a
    /// page the snapshot shares with its parent copies it first (the kernel unshares anonymous
    /// pages pinned after a fork), which read 2 GiB at 1.1 GB/s instead of 1.8 GB/s per thread here.
    /// Usable from any thread; owns the mem fds.
    /// </summary>
    private sealed class PageSource(int pid, RemoteMemory memory, Tracer tracer, bool snapshot = false) : IDisposable
    {
        private int forcedFd = -1; // /proc/PID/mem, opened on the tracer thread for the first area without PROT_READ
        private int snapshotFd = snapshot ? Native.OpenOrThrow(ProcFiles.PathOf(pid, "mem"), Native.O_RDONLY | Native.O_CLOEXEC) : -1;

        public void Read(DumpedArea area, RemoteRange[] batch, byte[] buffer, int offset = 0)
        {
            if (area.Readable && snapshotFd >= 0) ReadThroughMemFile(snapshotFd, batch, buffer.AsSpan(offset), area.Item);
            else if (area.Readable) memory.ReadBatch(batch, buffer.AsSpan(offset));
            // FOLL_FORCE reads are only granted to the tracing thread on 7.x kernels (docs/compat-matrix.md).
            else tracer.Run(() =>
            {
                if (forcedFd < 0) forcedFd = Native.OpenOrThrow(ProcFiles.PathOf(pid, "mem"), Native.O_RDONLY | Native.O_CLOEXEC);
                ReadThroughMemFile(forcedFd, batch, buffer.AsSpan(offset), area.Item);
            });
        }

        public void Dispose()
        {
            if (forcedFd >= 0) Native.Close(forcedFd);
            if (snapshotFd >= 0) Native.Close(snapshotFd);
            forcedFd = snapshotFd = -1;
        }

        private unsafe void ReadThroughMemFile(int memFd, ReadOnlySpan<RemoteRange> batch, Span<byte> buffer, MemoryArea area)
        {
            int offset = 0;
            fixed (byte* data = buffer)
            {
                foreach (var range in batch)
                {
                    for (ulong done = 0; done < range.Length;)
                    {
                        nint read = Native.Pread(memFd, data + offset + (int)done, (nuint)(range.Length - done), (long)(range.Address + done));
                        if (read < 0)
                            throw new SysCallException("pread", Marshal.GetLastPInvokeError(),
                                $"/proc/{pid}/mem at {range.Address + done:x} (area {area.Start:x}-{area.End:x})");
                        if (read == 0)
                            throw new RemoteMemoryException(pid, range.Address + done, range.Length - done, "/proc/PID/mem read nothing");
                        done += (ulong)read;
                    }
                    offset += (int)range.Length;
                }
            }
        }
    }

    // -------------------------------------------------------------------------------- restore

    public bool Handles(CheckpointItem item) => item is MemoryLayout or MemoryArea or PageData or GuardRegions;

    /// <summary>Per restored process: where the stream stands and what was set up.</summary>
    private sealed class RestoreState
    {
        public MemoryLayout? Layout;
        /// <summary>The kernel's mappings after the move, by name.</summary>
        public Dictionary<string, MemoryMapping> KernelMappings = [];
        public HashSet<string> KernelMappingsSeen = [];
        public ulong PreviousEnd;
        /// <summary>The area whose PAGE items are being read; the next expected page address and the end of the run it is in.</summary>
        public MemoryArea? Current;
        /// <summary>The current area's pages are checked but not written (a System V segment that was still there).</summary>
        public bool SkipPages;
        public int RunIndex;
        public ulong NextAddress, RunEnd;
        /// <summary>Areas mapped writable so their pages could be written; their real protection follows in Finish.</summary>
        public List<(ulong Start, ulong Length, uint Protection)> DeferredProtections = [];
        /// <summary>Files opened for mapping, installed in the target: (path, read-write) to target fd.</summary>
        public Dictionary<(string Path, bool Writable), int> TargetFds = [];
        /// <summary>The target fd and file object of each deleted file mapped read-only, by the path the image shows for it (".../NAME (deleted)"): a deleted executable is one.</summary>
        public Dictionary<string, (int Fd, ulong Device, ulong Inode)> DeletedFileFds = [];
        public ulong PagesWritten;
        /// <summary>The area being filled with UFFDIO_COPY (<see cref="UffdFill"/>) and cryo's userfaultfd of this process.</summary>
        public MemoryArea? FillArea;
        /// <summary>The guard regions, installed in Finish once every page is in.</summary>
        public GuardRegions? Guards;
        public int FillFd = -1;
    }

    public void Restore(RestoringProcess? process, CheckpointItem item, RestoreSession session)
    {
        if (process is null) throw new InvalidOperationException($"{item.Tag} item outside a PROC section");
        var state = process.State<RestoreState>();
        switch (item)
        {
            case MemoryLayout layout:
                if (state.Layout is not null) throw Invalid(process, "a second MMST");
                state.Layout = layout;
                process.Tracer.Run(() => ClearStub(process, state));
                break;
            case MemoryArea area:
                if (state.Layout is null) throw Invalid(process, $"AREA {area.Start:x}-{area.End:x} before the MMST");
                CompleteArea(process, state);
                ValidateArea(process, state, area);
                process.Tracer.Run(() => MapArea(process, state, area, session));
                BeginArea(state, area);
                break;
            case PageData page:
                WritePage(process, state, page, session.State<PageCopier>());
                break;
            case GuardRegions guards:
                if (state.Guards is not null) throw Invalid(process, "a second GARD");
                state.Guards = guards;
                break;
        }
    }

    /// <summary>
    /// Unmaps everything of the stub except its kernel mappings, then moves [vvar], [vvar_vclock]
    /// and [vdso] together to the image's addresses (the vDSO's code finds its data at a fixed
    /// distance, so moving only [vdso] breaks the first clock_gettime). The stub's rseq area was
    /// unregistered at birth, else the kernel would kill the task at the first munmap.
    /// </summary>
    private static void ClearStub(RestoringProcess process, RestoreState state)
    {
        int pid = process.Pid;
        var maps = ProcMaps.Read(pid);
        var kernel = maps.Where(m => IsMovableKernelMapping(m.Path)).OrderBy(m => m.Start).ToList();
        var vdso = kernel.FirstOrDefault(m => m.Path == "[vdso]")
            ?? throw new InvalidOperationException($"pid {pid}: the stub has no [vdso] mapping");
        ulong imageVdso = state.Layout!.Auxv.FirstOrDefault(a => a.Type == ProcAuxv.AT_SYSINFO_EHDR).Value;
        if (imageVdso == 0)
            throw new InvalidOperationException($"cannot restore pid {pid}: the image has no vDSO (no AT_SYSINFO_EHDR in its auxv)");

        // Unmap the stub's mappings in as few calls as possible: munmap accepts holes, so one call
        // covers every mapping between two kernel mappings. [vsyscall] lies above user space.
        ulong rangeStart = 0, rangeEnd = 0;
        foreach (var m in maps.Where(m => m.End <= UserSpaceEnd).OrderBy(m => m.Start))
        {
            if (IsMovableKernelMapping(m.Path))
            {
                if (rangeEnd > rangeStart) process.Syscalls.Munmap(rangeStart, rangeEnd - rangeStart);
                rangeStart = rangeEnd = 0;
                continue;
            }
            if (rangeEnd == rangeStart) rangeStart = m.Start;
            rangeEnd = m.End;
        }
        if (rangeEnd > rangeStart) process.Syscalls.Munmap(rangeStart, rangeEnd - rangeStart);

        long delta = (long)(imageVdso - vdso.Start);
        if (delta != 0) MoveKernelMappings(process, kernel, delta);

        var moved = ProcMaps.Read(pid);
        var leftovers = moved.Where(m => !IsMovableKernelMapping(m.Path) && m.Path != "[vsyscall]").ToList();
        if (leftovers.Count > 0)
            throw new InvalidOperationException($"pid {pid}: stub mappings left after unmapping: {string.Join(", ", leftovers)}");
        state.KernelMappings = moved.Where(m => IsMovableKernelMapping(m.Path)).ToDictionary(m => m.Path);
    }

    private static bool IsMovableKernelMapping(string path) => path is "[vdso]" or "[vvar]" or "[vvar_vclock]";

    /// <summary>
    /// mremaps the kernel mappings by <paramref name="delta"/>, [vdso] last in each step because
    /// the injected syscalls run from it (the site is looked up again after each step). If the
    /// old and new places overlap (mremap refuses that), they go through a free place first.
    /// </summary>
    private static void MoveKernelMappings(RestoringProcess process, List<MemoryMapping> kernel, long delta)
    {
        ulong blockStart = kernel.Min(m => m.Start), blockEnd = kernel.Max(m => m.End);
        ulong size = blockEnd - blockStart;
        ulong target = (ulong)((long)blockStart + delta);
        if (target < 0x10000 || target + size > UserSpaceEnd)
            throw new InvalidOperationException($"pid {process.Pid}: the image's vDSO block {target:x}-{target + size:x} is outside user space");
        bool overlaps = target < blockEnd && blockStart < target + size;
        if (overlaps)
        {
            // Nothing but the kernel mappings is mapped now: just beyond both blocks is free.
            ulong temporary = Math.Max(blockEnd, target + size) + 0x100000;
            if (temporary + size > UserSpaceEnd) temporary = Math.Min(blockStart, target) - size - 0x100000;
            MoveBy(process, kernel, (long)(temporary - blockStart));
            kernel = [.. kernel.Select(m => m with { Start = m.Start + temporary - blockStart, End = m.End + temporary - blockStart })];
            blockStart = temporary;
        }
        MoveBy(process, kernel, (long)(target - blockStart));
    }

    private static void MoveBy(RestoringProcess process, List<MemoryMapping> kernel, long delta)
    {
        foreach (var m in kernel.OrderBy(m => m.Path == "[vdso]" ? 1 : 0))
        {
            ulong destination = (ulong)((long)m.Start + delta);
            long result = process.Syscalls.Invoke(SyscallNumbers.Mremap, (long)m.Start, (long)m.Length, (long)m.Length,
                MemoryCalls.MREMAP_MAYMOVE | MemoryCalls.MREMAP_FIXED, (long)destination);
            if ((ulong)result != destination)
                throw new InvalidOperationException(
                    $"pid {process.Pid}: mremap of {m.Path} {m.Start:x}-{m.End:x} to {destination:x} failed: {Describe(result)}");
        }
        var site = SyscallSite.FindInVdso(process.Pid, process.Memory);
        process.Syscalls = new RemoteSyscall(process.Tracer, process.Pid, site);
    }

    /// <summary>The consumer's checks of §8.5: areas ascending and page aligned, runs ascending and inside.</summary>
    private static void ValidateArea(RestoringProcess process, RestoreState state, MemoryArea area)
    {
        ulong page = (ulong)PageSize;
        if (area.Start % page != 0 || area.End % page != 0)
            throw Invalid(process, $"AREA {area.Start:x}-{area.End:x} is not page aligned");
        if (area.Start < state.PreviousEnd)
            throw Invalid(process, $"AREA {area.Start:x}-{area.End:x} overlaps or precedes the previous area (ending {state.PreviousEnd:x})");
        ulong pages = (area.End - area.Start) / page, next = 0;
        foreach (var run in area.Runs)
        {
            if (run.PageCount == 0 || run.FirstPage < next || run.FirstPage > pages || run.PageCount > pages - run.FirstPage)
                throw Invalid(process, $"AREA {area.Start:x}-{area.End:x}: run of {run.PageCount} pages at page {run.FirstPage} is empty, out of order or outside the area");
            next = run.FirstPage + run.PageCount;
        }
        bool pagesAllowed = area.Kind is MemoryAreaKind.AnonymousPrivate or MemoryAreaKind.AnonymousShared
            or MemoryAreaKind.Heap or MemoryAreaKind.Stack or MemoryAreaKind.FilePrivate or MemoryAreaKind.SysVShared
            || area.Kind == MemoryAreaKind.Memfd && (area.MapFlags & MemoryArea.MapShared) == 0;
        if (!pagesAllowed && area.Runs.Length > 0)
            throw Invalid(process, $"AREA {area.Start:x}-{area.End:x} of kind {area.Kind} cannot carry pages");
        state.PreviousEnd = area.End;
    }

    private static void MapArea(RestoringProcess process, RestoreState state, MemoryArea area, RestoreSession session)
    {
        string path = Encoding.UTF8.GetString(area.Path);
        long prot = area.Protection & (MemoryArea.ProtRead | MemoryArea.ProtWrite | MemoryArea.ProtExec);
        const long fixedNoReplace = RemoteSyscall.MAP_FIXED_NOREPLACE;
        switch (area.Kind)
        {
            case MemoryAreaKind.Vdso or MemoryAreaKind.Vvar or MemoryAreaKind.VvarVclock:
                CheckKernelMapping(process, state, area, path);
                return;
            case MemoryAreaKind.Vsyscall:
                return; // fixed by the kernel, above user space
            case MemoryAreaKind.AnonymousPrivate or MemoryAreaKind.Heap:
                prot = WritableWhileFilling(state, area, prot);
                // MAP_GROWSDOWN: a stack the program mapped itself (the kernel extends it downwards on a fault below it).
                long growsDown = area.Kind == MemoryAreaKind.AnonymousPrivate && (area.MapFlags & MemoryArea.MapGrowsDown) != 0 ? MemoryCalls.MAP_GROWSDOWN : 0;
                Map(process, area, prot, RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS | growsDown | NoReserve(area) | fixedNoReplace);
                BeginFill(process, state, area, session);
                return;
            case MemoryAreaKind.Stack:
                prot = WritableWhileFilling(state, area, prot);
                Map(process, area, prot, RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS | MemoryCalls.MAP_GROWSDOWN | fixedNoReplace);
                return;
            case MemoryAreaKind.AnonymousShared:
                // /proc/PID/mem writes only reach a read-only mapping when it is private
                // (copy-on-write); a shared one is mapped writable until its pages are in.
                prot = WritableWhileFilling(state, area, prot);
                if (area.Inode != 0 && session.State<SharedObjects>().First.TryGetValue((area.Device, area.Inode), out var first))
                {
                    MapSharedObject(process, area, prot, first);
                    return;
                }
                Map(process, area, prot, RemoteSyscall.MAP_SHARED | RemoteSyscall.MAP_ANONYMOUS | NoReserve(area) | fixedNoReplace);
                if (area.Inode != 0) session.State<SharedObjects>().First[(area.Device, area.Inode)] = (process.Pid, area);
                return;
            case MemoryAreaKind.SysVShared:
                var (writePages, attached) = SysVSharedMemory.Attach(process, area, session);
                // A live segment keeps its content: the stored pages are read past, not written.
                state.SkipPages = !writePages;
                if (writePages) prot = WritableWhileFilling(state, area, prot);
                if (prot != attached) Protect(process, area.Start, area.End - area.Start, prot);
                return;
            case MemoryAreaKind.FilePrivate or MemoryAreaKind.FileShared:
                bool shared = area.Kind == MemoryAreaKind.FileShared;
                if (!shared) prot = WritableWhileFilling(state, area, prot);
                int fd = PathlessFiles.IsDeletedFile(path) ? PathlessTargetFd(process, state, area, session, shared) : TargetFd(process, state, area, path, shared);
                Map(process, area, prot, (shared ? RemoteSyscall.MAP_SHARED : RemoteSyscall.MAP_PRIVATE) | NoReserve(area) | fixedNoReplace, fd, (long)area.FileOffset);
                return;
            case MemoryAreaKind.Memfd:
                bool sharedMemfd = (area.MapFlags & MemoryArea.MapShared) != 0;
                if (!sharedMemfd) prot = WritableWhileFilling(state, area, prot);
                int memfd = PathlessTargetFd(process, state, area, session, sharedMemfd);
                Map(process, area, prot, (sharedMemfd ? RemoteSyscall.MAP_SHARED : RemoteSyscall.MAP_PRIVATE) | fixedNoReplace, memfd, (long)area.FileOffset);
                return;
            default:
                throw Invalid(process, $"AREA {area.Start:x}-{area.End:x} has unknown kind {area.Kind}");
        }
    }

    /// <summary>
    /// Shared anonymous objects of one restore, by the (device, inode) of the image: the process
    /// and area that created each one. Later areas with the same identity, in any process, map
    /// that same object, so sharing is restored as sharing.
    /// </summary>
    internal sealed class SharedObjects
    {
        public Dictionary<(ulong Device, ulong Inode), (int Pid, MemoryArea Area)> First { get; } = [];
    }

    /// <summary>
    /// Maps the shmem object that an earlier area (of this or another restored process) created:
    /// cryo opens it through /proc/PID/map_files of that area, gives the target a copy (<see cref="FdTransfer"/>) and
    /// maps it MAP_SHARED at the offset relative to the first area (whose object starts at its
    /// own offset), growing the object if this area reaches beyond it.
    /// </summary>
    private static void MapSharedObject(RestoringProcess process, MemoryArea area, long prot, (int Pid, MemoryArea Area) first)
    {
        string source = $"/proc/{first.Pid}/map_files/{first.Area.Start:x}-{first.Area.End:x}";
        int local = Native.OpenBytes(Encoding.UTF8.GetBytes(source), Native.O_RDWR | Native.O_CLOEXEC, 0, out int errno);
        if (local < 0)
            throw new InvalidOperationException(
                $"pid {process.Pid}: cannot open the shared memory of pid {first.Pid} ({source}) to share area {area.Start:x}-{area.End:x}: {ErrnoNames.Name(errno)}");
        try
        {
            if (area.FileOffset < first.Area.FileOffset)
                throw new InvalidOperationException(
                    $"pid {process.Pid}: shared area {area.Start:x}-{area.End:x} starts at offset {area.FileOffset:x} of its object, before the part pid {first.Pid} maps ({first.Area.FileOffset:x})");
            ulong offset = area.FileOffset - first.Area.FileOffset, needed = offset + (area.End - area.Start);
            var status = Native.Fstat(local, source);
            if ((ulong)status.Size < needed && Native.Ftruncate(local, (long)needed) < 0)
                throw new SysCallException("ftruncate", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"{source} to {needed} bytes");
            // A reopened copy is another description of the same shmem object: the memory is shared all the same.
            string what = $"pid {process.Pid}: the shared memory of pid {first.Pid} ({source}) for area {area.Start:x}-{area.End:x}";
            int fd = FdTransfer.Of(process).Copy(process, local, what, out _);
            try
            {
                Map(process, area, prot, RemoteSyscall.MAP_SHARED | RemoteSyscall.MAP_FIXED_NOREPLACE, fd, (long)offset);
            }
            finally
            {
                process.Syscalls.Invoke(SyscallNumbers.Close, fd);
            }
        }
        finally
        {
            Native.Close(local);
        }
    }

    /// <summary>
    /// An area with stored pages but without PROT_WRITE was writable once (that is how it got
    /// pages: relocated library data made read-only by RELRO, memory mprotected after use). It is
    /// mapped writable and gets its real protection in Finish. Mapped read-only at once it would
    /// differ from the original: the kernel marks private mappings that were ever writable
    /// VM_ACCOUNT, and without that flag the area merges with a read-only neighbour of the same
    /// file (seen here: libc's RELRO part merged with its read-only part). Shared anonymous
    /// memory needs it anyway: /proc/PID/mem cannot write a read-only shared page.
    /// </summary>
    private static long WritableWhileFilling(RestoreState state, MemoryArea area, long prot)
    {
        if (area.Runs.Length == 0 || (prot & RemoteSyscall.PROT_WRITE) != 0) return prot;
        state.DeferredProtections.Add((area.Start, area.End - area.Start, (uint)prot));
        return prot | RemoteSyscall.PROT_WRITE | RemoteSyscall.PROT_READ;
    }

    private static long NoReserve(MemoryArea area) => (area.MapFlags & MemoryArea.MapNoReserve) != 0 ? MemoryCalls.MAP_NORESERVE : 0;

    private static void Protect(RestoringProcess process, ulong start, ulong length, long prot) =>
        process.Syscalls.Checked($"mprotect({start:x}, 0x{length:x}, {prot})", SyscallNumbers.Mprotect, (long)start, (long)length, prot);

    private static void Map(RestoringProcess process, MemoryArea area, long prot, long flags, int fd = -1, long offset = 0)
    {
        ulong length = area.End - area.Start;
        long result = process.Syscalls.Invoke(SyscallNumbers.Mmap, (long)area.Start, (long)length, prot, flags, fd, offset);
        if ((ulong)result == area.Start) return;
        string why = Describe(result);
        if (result == -ErrnoNames.EEXIST)
        {
            var existing = ProcMaps.Read(process.Pid).Where(m => m.Start < area.End && area.Start < m.End);
            why += $": it collides with {string.Join(", ", existing)}" +
                   " (the image's kernel mappings are laid out differently from this kernel's?)";
        }
        throw new InvalidOperationException(
            $"pid {process.Pid}: cannot map {area.Kind} area {area.Start:x}-{area.End:x} {Encoding.UTF8.GetString(area.Path)}: {why}");
    }

    private static void CheckKernelMapping(RestoringProcess process, RestoreState state, MemoryArea area, string path)
    {
        if (!state.KernelMappings.TryGetValue(path, out var here) || here.Start != area.Start || here.End != area.End)
        {
            string found = string.Join(", ", state.KernelMappings.Values.OrderBy(m => m.Start).Select(m => $"{m.Path} {m.Start:x}-{m.End:x}"));
            throw new InvalidOperationException(
                $"cannot restore pid {process.Pid}: the image's {path} is {area.Start:x}-{area.End:x} (0x{area.End - area.Start:x} bytes), " +
                $"but this kernel's vDSO layout, moved to the image's [vdso], is {found}: the image was taken on a kernel with a " +
                "different vDSO layout; restore it on a kernel of the same family");
        }
        state.KernelMappingsSeen.Add(path);
    }

    /// <summary>
    /// An fd of the backing file inside the target: opened by cryo (the target has no scratch
    /// memory for a path yet), checked to be the file that was mapped, and given to it
    /// (<see cref="FdTransfer"/>). Cached per path; closed in Finish.
    /// </summary>
    private static int TargetFd(RestoringProcess process, RestoreState state, MemoryArea area, string path, bool shared)
    {
        if (state.TargetFds.TryGetValue((path, shared), out int cached)) return cached;
        int local = -1, errno = 0;
        // A shared mapping keeps the file's access mode (an O_RDONLY file can never be made
        // writable with mprotect), so prefer read-write when the file allows it.
        if (shared) local = Native.OpenBytes(area.Path, Native.O_RDWR | Native.O_CLOEXEC, 0, out errno);
        if (local < 0) local = Native.OpenBytes(area.Path, Native.O_RDONLY | Native.O_CLOEXEC, 0, out errno);
        if (local < 0)
            throw new InvalidOperationException($"pid {process.Pid}: cannot open {path} for the area {area.Start:x}-{area.End:x}: {ErrnoNames.Name(errno)}");
        try
        {
            var file = Native.Fstat(local, path);
            if (file.Inode != area.Inode || file.Device != area.Device)
                throw new InvalidOperationException(
                    $"cannot restore pid {process.Pid}: {path} (mapped at {area.Start:x}-{area.End:x}) is not the file of the checkpoint " +
                    $"(device 0x{area.Device:x}, inode {area.Inode}; now device 0x{file.Device:x}, inode {file.Inode}): it was replaced");
            return Install(process, state, local, (path, shared), $"pid {process.Pid}: {path} for the area {area.Start:x}-{area.End:x}");
        }
        finally
        {
            Native.Close(local);
        }
    }

    /// <summary>
    /// The target's descriptor of the memfd or deleted file an area maps (made by
    /// <see cref="PathlessFiles"/> from an earlier MEMF or DELF), cached per object like a file's. A private mapping or a shared one
    /// of a write-sealed object gets a read-only descriptor, as the kernel wants for the latter.
    /// </summary>
    private static int PathlessTargetFd(RestoringProcess process, RestoreState state, MemoryArea area, RestoreSession session, bool shared)
    {
        bool readOnly = !shared || PathlessFiles.WriteSealed(session, area.Device, area.Inode);
        var key = ($"{PathlessFiles.Prefix}{area.Device:x}:{area.Inode}", !readOnly);
        if (state.TargetFds.TryGetValue(key, out int cached)) return cached;
        string what = $"pid {process.Pid} area {area.Start:x}-{area.End:x} ({Encoding.UTF8.GetString(area.Path)})";
        int local = PathlessFiles.LocalFd(session, area.Device, area.Inode, readOnly, what);
        int fd = Install(process, state, local, key, what);
        if (readOnly) state.DeletedFileFds.TryAdd(Encoding.UTF8.GetString(area.Path), (fd, area.Device, area.Inode));
        return fd;
    }

    /// <summary>A large fresh anonymous area is filled with UFFDIO_COPY where that can be had (<see cref="UffdFill"/>).</summary>
    private static void BeginFill(RestoringProcess process, RestoreState state, MemoryArea area, RestoreSession session)
    {
        if ((long)area.StoredPages * PageSize < UffdFill.FillAbove) return;
        int fd = session.State<UffdFill>().Register(process, area.Start, area.End - area.Start);
        if (fd < 0) return;
        state.FillArea = area;
        state.FillFd = fd;
    }

    /// <summary>
    /// Unregisters the area being filled. Before anything else writes into it: a write through
    /// /proc/PID/mem into a registered page that is missing would wait for cryo to resolve it.
    /// </summary>
    private static void EndFill(RestoringProcess process, RestoreState state)
    {
        if (state.FillArea is not { } area) return;
        state.FillArea = null;
        UffdFill.Unregister(process.Pid, state.FillFd, area.Start, area.End - area.Start);
    }

    private static void BeginArea(RestoreState state, MemoryArea area)
    {
        state.Current = area;
        state.RunIndex = 0;
        if (area.Kind != MemoryAreaKind.SysVShared) state.SkipPages = false;
        SetRun(state);
    }

    private static void SetRun(RestoreState state)
    {
        var area = state.Current!;
        if (state.RunIndex < area.Runs.Length)
        {
            var run = area.Runs[state.RunIndex];
            state.NextAddress = area.Start + run.FirstPage * (ulong)PageSize;
            state.RunEnd = state.NextAddress + run.PageCount * (ulong)PageSize;
        }
        else
        {
            state.NextAddress = state.RunEnd = 0;
        }
    }

    /// <summary>Every run of the previous area must have had its pages.</summary>
    private static void CompleteArea(RestoringProcess process, RestoreState state)
    {
        EndFill(process, state);
        var area = state.Current;
        if (area is null || state.RunIndex >= area.Runs.Length) return;
        throw Invalid(process, $"AREA {area.Start:x}-{area.End:x}: the pages from {state.NextAddress:x} to {state.RunEnd:x} " +
                               $"(run {state.RunIndex + 1} of {area.Runs.Length}) are missing");
    }

    private static void WritePage(RestoringProcess process, RestoreState state, PageData page, PageCopier copier)
    {
        var area = state.Current;
        if (area is null || state.RunIndex >= area.Runs.Length)
            throw Invalid(process, $"PAGE at {page.Address:x} belongs to no run of the AREA before it");
        ulong length = (ulong)page.Data.Length;
        if (page.Address != state.NextAddress || length > state.RunEnd - page.Address)
            throw Invalid(process, $"PAGE at {page.Address:x} (+{length:x}) does not continue the run at {state.NextAddress:x}-{state.RunEnd:x} of AREA {area.Start:x}-{area.End:x}");
        if (!state.SkipPages)
        {
            WriteRemote(process, state, copier, page.Address, page.Data);
            state.PagesWritten += length / (ulong)PageSize;
        }
        state.NextAddress += length;
        if (state.NextAddress == state.RunEnd)
        {
            state.RunIndex++;
            SetRun(state);
        }
    }

    /// <summary>
    /// Writes pages into the target, on two threads for large runs (<see cref="PageCopier"/>):
    /// with UFFDIO_COPY into a large anonymous area (<see cref="UffdFill"/>), else with
    /// process_vm_writev, which copies straight into the target's pages (every area with pages
    /// is writable while it is filled, see <see cref="WritableWhileFilling"/>). /proc/PID/mem (a
    /// bounce page per 4 KiB) writes whatever these leave; a filled area is unregistered first.
    /// </summary>
    private static unsafe void WriteRemote(RestoringProcess process, RestoreState state, PageCopier copier, ulong address, ReadOnlyMemory<byte> data)
    {
        using var pin = data.Pin();
        int uffd = state.FillArea is null ? -1 : state.FillFd; // the fill of an area ends before the next one begins
        long copied = copier.Copy(process.Pid, uffd, (byte*)pin.Pointer, address, data.Length);
        if (copied == data.Length) return;
        EndFill(process, state);
        process.Memory.Write(address + (ulong)copied, data.Span[(int)copied..]);
    }

    // -------------------------------------------------------------------------------- finish

    // Scratch for the other kinds' finish steps: two pages (a PATH_MAX path fits with room to spare).
    internal const int ScratchSize = 8192;

    public void Finish(RestoringProcess process, RestoreSession session)
    {
        var state = process.State<RestoreState>();
        if (state.Layout is null) throw Invalid(process, "no MMST (memory layout) item");
        CompleteArea(process, state);
        session.State<UffdFill>().Release(process.Pid);
        var missing = state.KernelMappings.Keys.Where(k => !state.KernelMappingsSeen.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"cannot restore pid {process.Pid}: this kernel has {string.Join(", ", missing)}, which the image lacks: it was taken " +
                "on a kernel with a different vDSO layout; restore it on a kernel of the same family");

        process.Tracer.Run(() =>
        {
            foreach (var (start, length, protection) in state.DeferredProtections)
                Protect(process, start, length, protection);
            // Before MemoryAdvice's mlock: Linux installs no guard in a locked area.
            foreach (var guard in state.Guards?.Ranges ?? [])
                process.Syscalls.Checked($"madvise({guard.Start:x}-{guard.End:x}, MADV_GUARD_INSTALL)", InjectedCalls.Madvise,
                    (long)guard.Start, (long)(guard.End - guard.Start), InjectedCalls.MADV_GUARD_INSTALL);

            var scratch = CreateScratch(process);
            SetMmFields(process, state, state.Layout, scratch, session);
            foreach (int fd in state.TargetFds.Values) process.Syscalls.Checked("close", SyscallNumbers.Close, fd);
            state.TargetFds.Clear();
            state.DeletedFileFds.Clear();
            FdTransfer.Of(process).Release(process);
            process.Scratch = scratch;
        });
    }

    /// <summary>Maps the scratch pages in the middle of the largest hole of the restored layout (MAP_FIXED_NOREPLACE).</summary>
    private static RemoteScratch CreateScratch(RestoringProcess process)
    {
        var maps = ProcMaps.Read(process.Pid).Where(m => m.End <= UserSpaceEnd).OrderBy(m => m.Start).ToList();
        ulong low = 0x10000, bestStart = 0, bestLength = 0;
        foreach (var m in maps.Append(new MemoryMapping(UserSpaceEnd, UserSpaceEnd, MappingProtection.None, false, 0, 0, 0, 0, "")))
        {
            if (m.Start > low && m.Start - low > bestLength) { bestStart = low; bestLength = m.Start - low; }
            low = Math.Max(low, m.End);
        }
        if (bestLength < 4 * (ulong)ScratchSize)
            throw new InvalidOperationException($"pid {process.Pid}: no hole of {4 * ScratchSize} bytes in the restored address space for scratch memory");
        ulong address = (bestStart + bestLength / 2) & ~((ulong)PageSize - 1);
        long result = process.Syscalls.Invoke(SyscallNumbers.Mmap, (long)address, ScratchSize,
            RemoteSyscall.PROT_READ | RemoteSyscall.PROT_WRITE,
            RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS | RemoteSyscall.MAP_FIXED_NOREPLACE);
        if ((ulong)result != address)
            throw new InvalidOperationException($"pid {process.Pid}: mapping scratch memory at {address:x} failed: {Describe(result)}");
        return new RemoteScratch(process.Memory, address, ScratchSize);
    }

    /// <summary>
    /// PR_SET_MM_MAP: code/data/brk/stack/arg/env bounds, the auxv and the exe link in one call
    /// (the single-field PR_SET_MM_* calls need CAP_SYS_RESOURCE, which this machine lacks). The
    /// exe link can only change once the stub's executable is no longer mapped.
    /// </summary>
    private static void SetMmFields(RestoringProcess process, RestoreState state, MemoryLayout layout, RemoteScratch scratch, RestoreSession session)
    {
        const int structOffset = 0, auxvOffset = 128;
        int auxvBytes = (layout.Auxv.Length + 1) * 16;
        if (auxvOffset + auxvBytes > scratch.Size)
            throw new InvalidOperationException($"pid {process.Pid}: the image's auxv ({layout.Auxv.Length} entries) does not fit the scratch memory");
        var auxv = new byte[auxvBytes]; // ends with AT_NULL (zeroes)
        for (int i = 0; i < layout.Auxv.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(auxv.AsSpan(i * 16), layout.Auxv[i].Type);
            BinaryPrimitives.WriteUInt64LittleEndian(auxv.AsSpan(i * 16 + 8), layout.Auxv[i].Value);
        }
        scratch.Write(auxvOffset, auxv);

        int exeFd = ExeFd(process, state, session);
        var map = new byte[MemoryCalls.PrctlMmMapSize];
        ulong[] words =
        [
            layout.StartCode, layout.EndCode, layout.StartData, layout.EndData, layout.StartBrk, layout.Brk,
            layout.StartStack, layout.ArgStart, layout.ArgEnd, layout.EnvStart, layout.EnvEnd, scratch.Address + auxvOffset,
        ];
        for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(map.AsSpan(i * 8), words[i]);
        BinaryPrimitives.WriteUInt32LittleEndian(map.AsSpan(96), (uint)auxvBytes);
        BinaryPrimitives.WriteInt32LittleEndian(map.AsSpan(100), exeFd);
        scratch.Write(structOffset, map);
        long result = process.Syscalls.Invoke(SyscallNumbers.Prctl, MemoryCalls.PR_SET_MM, MemoryCalls.PR_SET_MM_MAP,
            (long)(scratch.Address + structOffset), MemoryCalls.PrctlMmMapSize, 0);
        if (result < 0)
            throw new InvalidOperationException(
                $"pid {process.Pid}: prctl(PR_SET_MM, PR_SET_MM_MAP) failed: {Describe(result)} (code {layout.StartCode:x}-{layout.EndCode:x}, " +
                $"data {layout.StartData:x}-{layout.EndData:x}, brk {layout.StartBrk:x}-{layout.Brk:x}, stack {layout.StartStack:x}, " +
                $"args {layout.ArgStart:x}-{layout.ArgEnd:x}, env {layout.EnvStart:x}-{layout.EnvEnd:x}, exe fd {exeFd})");
    }

    /// <summary>Gives the target a copy of cryo's fd <paramref name="local"/> (<see cref="FdTransfer"/>) and caches it under <paramref name="key"/>.</summary>
    private static int Install(RestoringProcess process, RestoreState state, int local, (string Path, bool Writable) key, string what)
    {
        // Only mapped (or handed to PR_SET_MM_MAP) and closed: a reopened copy's flags and offset do not matter.
        int fd = FdTransfer.Of(process).Copy(process, local, what, out _);
        state.TargetFds[key] = fd;
        return fd;
    }

    /// <summary>The target fd of the image's executable for PR_SET_MM_MAP, or -1 to keep the current exe link.</summary>
    private static int ExeFd(RestoringProcess process, RestoreState state, RestoreSession session)
    {
        var exe = process.Info.ExePath;
        if (exe.Length == 0) return -1;
        // Same file as the stub's (restoring a sleep): changing it would fail with EBUSY while the image maps it.
        byte[] current = Native.ReadLink(ProcFiles.PathOf(process.Pid, "exe"));
        if (current.AsSpan().SequenceEqual(exe)) return -1;
        string path = Encoding.UTF8.GetString(exe);
        // A deleted executable (a program upgraded while it ran) is the deleted file its code maps,
        // made again from the image like any other (PathlessFiles).
        if (PathlessFiles.IsDeletedFile(path))
        {
            if (!state.DeletedFileFds.TryGetValue(path, out var deleted))
                throw new InvalidOperationException($"pid {process.Pid}: the executable {path} was deleted, and the image maps it nowhere (a deleted file comes back only from its saved contents)");
            PathlessFiles.CloseWriter(session, deleted.Device, deleted.Inode, $"the executable of pid {process.Pid}");
            return deleted.Fd;
        }
        var cached = state.TargetFds.FirstOrDefault(p => p.Key.Path == path);
        if (cached.Key.Path is not null) return cached.Value;
        int local = Native.OpenBytes(exe, Native.O_RDONLY | Native.O_CLOEXEC, 0, out int errno);
        if (local < 0) throw new InvalidOperationException($"pid {process.Pid}: cannot open the executable {path}: {ErrnoNames.Name(errno)}");
        try
        {
            return Install(process, state, local, (path, false), $"pid {process.Pid}: the executable {path}");
        }
        finally
        {
            Native.Close(local);
        }
    }

    private static string Describe(long result) =>
        result < 0 && result >= -4095 ? $"{ErrnoNames.Name((int)-result)} ({Marshal.GetPInvokeErrorMessage((int)-result)})" : $"returned {result:x}";

    private static InvalidDataException Invalid(RestoringProcess process, string what) =>
        new($"image of pid {process.Pid}: {what}");
}
