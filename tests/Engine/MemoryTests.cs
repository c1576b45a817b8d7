using System.Diagnostics;
using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Restore;
using Cryo.Tests.Engine.Support;
using Cryo.Tracing;
using Xunit;
using Xunit.Abstractions;

namespace Cryo.Tests.Engine;

/// <summary>The Memory kind on real processes: what is dumped, what a restore recreates, and the whole round trip with Threads.</summary>
public sealed class MemoryTests(TestProgs progs, ITestOutputHelper output) : IClassFixture<TestProgs>
{
    private static readonly int PageSize = Environment.SystemPageSize;

    /// <summary>Dumps a frozen program's memory into an image in memory; returns the items read back.</summary>
    private static List<CheckpointItem> DumpItems(FrozenProcess frozen, string exe, out byte[] image)
    {
        var dumped = new Memory().Dump(frozen, new DumpSession(new CheckpointOptions(true, PipeDumpStrategy.Tee)));
        using var stream = new MemoryStream();
        Harness.WriteImage(stream, Harness.InfoOf(frozen.Pid, exe), dumped);
        image = stream.ToArray();
        using var reader = new CheckpointReader(new MemoryStream(image));
        var items = new List<CheckpointItem>();
        while (reader.GetNextItem() is { } item)
            items.Add(item is PageData page ? page with { Data = page.Data.ToArray() } : item);
        return items;
    }

    [Fact]
    public void Pages_without_PROT_READ_are_stored_as_they_were_and_restored()
    {
        using var program = TestProgram.Start(progs, "memhog", "--mib=9");
        string exe = progs.PathOf("memhog");
        using var tracer = new Tracer();
        var session = new RestoreSession(tracer, Harness.Header(), new RestoreOptions(Detach: true));
        try
        {
            var frozen = Harness.Freeze(tracer, program.Pid);
            // process_vm_readv refuses these pages; they are read through /proc/PID/mem on the tracer thread.
            var hog = frozen.Mappings.Single(m => m.Length >= 9UL << 20 && m.Path.Length == 0);
            ulong hidden = hog.Start + (3UL << 20);
            var expected = new byte[1 << 20];
            frozen.Memory.Read(hidden, expected);
            frozen.Syscalls.Checked("mprotect", SyscallNumbers.Mprotect, (long)hidden, 1 << 20, 0);
            frozen = new FrozenProcess(frozen.Pid, tracer, frozen.Memory, ProcMaps.Read(program.Pid), frozen.Threads, frozen.Syscalls);
            var dumpSession = new DumpSession(new CheckpointOptions(false, PipeDumpStrategy.Tee));
            var image = new MemoryStream();
            Harness.WriteImage(image, Harness.InfoOf(program.Pid, exe), new Memory().Dump(frozen, dumpSession), new Threads().Dump(frozen, dumpSession));
            var items = new List<CheckpointItem>();
            using (var reader = new CheckpointReader(new MemoryStream(image.ToArray())))
                while (reader.GetNextItem() is { } item)
                    items.Add(item is PageData page ? page with { Data = page.Data.ToArray() } : item);

            var area = Assert.Single(items.OfType<MemoryArea>(), a => a.Start == hidden);
            Assert.Equal(0u, area.Protection);
            var stored = items.OfType<PageData>().Where(p => p.Address >= hidden && p.Address < area.End).SelectMany(p => p.Data.ToArray()).ToArray();
            Assert.True(expected.AsSpan().SequenceEqual(stored), $"{stored.Length} bytes stored for the area without PROT_READ, not as they were");

            tracer.Kill(program.Pid);
            program.MarkReaped();
            var process = Harness.Restore(new MemoryStream(image.ToArray()), session, new Memory(), new Threads());
            var restoredArea = ProcMaps.Containing(ProcMaps.Read(process.Pid), hidden);
            Assert.True(restoredArea is { Protection: MappingProtection.None, Start: var start } && start == hidden, $"restored as {restoredArea}");
            // Readable again, the program's own check reads every page back.
            process.Syscalls.Checked("mprotect", SyscallNumbers.Mprotect, (long)hidden, 1 << 20, RemoteSyscall.PROT_READ | RemoteSyscall.PROT_WRITE);
            tracer.Detach(process.Pid);
            program.MarkAlive();
            session.CreatedPids.Clear(); // the program owns the pid again
            var (code, text) = program.Terminate(TimeSpan.FromSeconds(60));
            Assert.True(code == 0 && text == "PASS", $"exit {code}: {text}; {program.Describe()}");
        }
        finally
        {
            tracer.Dispose();
            Harness.KillCreated(session);
        }
    }

