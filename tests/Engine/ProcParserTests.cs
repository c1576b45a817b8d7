using System.Buffers.Binary;
using Cryo.Interop;
using Cryo.Proc;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>The /proc parsers on text captured on this machine and on the live /proc.</summary>
public sealed class ProcParserTests
{
    private const string MapsSample = """
        557e99d30000-557e99d32000 r--p 00000000 fe:00 247629                     /usr/bin/head
        557e99d32000-557e99d38000 r-xp 00002000 fe:00 247629                     /usr/bin/head
        7f0000000000-7f0000001000 rw-s 00000000 00:01 1038                       /memfd:shared buffer (deleted)
        7f0000001000-7f0000002000 rw-p 00000000 00:00 0 
        7ff04d68e000-7ff04d692000 r--p 00000000 00:00 0                          [vvar]
        7ff04d692000-7ff04d694000 r--p 00000000 00:00 0                          [vvar_vclock]
        7ff04d694000-7ff04d696000 r-xp 00000000 00:00 0                          [vdso]
        7fffd8170000-7fffd8191000 rw-p 00000000 00:00 0                          [stack]
        """;

    [Fact]
    public void SysVShmTable_ReadsTheColumnsByTheHeader_PermsInOctal()
    {
        const string sample =
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n" +
            " 1398145427         19   640                 12388 27774 27774      4     0     0     0     0 1795797608          0 1795797600                  4096                     0\n" +
            "         0          4  1600                 65536   300   301      2  1000   100     0     0 1795797608          0 1795797608                  4096                     0\n";
        var rows = SysVShmTable.Parse(sample, "/proc/sysvipc/shm");
        Assert.Equal(2, rows.Count);
        Assert.Equal(new SysVShmRow(1398145427, 19, 0x1a0, 12388, 27774, 4, 0, 0, 0, 0, 1795797600), rows[0]);
        // 01600: removed (SHM_DEST 01000) with permissions 0600
        Assert.Equal(new SysVShmRow(0, 4, 0x380, 65536, 300, 2, 1000, 100, 0, 0, 1795797608), rows[1]);
        var failure = Assert.Throws<ProcFormatException>(() => SysVShmTable.Parse("key shmid\n1 2\n", "/proc/sysvipc/shm"));
        Assert.Contains("perms", failure.Message);
    }

    [Fact]
    public void Maps_ParsesEveryField_PathsWithSpaces_Anonymous_AndSpecialAreas()
    {
        var maps = ProcMaps.Parse(MapsSample);
        Assert.Equal(8, maps.Length);

        var text = maps[1];
        Assert.Equal(0x557e99d32000UL, text.Start);
        Assert.Equal(0x6000UL, text.Length);
        Assert.Equal(MappingProtection.Read | MappingProtection.Execute, text.Protection);
        Assert.False(text.Shared);
        Assert.Equal(0x2000UL, text.Offset);
        Assert.Equal((0xfeu, 0u), (text.DeviceMajor, text.DeviceMinor));
        Assert.Equal(247629UL, text.Inode);
        Assert.Equal("/usr/bin/head", text.Path);
        Assert.True(text.IsFileBacked);

        Assert.True(maps[2].Shared);
        Assert.Equal("/memfd:shared buffer (deleted)", maps[2].Path);
        Assert.Equal("", maps[3].Path);
        Assert.False(maps[3].IsFileBacked);
        Assert.True(maps[6].IsSpecial);
        Assert.Equal(0x7ff04d694000UL, ProcMaps.Find(maps, "[vdso]")!.Start);
        Assert.Equal("[stack]", ProcMaps.Containing(maps, 0x7fffd8190ff8)!.Path);
        Assert.Null(ProcMaps.Containing(maps, 0x10));
    }

    [Fact]
    public void Maps_RejectsMalformedLines_NamingTheFile()
    {
        var failure = Assert.Throws<ProcFormatException>(() => ProcMaps.Parse("zzzz-1000 r--p 0 00:00 0\n", "/proc/1/maps"));
        Assert.Contains("/proc/1/maps", failure.Message);
    }

    [Property]
    public bool Maps_LineRoundTrip(uint startPage, ushort pages, byte perms, uint offsetPage, uint inode, NonEmptyString name)
    {
        // Paths never contain newlines (the kernel escapes them); other characters survive.
        string path = "/" + name.Get.Replace('\n', '_').Replace('\r', '_').Trim();
        ulong start = (ulong)startPage << 12, end = start + ((ulong)pages + 1 << 12);
        string permText = $"{((perms & 1) != 0 ? 'r' : '-')}{((perms & 2) != 0 ? 'w' : '-')}{((perms & 4) != 0 ? 'x' : '-')}{((perms & 8) != 0 ? 's' : 'p')}";
        string line = $"{start:x8}-{end:x8} {permText} {(ulong)offsetPage << 12:x8} 08:01 {inode}    {path}";
        var m = ProcMaps.ParseLine(line);
        return m.Start == start && m.End == end && (int)m.Protection == (perms & 7) && m.Shared == ((perms & 8) != 0)
            && m.Offset == (ulong)offsetPage << 12 && m.DeviceMajor == 8 && m.DeviceMinor == 1 && m.Inode == inode
            && m.Path == path.TrimStart(' ');
    }

