using System.Diagnostics;
using System.Text;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Tests.Engine.Support;
using Cryo.Tracing;
using Xunit;
using Xunit.Abstractions;

namespace Cryo.Tests.Engine;

/// <summary>Remote syscall injection and remote memory on real processes.</summary>
public sealed class InjectionTests(TargetProgram program, ITestOutputHelper output) : IClassFixture<TargetProgram>
{
    /// <summary>A seized, interrupted target with a tracer and an injector; disposes in the right order.</summary>
    private sealed class Frozen : IDisposable
    {
        private readonly string mode;

        public Frozen(TargetProgram program, string mode, long waitForSyscall = -1)
        {
            this.mode = mode;
            Target = Target.Start(program, mode);
            try
            {
                if (waitForSyscall >= 0) Target.WaitUntilInSyscall(waitForSyscall);
                Tracer = new Tracer();
                Tracer.Seize(Target.Pid, PtraceOptions.TraceSysGood | PtraceOptions.ExitKill);
                Tracer.Interrupt(Target.Pid);
                Memory = new RemoteMemory(Target.Pid);
                Syscalls = new RemoteSyscall(Tracer, Target.Pid, SyscallSite.FindInVdso(Target.Pid, Memory));
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public Target Target { get; }
        public Tracer Tracer { get; } = null!;
        public RemoteMemory Memory { get; } = null!;
        public RemoteSyscall Syscalls { get; } = null!;

        /// <summary>Detaches, SIGTERMs the target and asserts it reports PASS.</summary>
        public string DetachAndExpectPass()
        {
            Tracer.Detach(Target.Pid);
            // The target's loop tests its flag, then blocks: a SIGTERM that lands between the two
            // (the detached target has yet to re-enter its wait) would be taken and the wait never end.
            if (mode is "pause" or "read") Target.WaitUntilInSyscall(mode == "pause" ? SyscallNumbers.Pause : SyscallNumbers.Read);
            var (exitCode, text) = Target.Terminate();
            Assert.True(exitCode == 0 && text.StartsWith("PASS"), $"exit {exitCode}: {text}; {Target.Describe()}");
            return text;
        }

        public void Dispose()
        {
            Memory?.Dispose();
            Tracer?.Dispose();
            Target.Dispose();
        }
    }

    [Fact]
    public void InjectedGetpid_ReturnsThePid_AndRegistersAreRestored()
    {
        using var frozen = new Frozen(program, "spin");
        var before = frozen.Tracer.GetRegs(frozen.Target.Pid);
        var xBefore = frozen.Tracer.GetXState(frozen.Target.Pid);

        Assert.Equal(frozen.Target.Pid, frozen.Syscalls.Invoke(SyscallNumbers.Getpid));
        Assert.Equal(frozen.Target.Pid, frozen.Syscalls.Invoke(SyscallNumbers.Gettid));

        var after = frozen.Tracer.GetRegs(frozen.Target.Pid);
        Assert.Equal(before, after);
        Assert.Equal(xBefore.Bytes, frozen.Tracer.GetXState(frozen.Target.Pid).Bytes);
        Assert.Equal(0UL, frozen.Tracer.GetSigMask(frozen.Target.Pid));
        frozen.DetachAndExpectPass();
    }

    [Fact]
    public void InjectedFailure_CarriesErrnoNamePidAndCall()
    {
        using var frozen = new Frozen(program, "pause");
        var failure = Assert.Throws<SysCallException>(() => frozen.Syscalls.Checked("close", SyscallNumbers.Close, 12345));
        output.WriteLine(failure.Message);
        Assert.Equal("EBADF", failure.ErrnoName);
        Assert.Contains("close (injected)", failure.Message);
        Assert.Contains($"pid {frozen.Target.Pid}", failure.Message);
        frozen.DetachAndExpectPass();
    }

    [Fact]
    public void InjectedMmapMunmap_AndRemoteMemory_ReadWriteIncludingReadOnlyPages()
    {
        using var frozen = new Frozen(program, "spin");
        int pid = frozen.Target.Pid;
        ulong area = frozen.Syscalls.Mmap(0, 8192, RemoteSyscall.PROT_READ | RemoteSyscall.PROT_WRITE,
            RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS);
        var mapping = ProcMaps.Containing(ProcMaps.Read(pid), area);
        Assert.True(mapping is not null && mapping.Start == area, $"new mapping at {area:x}: {mapping}");

        byte[] pattern = Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray();
        frozen.Memory.Write(area, pattern);
        var back = new byte[8192];
        frozen.Memory.Read(area, back);
        Assert.Equal(pattern, back);

        // /proc/PID/mem writes read-only pages too (process_vm_writev would fail with EFAULT).
        frozen.Syscalls.Checked("mprotect", SyscallNumbers.Mprotect, (long)area, 8192, RemoteSyscall.PROT_READ);
        frozen.Memory.Write(area + 4096, "read-only but written"u8);
        Assert.Equal("read-only but written", Encoding.ASCII.GetString(ReadBytes(frozen.Memory, area + 4096, 21)));

        // Batched read of several ranges, packed.
        var packed = new byte[16 + 21];
        frozen.Memory.ReadBatch([new RemoteRange(area, 16), new RemoteRange(area + 4096, 21)], packed);
        Assert.Equal(pattern.AsSpan(0, 16).ToArray(), packed[..16]);
        Assert.Equal("read-only but written", Encoding.ASCII.GetString(packed, 16, 21));

        frozen.Syscalls.Munmap(area, 8192);
        Assert.Null(ProcMaps.Containing(ProcMaps.Read(pid), area));
        var unreadable = Assert.Throws<RemoteMemoryException>(() =>
            frozen.Memory.ReadBatch([new RemoteRange(frozen.Target.MailboxAddress, 8), new RemoteRange(area, 8)], new byte[16]));
        output.WriteLine(unreadable.Message);
        Assert.Equal(area, unreadable.Address);
        frozen.DetachAndExpectPass();
    }

    [Fact]
    public void MailboxWrittenThroughProcMem_IsSeenByTheTarget()
    {
        using var frozen = new Frozen(program, "spin");
        ulong mailbox = frozen.Target.MailboxAddress;
        Assert.Equal("cryo-mailbox-initial", Encoding.ASCII.GetString(ReadBytes(frozen.Memory, mailbox, 20)));
        frozen.Memory.Write(mailbox, "written-by-cryo\0"u8);
        string text = frozen.DetachAndExpectPass();
        Assert.Contains("mailbox=written-by-cryo ", text);
    }

    [Fact]
    public void ScratchArea_ServesAnInjectedSyscall_AndRestoresTheStack()
    {
        using var frozen = new Frozen(program, "sleep", SyscallNumbers.ClockNanosleep);
        int pid = frozen.Target.Pid;
        var regs = frozen.Tracer.GetRegs(pid);
        byte[] before;
        ulong address;
        using (var scratch = ScratchArea.BelowStack(frozen.Memory, regs.Rsp, 64, ProcMaps.Read(pid)))
        {
            address = scratch.Address;
            before = ReadBytes(frozen.Memory, address, 64);
            Assert.True(address + 64 <= regs.Rsp - 128 - 4096, $"scratch {address:x} too close to rsp {regs.Rsp:x}");
            // clock_gettime(CLOCK_MONOTONIC, scratch) writes a timespec there.
            frozen.Syscalls.Checked("clock_gettime", 228, 1, (long)address);
            var timespec = new byte[16];
            scratch.Read(0, timespec);
            Assert.True(BitConverter.ToInt64(timespec, 0) > 0 || BitConverter.ToInt64(timespec, 8) > 0);
        }
        Assert.Equal(before, ReadBytes(frozen.Memory, address, 64));
        frozen.DetachAndExpectPass();
    }

    [Fact]
    public void InjectionKeepsPendingSignalsPending()
    {
        using var frozen = new Frozen(program, "pause", SyscallNumbers.Pause);
        int pid = frozen.Target.Pid;
        Assert.Equal(0, Native.Kill(pid, 28 /* SIGWINCH, ignored by default */));
        Assert.Equal(pid, frozen.Syscalls.Invoke(SyscallNumbers.Getpid));
        Assert.Equal(28, Assert.Single(frozen.Tracer.PeekPendingSignals(pid, shared: true)).Signal);
        frozen.DetachAndExpectPass();
    }

    [Theory]
    [InlineData("sleep", SyscallNumbers.ClockNanosleep, SyscallNumbers.RestartSyscall)]
    [InlineData("pause", SyscallNumbers.Pause, SyscallNumbers.Pause)]
    [InlineData("read", SyscallNumbers.Read, SyscallNumbers.Read)]
    public void InjectionIntoABlockedSyscall_WithoutNormalising_KernelStillRestartsIt(string mode, long syscall, long restartedAs)
    {
        // Registers are restored with their -ERESTART* rax and orig_rax, and the kernel applies
        // its restart when the thread resumes (nanosleep continues as restart_syscall): the
        // target must see no error other than EINTR.
        using var frozen = new Frozen(program, mode, syscall);
        Assert.Equal(frozen.Target.Pid, frozen.Syscalls.Invoke(SyscallNumbers.Getpid));
        frozen.Tracer.Detach(frozen.Target.Pid);
        frozen.Target.WaitUntilInSyscall(restartedAs);
        var (exitCode, text) = frozen.Target.Terminate();
        Assert.True(exitCode == 0, $"exit {exitCode}: {text}; {frozen.Target.Describe()}");
    }

    [Fact]
    public void Timing_InjectRoundTrip_AndFreezeCycle()
    {
        // Medians of per-call times: the machine is shared, means are dominated by outliers.
        using var target = Target.Start(program, "spin");
        using var tracer = new Tracer();
        using var memory = new RemoteMemory(target.Pid);

        var freeze = Measure(200, () =>
        {
            tracer.Seize(target.Pid);
            tracer.Interrupt(target.Pid);
            tracer.Detach(target.Pid);
        });

        tracer.Seize(target.Pid, PtraceOptions.ExitKill);
        tracer.Interrupt(target.Pid);
        ulong site = SyscallSite.FindInVdso(target.Pid, memory);
        var getpid = new SyscallRequest(SyscallNumbers.Getpid);
        Measure(200, () => tracer.InjectSyscall(target.Pid, site, getpid)); // warm up (JIT, tiering)

        const int count = 2000;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var inject = Measure(count, () => tracer.InjectSyscall(target.Pid, site, getpid));
        long bytesPerInjection = (GC.GetAllocatedBytesForCurrentThread() - allocated) / count;
        // A composite run on the tracer thread itself pays no thread handoff per call.
        var injectOnThread = tracer.Run(() => Measure(count, () => tracer.InjectSyscall(target.Pid, site, getpid)));
        var handoff = Measure(count, () => tracer.Run(() => { }));
        var getRegs = Measure(count, () => tracer.GetRegs(target.Pid));
        var page = new byte[4096];
        ulong mailboxPage = target.MailboxAddress & ~4095UL;
        var read = Measure(count, () => memory.Read(mailboxPage, page));

        string report = $"median us: seize+interrupt+detach {freeze:0.0}; inject getpid {inject:0.0} via handoff " +
            $"({bytesPerInjection} B allocated/call), {injectOnThread:0.0} on the tracer thread; empty handoff {handoff:0.0}; " +
            $"GetRegs {getRegs:0.0}; process_vm_readv 4 KiB {read:0.0}";
        output.WriteLine(report);
        Console.WriteLine($"[engine timing] {report}");
        tracer.Detach(target.Pid);
        var (exitCode, text) = target.Terminate();
        Assert.True(exitCode == 0, $"exit {exitCode}: {text}");
    }

    private static double Measure(int count, Action action)
    {
        var micros = new double[count];
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            micros[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(micros);
        return micros[count / 2];
    }

    private static byte[] ReadBytes(RemoteMemory memory, ulong address, int count)
    {
        var bytes = new byte[count];
        memory.Read(address, bytes);
        return bytes;
    }
}