    [Fact]
    public void Dump_OfMemhog_HasOneAreaPerMapping_AndStoresExactlyTheRightPages()
    {
        using var program = TestProgram.Start(progs, "memhog", "--mib=8");
        using var tracer = new Tracer();
        var frozen = Harness.Freeze(tracer, program.Pid);
        var items = DumpItems(frozen, progs.PathOf("memhog"), out _);

        var layout = Assert.Single(items.OfType<MemoryLayout>());
        var stat = ProcStat.Read(program.Pid);
        Assert.Equal(stat.StartBrk, layout.StartBrk);
        Assert.True(layout.Brk >= layout.StartBrk);
        Assert.Equal(stat.StartStack, layout.StartStack);
        Assert.Equal(ProcAuxv.Read(program.Pid).Length, layout.Auxv.Length);

        var areas = items.OfType<MemoryArea>().ToList();
        Assert.Equal(frozen.Mappings.Length, areas.Count);
        using var pagemap = new PagemapReader(program.Pid);
        foreach (var (mapping, area) in frozen.Mappings.Zip(areas))
        {
            if (area.Kind == MemoryAreaKind.Vsyscall) { Assert.Empty(area.Runs); continue; } // above user space: no pagemap
            Assert.Equal((mapping.Start, mapping.End, (uint)mapping.Protection), (area.Start, area.End, area.Protection));
            Assert.Equal(mapping.Path, Encoding.UTF8.GetString(area.Path));
            // The test's own reading of pagemap: which pages must be in the image.
            var entries = pagemap.Read(mapping.Start, mapping.End);
            var expected = new List<ulong>();
            for (int i = 0; i < entries.Length; i++)
            {
                bool anonymous = area.Kind is MemoryAreaKind.AnonymousPrivate or MemoryAreaKind.Heap or MemoryAreaKind.Stack or MemoryAreaKind.AnonymousShared;
                bool copy = area.Kind == MemoryAreaKind.FilePrivate && !entries[i].FileOrSharedAnon;
                if ((entries[i].Present || entries[i].Swapped) && (anonymous || copy)) expected.Add((ulong)i);
            }
            var stored = area.Runs.SelectMany(r => Enumerable.Range(0, (int)r.PageCount).Select(k => r.FirstPage + (ulong)k)).ToList();
            Assert.True(expected.SequenceEqual(stored), $"{mapping} ({area.Kind}): expected pages [{string.Join(",", expected.Take(20))}], stored [{string.Join(",", stored.Take(20))}]");
        }
        Assert.Contains(areas, a => a.Kind == MemoryAreaKind.Stack && (a.MapFlags & MemoryArea.MapGrowsDown) != 0);
        Assert.Contains(areas, a => a.Kind == MemoryAreaKind.Vdso);
        Assert.Contains(areas, a => a.Kind == MemoryAreaKind.FilePrivate && a.Runs.Length > 0); // relocated data of libc
        var hog = areas.Single(a => a.Kind == MemoryAreaKind.AnonymousPrivate && a.End - a.Start >= 8UL << 20);
        Assert.Equal((8UL << 20) / (ulong)PageSize, hog.StoredPages);

        // PAGE items directly follow their AREA and hold what the process has there.
        int index = 0;
        ulong pages = 0;
        foreach (var item in items)
        {
            if (item is not PageData page) continue;
            var expected = new byte[page.Data.Length];
            frozen.Memory.ReadPartial(page.Address, expected);
            Assert.True(expected.AsSpan().SequenceEqual(page.Data.Span), $"PAGE #{index} at {page.Address:x} differs from the process's memory");
            pages += (ulong)page.Data.Length / (ulong)PageSize;
            index++;
        }
        Assert.Equal(areas.Aggregate(0UL, (sum, a) => sum + a.StoredPages), pages);
        output.WriteLine($"{areas.Count} areas, {pages} pages stored in {index} PAGE items");
        tracer.Detach(program.Pid);
        var (code, text) = program.Terminate(TimeSpan.FromSeconds(60));
        Assert.True(code == 0 && text == "PASS", $"{code}: {text}; {program.Describe()}");
    }

