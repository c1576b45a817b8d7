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
using Signals = Cryo.Interop.Signals;

namespace Cryo.Tests.Engine;

/// <summary>The Threads kind on real processes.</summary>
public sealed class ThreadsTests(TestProgs progs, ITestOutputHelper output) : IClassFixture<TestProgs>
{
    private static readonly DumpSession DumpSession = new(new CheckpointOptions(false, PipeDumpStrategy.Tee));

    private static unsafe (ulong Head, ulong Length) RobustList(int tid)
    {
        ulong head = 0, length = 0;
        Assert.Equal(0, Native.Syscall(MemoryCalls.GetRobustList, tid, (long)&head, (long)&length));
        return (head, length);
    }

    /// <summary>Starts sleep with a long interval and waits until it sleeps in clock_nanosleep (230; glibc's nanosleep), so the freeze interrupts it.</summary>
    private TestProgram StartSleeperInNanosleep()
    {
        var program = TestProgram.Start(progs, "sleep", "--interval-ms=2000", "--busy=1000");
        try
        {
            Wait.Until(() => File.ReadAllText($"/proc/{program.Pid}/syscall") is var s && (s.StartsWith("230 ", StringComparison.Ordinal) || s.StartsWith("35 ", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30), $"pid {program.Pid} in nanosleep", program.Describe);
            return program;
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }

    [Fact]
    public void Dump_RecordsTheThreadsKernelState()
    {
        using var program = StartSleeperInNanosleep();
        using var tracer = new Tracer();
        var frozen = Harness.Freeze(tracer, program.Pid);
        var items = ((DumpedItems)new Threads().Dump(frozen, DumpSession)).Items;

        Assert.Equal(new SectionBegin(ItemKinds.Thread), items[0]);
        Assert.Equal(new SectionEnd(ItemKinds.Thread), items[^1]);
        var info = Assert.IsType<ThreadInfo>(items[1]);
        output.WriteLine(string.Join(", ", info.Describe().Select(f => $"{f.Name}={f.Value}")));
        Assert.Equal(program.Pid, info.Tid);
        Assert.Equal(Signals.Bit(Signals.SIGTERM), info.BlockedSignals); // the protocol blocks SIGTERM
        Assert.Equal(Format.SyscallRestart.Reexecute, info.Restart);      // an interrupted sleep without rem: re-executed whole
        Assert.Equal("sleep", Encoding.UTF8.GetString(info.Comm));
        Assert.Equal(MemoryCalls.SS_DISABLE, info.AltStackFlags);
        Assert.NotEqual(0UL, info.ClearChildTid);                        // glibc's set_tid_address at start-up
        Assert.Equal(RobustList(program.Pid), (info.RobustList, info.RobustListLength));
        var rseq = tracer.GetRseqConfiguration(program.Pid);
        Assert.Equal((rseq.AbiPointer, rseq.AbiSize, rseq.Signature), (info.RseqAddress, info.RseqLength, info.RseqSignature));
        Assert.NotEqual(0UL, info.RseqAddress);                           // glibc 2.35+ registers rseq

        var registers = Assert.IsType<Registers>(items[2]);
        Assert.Equal(Threads.ToWords(InterruptedSyscall.ForImage(frozen.Threads[0].Normalized).Registers), registers.Values);
        Assert.Equal((ulong)frozen.Threads[0].Normalized.InterruptedSyscall, registers["rax"]); // the sleep itself, not restart_syscall
        var xstate = Assert.IsType<ExtendedState>(items[3]);
        var here = tracer.GetXState(program.Pid);
        Assert.Equal(here.FeatureMask, xstate.Xcr0);
        Assert.Equal(here.Bytes.Length, xstate.Area.Length);

        tracer.Detach(program.Pid);
        var (code, text) = program.Terminate(TimeSpan.FromSeconds(60));
        Assert.True(code == 0 && text == "PASS", $"{code}: {text}; {program.Describe()}");
    }

    [Fact]
    public void Dump_WritesOneThreadSectionPerThread_MainThreadFirst()
    {
        using var program = TestProgram.Start(progs, "threads");
        using var tracer = new Tracer();
        var tids = ProcTasks.Read(program.Pid);
        Assert.Equal(5, tids.Length);
        var threads = new List<FrozenThread>();
        foreach (int tid in tids.OrderBy(t => t == program.Pid ? 0 : 1))
        {
            tracer.Seize(tid, PtraceOptions.TraceSysGood);
            tracer.Interrupt(tid);
            var regs = tracer.GetRegs(tid);
            threads.Add(new FrozenThread(tid, regs, InterruptedSyscall.Normalize(regs)));
        }
        var maps = ProcMaps.Read(program.Pid);
        using var memory = new RemoteMemory(program.Pid);
        var frozen = new FrozenProcess(program.Pid, tracer, memory, maps, threads,
            new RemoteSyscall(tracer, program.Pid, SyscallSite.FindInVdso(memory, maps)));
        var items = ((DumpedItems)new Threads().Dump(frozen, DumpSession)).Items;
        var infos = items.OfType<ThreadInfo>().ToList();
        Assert.Equal(tids.Length, items.Count(i => i is SectionBegin b && b.Section == ItemKinds.Thread));
        Assert.Equal(program.Pid, infos[0].Tid);
        Assert.Equal(tids.Order(), infos.Select(i => i.Tid).Order());
        Assert.Equal(["t-fpu", "t-futex", "t-reader", "t-sleeper"], infos.Skip(1).Select(i => Encoding.UTF8.GetString(i.Comm)).Order(StringComparer.Ordinal));
        Assert.All(infos, i => Assert.NotEqual(0UL, i.RseqAddress));
        foreach (int tid in tids) tracer.Detach(tid);
        var (code, text) = program.Terminate(TimeSpan.FromSeconds(60));
        Assert.True(code == 0 && text == "PASS", $"{code}: {text}; {program.Describe()}");
    }

    /// <summary>
    /// A thread frozen inside a sleep without rem (ERESTART_RESTARTBLOCK) is restored with every
    /// TINF field, its registers, FPU state and mask; the new task has no restart block of its
    /// own, so the sleep is executed again (its whole request) and the program passes its check.
    /// </summary>
    [Fact]
    public void Restore_SetsEveryField_AndAnInterruptedSleepSleepsAgain()
    {
        using var program = StartSleeperInNanosleep();
        string exe = progs.PathOf("sleep");
        using var tracer = new Tracer();
        var session = new RestoreSession(tracer, Harness.Header(), new RestoreOptions(Detach: true));
        try
        {
            var frozen = Harness.Freeze(tracer, program.Pid);
            var image = new MemoryStream();
            Harness.WriteImage(image, Harness.InfoOf(program.Pid, exe),
                new Memory().Dump(frozen, DumpSession), new Threads().Dump(frozen, DumpSession));
            var xstateBefore = tracer.GetXState(program.Pid);
            tracer.Kill(program.Pid);
            program.MarkReaped();

            image.Position = 0;
            var items = new List<CheckpointItem>();
            using (var reader = new CheckpointReader(image, leaveOpen: true))
                while (reader.GetNextItem() is { } item) if (item is ThreadInfo or Registers) items.Add(item);
            var info = items.OfType<ThreadInfo>().Single();
            var registers = items.OfType<Registers>().Single();

            image.Position = 0;
            var process = Harness.Restore(image, session, new Memory(), new Threads());
            int pid = process.Pid;
            Assert.Null(process.Scratch);
            Assert.DoesNotContain(Cryo.Proc.ProcMaps.Read(pid), m => m.Start == 0); // sanity: maps readable
            Assert.Equal(info.BlockedSignals, tracer.GetSigMask(pid));
            Assert.Equal((info.RobustList, info.RobustListLength), RobustList(pid));
            var rseq = tracer.GetRseqConfiguration(pid);
            Assert.Equal((info.RseqAddress, info.RseqLength, info.RseqSignature), (rseq.AbiPointer, rseq.AbiSize, rseq.Signature));
            var regs = tracer.GetRegs(pid);
            var expected = Threads.ResumeRegisters(info, registers);
            Assert.Equal(expected.Rip, regs.Rip);
            Assert.Equal((ulong)frozen.Threads[0].Normalized.InterruptedSyscall, regs.Rax); // the sleep again, not EINTR
            Assert.Equal(expected.FsBase, regs.FsBase);
            Assert.Equal(expected.Rsp, regs.Rsp);
            Assert.Equal(xstateBefore.Bytes, tracer.GetXState(pid).Bytes);

            tracer.Detach(pid);
            program.MarkAlive();
            session.CreatedPids.Clear();
            var (code, text) = program.Terminate(TimeSpan.FromSeconds(60));
            string log = File.ReadAllText(program.LogFile);
            output.WriteLine(log);
            Assert.True(code == 0 && text == "PASS", $"{code}: {text}; {program.Describe()}");
        }
        finally
        {
            tracer.Dispose();
            Harness.KillCreated(session);
        }
    }

    [Fact]
    public void FitExtendedState_RefusesMissingFeatures_AndPadsASmallerArea()
    {
        var here = new XState(new byte[832]);
        here.Bytes[464] = 0x7; // XCR0: x87, SSE, AVX
        var avx512 = new ExtendedState(0xe7, new byte[2696]);
        var error = Assert.Throws<InvalidOperationException>(() => Threads.FitExtendedState(42, avx512, here));
        Assert.Contains("pid 42", error.Message);
        Assert.Contains("0xe0", error.Message);

        var small = new ExtendedState(0x3, Enumerable.Repeat((byte)0xab, 576).ToArray());
        var fitted = Threads.FitExtendedState(42, small, here);
        Assert.Equal(832, fitted.Bytes.Length);
        Assert.All(fitted.Bytes[..576], b => Assert.Equal(0xab, b));
        Assert.All(fitted.Bytes[576..], b => Assert.Equal(0, b));
    }
}
