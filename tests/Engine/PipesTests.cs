using System.Text;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Restore;
using Cryo.Tests.Engine.Support;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// Files and Pipes on the real test programs: dumps (tee and drain) leave the programs intact,
/// and the restore side, applied to the very process that was dumped (its descriptors replaced
/// by newly created ones), makes the program's own exhaustive checks pass.
/// </summary>
public sealed class PipesTests(ResourcePrograms programs) : IClassFixture<ResourcePrograms>
{
    private static readonly Files FilesKind = ResourceKinds.Find<Files>();
    private static readonly Pipes PipesKind = ResourceKinds.Find<Pipes>();

    internal static (List<FileDescriptor> Fds, DumpSession Session) DumpFiles(FrozenRun run, PipeDumpStrategy strategy)
    {
        var session = new DumpSession(new CheckpointOptions(true, strategy));
        var frozen = run.Frozen();
        var dumped = (DumpedItems)run.Tracer.Run(() => FilesKind.Dump(frozen, session));
        return ([.. dumped.Items.Cast<FileDescriptor>()], session);
    }

    /// <summary>The FDES items in a PROC section and the FIFO section, through the real writer.</summary>
    internal static byte[] Image(int pid, List<FileDescriptor> fds, DumpSession session)
    {
        var stream = new MemoryStream();
        using (var writer = new CheckpointWriter(stream, CheckpointHeader.Create("test", "tests"), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            foreach (var fd in fds) writer.Write(fd);
            writer.EndSection(ItemKinds.Process);
            PipesKind.WriteFifoSection(writer, session);
            writer.Complete();
        }
        return stream.ToArray();
    }

    /// <summary>Streams an image into <paramref name="process"/> as the Restorer would, then finishes Files and Pipes.</summary>
    internal static Files.FileTable Restore(FrozenRun run, RestoringProcess process, byte[] image)
    {
        using var reader = new CheckpointReader(new MemoryStream(image));
        var session = new RestoreSession(run.Tracer, reader.Header, new RestoreOptions(false));
        try
        {
            run.Tracer.Run(() =>
            {
                bool inProcess = false;
                while (reader.GetNextItem() is { } item)
                {
                    if (item is SectionBegin b) { inProcess = b.Section == ItemKinds.Process; continue; }
                    if (item is SectionEnd) { inProcess = false; continue; }
                    var kind = ResourceKinds.DumpOrder.First(k => k.Handles(item));
                    kind.Restore(inProcess ? process : null, item, session);
                }
                FilesKind.Finish(process, session);
                PipesKind.Finish(process, session);
            });
            return session.State<Files.FileTable>();
        }
        finally
        {
            session.State<Files.FileTable>().Dispose();
            session.State<Pipes.PipeTable>().Dispose();
        }
    }

    private static PipeSnapshot PipeOf(List<FileDescriptor> fds, DumpSession session, int fd) =>
        session.Pipes[fds.Single(f => f.Fd == fd).PipeId];

    private static void AssertPass((int ExitCode, string Output) result, FrozenRun run) =>
        Assert.True(result.ExitCode == 0 && result.Output == "PASS", $"exit {result.ExitCode}: {result.Output}; {run.Describe()}");

    [Fact]
    public void Multipipe_TeeDump_RecordsEveryPipe_AndLeavesThemUntouched()
    {
        using var run = FrozenRun.StartProgram(programs.Program("multipipe"));
        var (fds, session) = DumpFiles(run, PipeDumpStrategy.Tee);

        // The test host may leak a descriptor without O_CLOEXEC into spawned programs: only ours count.
        Assert.Equal([0, 1, 2, 10, 13, 20, 21, 30, 31, 40, 41, 50, 51, 60, 70, 71, 100, 101], fds.Select(f => f.Fd).Where(fd => fd < 200).Order());
        var byFd = fds.ToDictionary(f => f.Fd);
        Assert.Equal(FileKind.CharDevice, byFd[0].Kind);
        Assert.Equal(FileKind.Regular, byFd[1].Kind);
        Assert.Equal(byFd[1].DescriptionId, byFd[2].DescriptionId);             // 2>&1
        Assert.Equal(byFd[10].DescriptionId, byFd[60].DescriptionId);           // fd 60 = dup of 10
        Assert.NotEqual(byFd[10].DescriptionId, byFd[13].DescriptionId);
        Assert.Equal(byFd[10].PipeId, byFd[13].PipeId);
        Assert.Equal(8, fds.Where(f => f.PipeId != 0 && f.Fd < 200).Select(f => f.PipeId).Distinct().Count());
        Assert.Equal((uint)Native.O_NONBLOCK, byFd[10].OpenFlags);
        Assert.Equal(FileDescriptor.CloseOnExec, byFd[20].FdFlags);
        Assert.Equal(0u, byFd[10].FdFlags);
        Assert.Equal((uint)(Native.O_WRONLY | Native.O_NONBLOCK | Native.O_DIRECT), byFd[41].OpenFlags & ~(uint)Native.O_NONBLOCK | (uint)Native.O_NONBLOCK);
        Assert.Equal((uint)(Native.O_WRONLY | Native.O_NONBLOCK), byFd[71].OpenFlags);

        Assert.Equal(8, fds.Where(f => f.Fd < 200).Select(f => f.PipeId).Where(id => id != 0).Distinct().Count());
        void Expect(int fd, ulong bytes, uint capacity, bool packets, int[]? chunks = null)
        {
            var pipe = PipeOf(fds, session, fd);
            Assert.Equal(bytes, pipe.Info.ByteCount);
            Assert.Equal(bytes, (ulong)pipe.Chunks.Sum(c => c.Length));
            Assert.Equal(capacity, pipe.Info.Capacity);
            Assert.Equal(packets, pipe.Info.Packetized);
            Assert.Equal(PipeKind.Anonymous, pipe.Info.Kind);
            if (chunks is not null) Assert.Equal(chunks, pipe.Chunks.Select(c => c.Length));
        }
        Expect(50, 0, 65536, false, []);
        Expect(10, 1, 65536, false);
        Expect(20, 12345, 65536, false, [12345]);
        Expect(30, 65536, 65536, false);
        Expect(100, 1 << 20, 1 << 20, false);
        Expect(40, 1 + 777 + 4096, 65536, true, [1, 777, 4096]);
        Expect(70, 5000, 65536, false);
        Expect(71, 0, 65536, false);

        // The FIFO section round-trips through the writer and reader with the exact bytes.
        byte[] image = Image(run.Pid, fds, session);
        using var reader = new CheckpointReader(new MemoryStream(image));
        var fbuf = new Dictionary<ulong, List<byte[]>>();
        while (reader.GetNextItem() is { } item)
            if (item is PipeData data) (fbuf.TryGetValue(data.PipeId, out var l) ? l : fbuf[data.PipeId] = []).Add(data.Data.ToArray());
        foreach (ulong id in session.PipeOrder)
        {
            var expected = session.Pipes[id].Chunks;
            var found = fbuf.GetValueOrDefault(id) ?? [];
            Assert.Equal(expected.SelectMany(c => c).ToArray(), found.SelectMany(c => c).ToArray());
            if (session.Pipes[id].Info.Packetized) Assert.Equal(expected.Select(c => c.Length), found.Select(c => c.Length));
        }

        AssertPass(run.DetachAndTerminate(), run);
    }

    [Fact]
    public void Multipipe_DrainDump_EqualsTee_AndTheProgramStillPasses()
    {
        using var run = FrozenRun.StartProgram(programs.Program("multipipe"));
        var (teeFds, tee) = DumpFiles(run, PipeDumpStrategy.Tee);
        var (drainFds, drain) = DumpFiles(run, PipeDumpStrategy.Drain);
        Assert.Equal(teeFds.Select(f => (f.Fd, f.PipeId, f.OpenFlags)), drainFds.Select(f => (f.Fd, f.PipeId, f.OpenFlags)));
        Assert.Equal(tee.PipeOrder, drain.PipeOrder);
        foreach (ulong id in tee.PipeOrder)
        {
            Assert.Equal(tee.Pipes[id].Info, drain.Pipes[id].Info);
            Assert.Equal(tee.Pipes[id].Chunks.Select(c => c.Length), drain.Pipes[id].Chunks.Select(c => c.Length));
            Assert.Equal(tee.Pipes[id].Chunks.SelectMany(c => c).ToArray(), drain.Pipes[id].Chunks.SelectMany(c => c).ToArray());
        }
        // And a tee after the drain still sees the same bytes: the drain wrote everything back.
        var (_, again) = DumpFiles(run, PipeDumpStrategy.Tee);
        foreach (ulong id in tee.PipeOrder)
            Assert.Equal(tee.Pipes[id].Chunks.SelectMany(c => c).ToArray(), again.Pipes[id].Chunks.SelectMany(c => c).ToArray());
        AssertPass(run.DetachAndTerminate(), run);
    }

    [Fact]
    public void Multipipe_RestoredIntoItself_PassesEveryCheck()
    {
        using var run = FrozenRun.StartProgram(programs.Program("multipipe"));
        var (fds, session) = DumpFiles(run, PipeDumpStrategy.Tee);
        var inodesBefore = fds.Where(f => f.PipeId != 0).Select(f => f.Inode).ToHashSet();
        string fdinfoBefore = FdFlagsTable(run.Pid);

        var table = Restore(run, run.Restoring(), Image(run.Pid, fds, session));

        Assert.Empty(table.Warnings);
        Assert.Equal(fdinfoBefore, FdFlagsTable(run.Pid));
        // Every pipe is a new one: the program's checks below run on cryo's pipes.
        var (after, _) = DumpFiles(run, PipeDumpStrategy.Tee);
        Assert.DoesNotContain(after.Where(f => f.PipeId != 0), f => inodesBefore.Contains(f.Inode));
        AssertPass(run.DetachAndTerminate(), run);
    }

    [Fact]
    public void Pipewriter_BlockedInWrite_RestoredIntoItself_Passes()
    {
        using var run = FrozenRun.StartProgram(programs.Program("pipewriter"));
        var (fds, session) = DumpFiles(run, PipeDumpStrategy.Tee);
        var pipe = session.Pipes[fds.Single(f => f.Fd == 4).PipeId];
        Assert.Equal(65536UL, pipe.Info.ByteCount);
        Restore(run, run.Restoring(), Image(run.Pid, fds, session));
        AssertPass(run.DetachAndTerminate(), run);
    }

    [Fact]
    public void Fifo_Dump_RecordsNamedFifos_AndRestoreRecreatesAMissingNode()
    {
        using var run = FrozenRun.StartProgram(programs.Program("fifo"));
        var (fds, session) = DumpFiles(run, PipeDumpStrategy.Tee);
        var fifos = fds.Where(f => f.Kind == FileKind.Fifo).ToList();
        Assert.Equal(3, fifos.Count);
        var rdwr = fifos.Single(f => (f.OpenFlags & Native.O_ACCMODE) == Native.O_RDWR);
        var rdwrPipe = session.Pipes[rdwr.PipeId].Info;
        Assert.Equal(new PipeInfo(rdwr.PipeId, PipeKind.Named, false, 256 * 1024, 100 * 1024), rdwrPipe);
        var split = fifos.Where(f => f != rdwr).ToList();
        Assert.Single(split.Select(f => f.PipeId).Distinct());
        Assert.NotEqual(split[0].DescriptionId, split[1].DescriptionId);
        Assert.Equal(5000UL, session.Pipes[split[0].PipeId].Info.ByteCount);
        Assert.Contains(split, f => f.OpenFlags == (uint)(Native.O_RDONLY | Native.O_NONBLOCK | Native.O_LARGEFILE));

        // The FIFO's buffer lives as long as someone has it open: the program's descriptors go first
        // (a restore never shares a FIFO with the original), then one node goes missing.
        foreach (var f in fifos) run.Syscalls.Checked("close", SyscallNumbers.Close, f.Fd);
        string splitPath = Encoding.UTF8.GetString(split[0].Path);
        File.Delete(splitPath);

        var table = Restore(run, run.Restoring(), Image(run.Pid, fds, session));
        Assert.Contains(table.Warnings, w => w.Contains("recreated", StringComparison.Ordinal) && w.Contains(splitPath, StringComparison.Ordinal));
        Assert.Equal(FileStatus.S_IFIFO, Native.Stat(splitPath).Type);
        AssertPass(run.DetachAndTerminate(), run);
    }

    [Fact]
    public void FilesAndPipes_InstalledIntoAFreshStub_MatchTheImage()
    {
        // The source's directory (its log file is fd 1 and 2) must outlive the restore.
        using var source = FrozenRun.StartProgram(programs.Program("pipe"), "--size=100000");
        var (fds, session) = DumpFiles(source, PipeDumpStrategy.Tee);
        byte[] image = Image(source.Pid, fds, session);
        AssertPass(source.DetachAndTerminate(), source);
        using var stub = FrozenRun.StartStub(programs, "plain");
        Restore(stub, stub.Restoring(), image);

        var now = Files.ReadOpenFiles(stub.Pid);
        Assert.Equal(fds.Select(f => f.Fd), now.Select(f => f.Fd));
        foreach (var (was, isNow) in fds.Zip(now))
        {
            Assert.Equal(was.Kind, isNow.Kind);
            Assert.Equal(was.OpenFlags, (uint)isNow.OpenFlags);
            Assert.Equal(was.FdFlags, isNow.FdFlags);
            if (was.Kind != FileKind.Pipe)
            {
                Assert.Equal((was.Device, was.Inode), (isNow.Status.Device, isNow.Status.Inode));
                Assert.Equal(was.Offset, isNow.Position);
            }
        }
        // The stub's pipe holds the image's bytes, seen through a tee of its own descriptor.
        var (stubFds, stubSession) = DumpFiles(stub, PipeDumpStrategy.Tee);
        int readFd = fds.First(f => f.Kind == FileKind.Pipe).Fd;
        var restored = stubSession.Pipes[stubFds.Single(f => f.Fd == readFd).PipeId];
        var original = session.Pipes[fds.Single(f => f.Fd == readFd).PipeId];
        Assert.Equal(original.Info with { PipeId = 0 }, restored.Info with { PipeId = 0 });
        Assert.Equal(original.Chunks.SelectMany(c => c).ToArray(), restored.Chunks.SelectMany(c => c).ToArray());
    }

    [Theory]
    [InlineData("unix-dgram-named", "socket")]
    [InlineData("inotify-pending", "inotify")]
    public void Unsupported_Descriptors_AreRefused_NamingPidFdAndKind(string what, string kind)
    {
        using var run = FrozenRun.StartProgram(programs.Program("unsupported"), $"--kind={what}");
        var e = Assert.Throws<UnsupportedResourceException>(() => DumpFiles(run, PipeDumpStrategy.Tee));
        Assert.Equal(run.Pid, e.Pid);
        Assert.Matches($"pid {run.Pid}: fd \\d+ \\({kind} ", e.Message);
        AssertPass(run.DetachAndTerminate(), run);
    }

    /// <summary>"fd: flags" of every descriptor, from fdinfo (the kernel's own view), one per line.</summary>
    private static string FdFlagsTable(int pid) => string.Join('\n', Files.ReadOpenFiles(pid).Select(f => $"{f.Fd}: {ProcFdInfo.Read(pid, f.Fd).Flags:x}"));
}