    [Fact]
    public void Classify_RefusesWhatCannotBeRestored_NamingPidAndMapping()
    {
        MemoryMapping Mapping(string path, bool shared = false, ulong inode = 7) =>
            new(0x7f0000000000, 0x7f0000001000, MappingProtection.Read, shared, 0, 8, 1, path.StartsWith('/') ? inode : 0, path);
        var deleted = Assert.Throws<UnsupportedResourceException>(() => Memory.Classify(4242, Mapping("/tmp/gone (deleted)")));
        Assert.Contains("pid 4242", deleted.Message);
        Assert.Contains("/tmp/gone (deleted)", deleted.Message);
        Assert.Contains("deleted", deleted.Message);
        Assert.Throws<UnsupportedResourceException>(() => Memory.Classify(4242, Mapping("/dev/null")));
        Assert.Throws<UnsupportedResourceException>(() => Memory.Classify(4242, Mapping("/anon_hugepage (deleted)", shared: true)));
        Assert.Throws<UnsupportedResourceException>(() => Memory.Classify(4242, Mapping("[uprobes]")));
        Assert.Equal(MemoryAreaKind.AnonymousShared, Memory.Classify(4242, Mapping("/dev/zero (deleted)", shared: true)));
        Assert.Equal(MemoryAreaKind.SysVShared, Memory.Classify(4242, Mapping("/SYSV00000000 (deleted)", shared: true)));
        Assert.Equal(MemoryAreaKind.AnonymousPrivate, Memory.Classify(4242, Mapping("[anon:cache]")));
        var replaced = Assert.Throws<UnsupportedResourceException>(() => Memory.Classify(4242, Mapping("/bin/sleep", inode: 1)));
        Assert.Contains("another file", replaced.Message);
    }