    [Fact]
    public void Stat_HandlesACommWithSpacesAndParentheses()
    {
        const string sample = "3622 (my (odd) prog) S 3612 3612 2504 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 37166 3133440 387 " +
            "18446744073709551615 94617144496128 94617144516009 140728160874432 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 " +
            "94617144532016 94617144533632 94617466167296 140728160877029 140728160877049 140728160877049 140728160878571 0\n";
        var stat = ProcStat.Parse(sample);
        Assert.Equal(3622, stat.Pid);
        Assert.Equal("my (odd) prog", stat.Comm);
        Assert.Equal('S', stat.State);
        Assert.Equal(3612, stat.ParentPid);
        Assert.Equal(2504, stat.Session);
        Assert.Equal(20, stat.Priority);
        Assert.Equal(1, stat.NumThreads);
        Assert.Equal(37166UL, stat.StartTime);
        Assert.Equal(17, stat.ExitSignal);
        Assert.Equal(1, stat.Processor);
        Assert.Equal(94617466167296UL, stat.StartBrk);
        Assert.Equal(140728160878571UL, stat.EnvEnd);
        Assert.Equal(0, stat.ExitCode);
    }

    [Fact]
    public void Stat_RejectsTruncatedText()
    {
        var failure = Assert.Throws<ProcFormatException>(() => ProcStat.Parse("1 (x) S 0 1 1", "/proc/1/stat"));
        Assert.Contains("fields", failure.Message);
    }

    [Fact]
    public void Status_ParsesSignalsCapabilitiesIdsAndKeepsEveryField()
    {
        const string sample = "Name:\tcat\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4167\nNgid:\t0\nPid:\t4168\nPPid:\t4165\n" +
            "TracerPid:\t0\nUid:\t0\t1\t2\t3\nGid:\t4\t5\t6\t7\nFDSize:\t256\nGroups:\t \nNStgid:\t4167\t1\nNSpid:\t4168\t2\n" +
            "Threads:\t2\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000100\nSigBlk:\t0000000000010000\n" +
            "SigIgn:\t0000000000001000\nSigCgt:\t0000000180004002\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n" +
            "CapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n";
        var status = ProcStatus.Parse(sample);
        Assert.Equal("cat", status.Name);
        Assert.Equal(0x12, status.Umask);
        Assert.Equal('S', status.State);
        Assert.Equal((4167, 4168, 4165), (status.Tgid, status.Pid, status.ParentPid));
        Assert.Equal(new[] { 0, 1, 2, 3 }, status.Uids.ToArray());
        Assert.Equal(new[] { 4167, 1 }, status.NamespaceTgids.ToArray());
        Assert.Equal(new[] { 4168, 2 }, status.NamespacePids.ToArray());
        Assert.Equal(0x100UL, status.SharedSigPending);
        Assert.Equal(Signals.Bit(17), status.SigBlocked);
        Assert.Equal(Signals.Bit(13), status.SigIgnored);
        Assert.Equal(0x180004002UL, status.SigCaught);
        Assert.Equal(0x1fffeffffffUL, status.CapBounding);
        Assert.True(status.NoNewPrivs);
        Assert.Equal(2, status.SeccompMode);
        Assert.Equal("0/96365", status.Fields["SigQ"]);
    }

    [Fact]
    public void FdInfo_ParsesOctalFlags_AndKeepsKindSpecificLines()
    {
        var eventfd = ProcFdInfo.Parse("pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\neventfd-count:                3\neventfd-id: 1\neventfd-semaphore: 0\n");
        Assert.Equal(0, eventfd.Position);
        Assert.Equal(Native.O_RDWR | Native.O_CLOEXEC, eventfd.Flags);
        Assert.Equal(17, eventfd.MountId);
        Assert.Equal(1038UL, eventfd.Inode);
        Assert.Equal("3", eventfd.Get("eventfd-count"));
        Assert.Equal(7, eventfd.Lines.Length);
        Assert.Null(eventfd.Get("tfd"));
    }