    [Fact]
    public void Restore_IntoABornProcess_RecreatesTheLayoutAndTheContents()
    {
        using var program = TestProgram.Start(progs, "memhog", "--mib=16");
        string exe = progs.PathOf("memhog");
        using var tracer = new Tracer();
        var frozen = Harness.Freeze(tracer, program.Pid);
        var originalMaps = frozen.Mappings;
        var items = DumpItems(frozen, exe, out byte[] image);
        var originalAuxv = File.ReadAllBytes($"/proc/{program.Pid}/auxv");
        var originalStat = ProcStat.Read(program.Pid);
        tracer.Kill(program.Pid);
        program.MarkReaped();

        var session = new RestoreSession(tracer, Harness.Header(), new RestoreOptions(Detach: true));
        try
        {
            var process = Harness.Restore(new MemoryStream(image), session, new Memory());
            Assert.Equal(program.Pid, process.Pid);
            Assert.NotNull(process.Scratch);

            // Same mappings, same names (PR_SET_MM_MAP makes [heap] and [stack] show again), plus the scratch.
            var maps = ProcMaps.Read(process.Pid).Where(m => m.Start != process.Scratch!.Address).ToList();
            string Line(MemoryMapping m) => $"{m.Start:x}-{m.End:x} {m.Protection} {(m.Shared ? 's' : 'p')} {m.Offset:x} {m.Inode} {m.Path}";
            Assert.Equal(originalMaps.Select(Line), maps.Select(Line));
            Assert.Equal(originalAuxv, File.ReadAllBytes($"/proc/{process.Pid}/auxv"));
            Assert.Equal(exe, Encoding.UTF8.GetString(Cryo.Interop.Native.ReadLink($"/proc/{process.Pid}/exe")));
            var stat = ProcStat.Read(process.Pid);
            Assert.Equal((originalStat.StartCode, originalStat.EndCode, originalStat.StartData, originalStat.EndData, originalStat.StartBrk,
                          originalStat.StartStack, originalStat.ArgStart, originalStat.ArgEnd, originalStat.EnvStart, originalStat.EnvEnd),
                         (stat.StartCode, stat.EndCode, stat.StartData, stat.EndData, stat.StartBrk,
                          stat.StartStack, stat.ArgStart, stat.ArgEnd, stat.EnvStart, stat.EnvEnd));
            var layout = items.OfType<MemoryLayout>().Single();
            Assert.Equal((long)layout.Brk, process.Syscalls.Invoke(Cryo.Interop.SyscallNumbers.Brk, 0));

            // Every stored page reads back as it was.
            foreach (var page in items.OfType<PageData>())
            {
                var now = new byte[page.Data.Length];
                using var mem = File.OpenRead($"/proc/{process.Pid}/mem");
                mem.Seek((long)page.Address, SeekOrigin.Begin);
                mem.ReadExactly(now);
                Assert.True(now.AsSpan().SequenceEqual(page.Data.Span), $"page at {page.Address:x} differs after the restore");
            }
            tracer.Kill(process.Pid);
        }
        finally
        {
            tracer.Dispose();
            Harness.KillCreated(session);
        }
    }

    /// <summary>
    /// The MMST clears the stub and moves [vvar], [vvar_vclock] and [vdso] together to the image's
    /// vDSO address, here one page up: old and new places overlap, so the move goes through a
    /// free place. Injected calls work from the moved vDSO, and an image whose kernel mappings are
    /// laid out differently is refused with a message that says so.
    /// </summary>
    [Theory]
    [InlineData(0x1000L)]
    [InlineData(0L)]
    [InlineData(-0x40000000L)]
    public void Mmst_ClearsTheStub_AndMovesTheVdsoBlock(long delta)
    {
        using var tracer = new Tracer();
        var session = new RestoreSession(tracer, Harness.Header(), new RestoreOptions(Detach: true));
        try
        {
            var process = ProcessBirth.Create(Harness.InfoOf(Harness.FreePid(), "/bin/true"), session);
            var before = ProcMaps.Read(process.Pid);
            var vdso = ProcMaps.Find(before, "[vdso]")!;
            ulong target = (ulong)((long)vdso.Start + delta);
            var kind = new Memory();
            kind.Restore(process, new MemoryLayout(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, [new AuxEntry(ProcAuxv.AT_SYSINFO_EHDR, target)]), session);

            var after = ProcMaps.Read(process.Pid);
            output.WriteLine(string.Join("\n", after));
            Assert.All(after, m => Assert.Contains(m.Path, (string[])["[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"]));
            foreach (var name in new[] { "[vvar]", "[vvar_vclock]", "[vdso]" })
            {
                var old = ProcMaps.Find(before, name);
                if (old is null) continue;
                var moved = ProcMaps.Find(after, name)!;
                Assert.Equal((old.Start + target - vdso.Start, old.Length), (moved.Start, moved.Length));
            }
            Assert.Equal(process.Pid, process.Syscalls.Invoke(Cryo.Interop.SyscallNumbers.Getpid));
            Assert.True(ProcMaps.Find(after, "[vdso]")!.Contains(process.Syscalls.SyscallInstruction));

            var vvar = ProcMaps.Find(after, "[vvar]")!;
            var wrong = new MemoryArea(vvar.Start + 0x1000, vvar.End, 0, 1, MemoryArea.MapPrivate, MemoryAreaKind.Vvar, 0, 0, "[vvar]"u8.ToArray(), []);
            var error = Assert.Throws<InvalidOperationException>(() => kind.Restore(process, wrong, session));
            output.WriteLine(error.Message);
            Assert.Contains("different vDSO layout", error.Message);
            Assert.Contains($"pid {process.Pid}", error.Message);
            tracer.Kill(process.Pid);
        }
        finally
        {
            tracer.Dispose();
            Harness.KillCreated(session);
        }
    }

    /// <summary>The programs of the round trip; CRYO_MEMHOG_MIB=N adds a memhog of N MiB (throughput figures).</summary>
    public static TheoryData<string, string[]> Programs
    {
        get
        {
            var data = new TheoryData<string, string[]>
            {
                { "memhog", ["--mib=64", "--full-check"] },
                { "sleep", ["--interval-ms=1", "--busy=1000000"] },
                { "sleep", ["--interval-ms=50", "--busy=1000"] },
            };
            if (Environment.GetEnvironmentVariable("CRYO_MEMHOG_MIB") is { Length: > 0 } mib) data.Add("memhog", [$"--mib={mib}"]);
            return data;
        }
    }

    /// <summary>
    /// The strongest proof short of the CLI: checkpoint a running test program with Memory and
    /// Threads, kill it, recreate it with the same pid, restore, detach, and the program's own
    /// check on SIGTERM passes (memory contents, registers, FPU state, pid, session).
    /// </summary>
    [Theory]
    [MemberData(nameof(Programs))]
    public void CheckpointKillRestore_ProgramPassesItsSelfCheck(string name, string[] options)
    {
        using var program = TestProgram.Start(progs, name, options);
        string exe = progs.PathOf(name);
        string imagePath = Path.Combine(progs.Directory, $"{name}-{program.Pid}.cryo");
        using var tracer = new Tracer();
        var session = new RestoreSession(tracer, Harness.Header(), new RestoreOptions(Detach: true));
        try
        {
            var clock = Stopwatch.StartNew();
            var frozen = Harness.Freeze(tracer, program.Pid);
            var dumpSession = new DumpSession(new CheckpointOptions(false, PipeDumpStrategy.Tee));
            var memory = new Memory().Dump(frozen, dumpSession);
            var threads = new Threads().Dump(frozen, dumpSession);
            var planned = clock.Elapsed;
            // Reading the pages, framing and checksums alone, without a file system in the way.
            Harness.WriteImage(Stream.Null, Harness.InfoOf(program.Pid, exe), memory, threads);
            var toNull = clock.Elapsed - planned;
            clock.Restart();
            using (var file = File.Create(imagePath))
                Harness.WriteImage(file, Harness.InfoOf(program.Pid, exe), memory, threads);
            var dumped = clock.Elapsed;
            tracer.Kill(program.Pid);
            program.MarkReaped();

            clock.Restart();
            RestoringProcess process;
            using (var file = File.OpenRead(imagePath))
                process = Harness.Restore(file, session, new Memory(), new Threads());
            tracer.Detach(process.Pid);
            var restored = clock.Elapsed;
            program.MarkAlive();
            session.CreatedPids.Clear(); // the program owns the pid again

            long size = new FileInfo(imagePath).Length;
            output.WriteLine($"{name}: image {size >> 10} KiB; dump plan {planned.TotalMilliseconds:0.0} ms, " +
                             $"dump to /dev/null {toNull.TotalMilliseconds:0.0} ms ({size / toNull.TotalSeconds / 1e6:0} MB/s), " +
                             $"dump to a file {dumped.TotalMilliseconds:0.0} ms ({size / dumped.TotalSeconds / 1e6:0} MB/s), " +
                             $"restore {restored.TotalMilliseconds:0.0} ms ({size / restored.TotalSeconds / 1e6:0} MB/s)");
            var (code, text) = program.Terminate(TimeSpan.FromSeconds(120));
            output.WriteLine(File.ReadAllText(program.LogFile));
            Assert.True(code == 0 && text == "PASS", $"exit {code}: {text}; {program.Describe()}");
        }
        finally
        {
            tracer.Dispose();
            Harness.KillCreated(session);
            File.Delete(imagePath);
        }
    }
}