    [Fact]
    public void Auxv_ParsesUpToAtNull_AndRejectsTruncatedInput()
    {
        var bytes = new byte[16 * 3];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ProcAuxv.AT_PAGESZ);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), ProcAuxv.AT_SYSINFO_EHDR);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), 0x7fff0000);
        var entries = ProcAuxv.Parse(bytes);
        Assert.Equal(2, entries.Length);
        Assert.Equal(0x7fff0000UL, ProcAuxv.Find(entries, ProcAuxv.AT_SYSINFO_EHDR));
        Assert.Throws<ProcFormatException>(() => ProcAuxv.Parse(bytes.AsSpan(0, 20)));
        Assert.Throws<ProcFormatException>(() => ProcAuxv.Parse(bytes.AsSpan(0, 16)));
    }

    [Fact]
    public void Limits_ParsesNamesWithSpacesUnlimitedAndUnits()
    {
        const string sample = """
            Limit                     Soft Limit           Hard Limit           Units     
            Max cpu time              unlimited            unlimited            seconds   
            Max file size             unlimited            unlimited            bytes     
            Max data size             unlimited            unlimited            bytes     
            Max stack size            8388608              unlimited            bytes     
            Max core file size        0                    unlimited            bytes     
            Max resident set          unlimited            unlimited            bytes     
            Max processes             96365                96365                processes 
            Max open files            1024                 524288               files     
            Max locked memory         8388608              8388608              bytes     
            Max address space         unlimited            unlimited            bytes     
            Max file locks            unlimited            unlimited            locks     
            Max pending signals       96365                96365                signals   
            Max msgqueue size         819200               819200               bytes     
            Max nice priority         0                    0                    
            Max realtime priority     0                    0                    
            Max realtime timeout      unlimited            unlimited            us        
            """;
        var limits = ProcLimits.Parse(sample);
        Assert.Equal(16, limits.Length);
        var stack = limits[3];
        Assert.Equal((3, "Max stack size", 8388608UL, ResourceLimit.Infinity, "bytes"), (stack.Resource, stack.Name, stack.Soft, stack.Hard, stack.Units));
        Assert.Equal((1024UL, 524288UL), (limits[7].Soft, limits[7].Hard));
        Assert.Equal("", limits[13].Units);
        Assert.Equal("us", limits[15].Units);
    }

    [Fact]
    public void Tasks_SortsTidsAndRejectsJunk()
    {
        Assert.Equal(new[] { 3, 10, 200 }, ProcTasks.Parse(["200", "3", "10"]).ToArray());
        Assert.Throws<ProcFormatException>(() => ProcTasks.Parse(["12", "x"]));
    }

    [Fact]
    public void Live_OwnProcessFilesParseConsistently()
    {
        int pid = Environment.ProcessId;
        var maps = ProcMaps.Read(pid);
        var vdso = ProcMaps.Find(maps, "[vdso]");
        Assert.NotNull(vdso);
        Assert.NotNull(ProcMaps.Find(maps, "[stack]"));

        var auxv = ProcAuxv.Read(pid);
        Assert.Equal(4096UL, ProcAuxv.Find(auxv, ProcAuxv.AT_PAGESZ));
        Assert.Equal(vdso!.Start, ProcAuxv.Find(auxv, ProcAuxv.AT_SYSINFO_EHDR));

        var stat = ProcStat.Read(pid);
        var status = ProcStatus.Read(pid);
        Assert.Equal(pid, stat.Pid);
        Assert.Equal(pid, status.Pid);
        Assert.Equal(stat.ParentPid, status.ParentPid);
        Assert.Equal(status.Name, stat.Comm);

        var tasks = ProcTasks.Read(pid);
        Assert.Contains(pid, tasks);
        Assert.True(tasks.Length > 1, ".NET always runs several threads");

        var limits = ProcLimits.Read(pid);
        Assert.Equal(16, limits.Length);
        Assert.Equal("Max open files", limits[7].Name);

        using var file = File.OpenRead("/proc/self/maps");
        int fd = (int)file.SafeFileHandle.DangerousGetHandle();
        var info = ProcFdInfo.Read(pid, fd);
        Assert.Equal(0, info.Flags & 3); // O_RDONLY
        Assert.True(info.MountId > 0);
    }

    [Fact]
    public void Smaps_VmFlagsByAreaStart_OneSetPerDistinctLine()
    {
        var text = """
            00400000-00401000 r-xp 00000000 fe:00 12 /usr/bin/a b
            Size:                  4 kB
            VmFlags: rd ex mr mw me
            7f0000000000-7f0000002000 rw-p 00000000 00:00 0
            Rss:                   8 kB
            THPeligible:    0
            VmFlags: rd wr mr mw me lo dd
            7f0000002000-7f0000003000 rw-p 00000000 00:00 0
            VmFlags: rd wr mr mw me lo dd
            """u8;
        var flags = ProcSmaps.ParseVmFlags(text);
        Assert.Equal(3, flags.Count);
        Assert.Equal(["ex", "me", "mr", "mw", "rd"], flags[0x400000].Order());
        Assert.Contains("lo", (IReadOnlySet<string>)flags[0x7f0000000000]);
        Assert.DoesNotContain("gd", (IReadOnlySet<string>)flags[0x7f0000000000]);
        Assert.Same(flags[0x7f0000000000], flags[0x7f0000002000]);
        Assert.Throws<ProcFormatException>(() => ProcSmaps.ParseVmFlags("VmFlags: rd\n"u8));
    }

    [Fact]
    public void Live_MappedFileNamedWithANewline_KeepsItsRealPath()
    {
        // maps shows the newline as "\012"; the path must come back as the file's real name.
        string directory = Directory.CreateTempSubdirectory("cryo-maps-").FullName;
        try
        {
            string path = Path.Combine(directory, "two\nlines \\012.bin");
            File.WriteAllBytes(path, new byte[4096]);
            using var mapped = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 4096);
            using var view = mapped.CreateViewAccessor(0, 4096);
            var maps = ProcMaps.Read(Environment.ProcessId);
            Assert.Contains(maps, m => m.Path == path);
            Assert.DoesNotContain(maps, m => m.Path.Contains(@"two\012", StringComparison.Ordinal));
        }
        finally { Directory.Delete(directory, recursive: true); }
    }

    [Fact]
    public void Timers_EachEntryWithItsSignalValueNotificationAndClock()
    {
        const string text = "ID: 5\nsignal: 32/0000558a78add580\nnotify: signal/tid.4268\nClockID: 1\n" +
                            "ID: 4\nsignal: 0/0000000000000000\nnotify: none/pid.4265\nClockID: -6\n" +
                            "ID: 0\nsignal: 10/0000000000001111\nnotify: signal/pid.4265\nClockID: 1\n";
        var timers = Cryo.Resources.PosixTimers.Parse(text, "/proc/4265/timers");
        Assert.Equal(
            [new(5, 32, 0x558a78add580, "signal/tid", 4268, 1), new(4, 0, 0, "none/pid", 4265, -6), new Cryo.Resources.PosixTimers.ListedTimer(0, 10, 0x1111, "signal/pid", 4265, 1)],
            timers);
        var failure = Assert.Throws<ProcFormatException>(() => Cryo.Resources.PosixTimers.Parse("ID: 1\nsignal: 10/0\n", "/proc/9/timers"));
        Assert.Contains("/proc/9/timers", failure.Message);
    }

    [Theory]
    [InlineData(~4265 << 3 | 2, -6)] // clock_getcpuclockid(getpid()): the process's own scheduler clock
    [InlineData(~4265 << 3 | 0, -8)] // its profiling clock
    [InlineData(-6, -6)]             // CLOCK_PROCESS_CPUTIME_ID as the kernel keeps it
    [InlineData(~4265 << 3 | 6, ~4265 << 3 | 6)] // a thread's clock: left to be refused
    [InlineData(~77 << 3 | 2, ~77 << 3 | 2)]     // another process's clock: left to be refused
    [InlineData(1, 1)]
    public void Timers_TheProcesssOwnCpuClockByPid_IsWrittenAsTheCallers(int clock, int written) =>
        Assert.Equal(written, Cryo.Resources.PosixTimers.OwnCpuClock(clock, 4265));

    [Fact]
    public void Live_ReadingAGoneProcess_SaysSo()
    {
        var failure = Assert.Throws<ProcFormatException>(() => ProcStat.Read(int.MaxValue - 1));
        Assert.Contains($"/proc/{int.MaxValue - 1}/stat", failure.Message);
        Assert.Contains("exited", failure.Message);
    }

    [Fact]
    public void Live_Pagemap_DistinguishesTouchedUntouchedAndFilePages()
    {
        const long length = 4 * 4096;
        // mmap(NULL, 16 KiB, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
        long area = Native.Syscall(9, 0, length, 3, 0x22, -1, 0);
        Assert.True(area > 0, $"mmap failed: {area}");
        try
        {
            unsafe { ((byte*)area)[0] = 1; ((byte*)area)[2 * 4096] = 1; }
            using var pagemap = new PagemapReader(Environment.ProcessId);
            var entries = pagemap.Read((ulong)area, (ulong)(area + length));
            Assert.True(entries[0].Present && entries[2].Present);
            Assert.False(entries[1].Present || entries[3].Present);
            Assert.False(entries[0].FileOrSharedAnon);
            Assert.False(entries[0].Swapped);

            // A page of libc's code: present, page cache.
            var libc = ProcMaps.Read(Environment.ProcessId).First(m => m.Path.Contains("libc.so") && m.Protection.HasFlag(MappingProtection.Execute));
            var code = new PagemapEntry[1];
            unsafe { _ = *(byte*)libc.Start; }
            pagemap.Read(libc.Start, code);
            Assert.True(code[0].Present && code[0].FileOrSharedAnon, $"libc page entry {code[0].Raw:x}");
        }
        finally
        {
            Native.Syscall(11, area, length);
        }
    }
}
