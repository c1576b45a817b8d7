using Cryo.Interop;
using Cryo.Proc;
using Cryo.Tests.Engine.Support;
using Cryo.Tracing;
using Xunit;
using Xunit.Abstractions;

namespace Cryo.Tests.Engine;

/// <summary>The tracer on real processes: seize, interrupt, registers, signals, detach, kill.</summary>
public sealed class TracerTests(TargetProgram program, ITestOutputHelper output) : IClassFixture<TargetProgram>
{
    [Fact]
    public void SeizeInterruptReadStateDetach_TargetContinuesUnharmed()
    {
        using var target = Target.Start(program, "spin");
        using (var tracer = new Tracer())
        {
            tracer.Seize(target.Pid, PtraceOptions.TraceSysGood | PtraceOptions.ExitKill);
            var stop = tracer.Interrupt(target.Pid);
            Assert.True(stop.IsInterruptStop, $"{stop}; {target.Describe()}");

            var regs = tracer.GetRegs(target.Pid);
            var maps = ProcMaps.Read(target.Pid);
            var code = ProcMaps.Containing(maps, regs.Rip);
            output.WriteLine($"regs: {regs}; rip in {code}");
            Assert.NotNull(code);
            Assert.True(code!.Protection.HasFlag(MappingProtection.Execute), $"rip {regs.Rip:x} in {code}");
            Assert.NotNull(ProcMaps.Containing(maps, regs.Rsp));
            Assert.NotEqual(0UL, regs.FsBase); // glibc's TLS

            var xstate = tracer.GetXState(target.Pid);
            output.WriteLine($"xstate: {xstate.Bytes.Length} bytes, XCR0 {xstate.FeatureMask:x}");
            Assert.True(xstate.Bytes.Length >= 576, $"xstate only {xstate.Bytes.Length} bytes");
            Assert.Equal(3UL, xstate.FeatureMask & 3); // x87 and SSE always enabled
            Assert.Equal(0UL, tracer.GetSigMask(target.Pid));

            // Writing back what was read must be harmless.
            tracer.SetRegs(target.Pid, regs);
            tracer.SetXState(target.Pid, xstate);
            tracer.Detach(target.Pid);
        }
        var (exitCode, text) = target.Terminate();
        Assert.True(exitCode == 0, $"exit {exitCode}: {text}; {target.Describe()}");
        Assert.StartsWith("PASS", text);
    }

    [Fact]
    public void AlreadyStoppedTarget_ReportsGroupStop_AcceptsInjection_AndStaysStoppedAfterDetach()
    {
        using var target = Target.Start(program, "spin");
        Assert.Equal(0, Native.Kill(target.Pid, Signals.SIGSTOP));
        Wait.Until(() => ProcStat.Read(target.Pid).State == 'T', Target.Timeout, $"pid {target.Pid} stopped", target.Describe);
        using (var tracer = new Tracer())
        {
            tracer.Seize(target.Pid, PtraceOptions.ExitKill);
            var stop = tracer.Interrupt(target.Pid);
            Assert.True(stop.IsEventStop && stop.StopSignal == Signals.SIGSTOP, stop.ToString());
            using var memory = new RemoteMemory(target.Pid);
            var syscalls = new RemoteSyscall(tracer, target.Pid, SyscallSite.FindInVdso(target.Pid, memory));
            Assert.Equal(target.Pid, syscalls.Invoke(SyscallNumbers.Getpid));
            tracer.Detach(target.Pid);
        }
        // The kernel re-instates the group stop on detach, although the injection's single step
        // resumed the thread: the job-control state the user set is kept.
        Wait.Until(() => ProcStat.Read(target.Pid).State == 'T', Target.Timeout, $"pid {target.Pid} stopped after detach", target.Describe);
        Assert.Equal(0, Native.Kill(target.Pid, Signals.SIGCONT));
        Wait.Until(() => ProcStat.Read(target.Pid).State != 'T', Target.Timeout, $"pid {target.Pid} continued", target.Describe);
        var (exitCode, text) = target.Terminate();
        Assert.True(exitCode == 0, $"exit {exitCode}: {text}; {target.Describe()}");
    }

    [Fact]
    public void SigMask_SetAndGetRoundTrip_AndIsRestored()
    {
        using var target = Target.Start(program, "pause");
        target.WaitUntilInSyscall(SyscallNumbers.Pause);
        using var tracer = new Tracer();
        tracer.Seize(target.Pid, PtraceOptions.ExitKill);
        tracer.Interrupt(target.Pid);
        ulong mask = Signals.Bit(Signals.SIGUSR1) | Signals.Bit(Signals.SIGUSR2);
        tracer.SetSigMask(target.Pid, mask);
        Assert.Equal(mask, tracer.GetSigMask(target.Pid));
        tracer.SetSigMask(target.Pid, 0);
        Assert.Equal(0UL, tracer.GetSigMask(target.Pid));
    }

    [Fact]
    public void PeekPendingSignals_SeesSharedAndPrivateQueues_WithoutDequeuing()
    {
        using var target = Target.Start(program, "pause");
        target.WaitUntilInSyscall(SyscallNumbers.Pause);
        using var tracer = new Tracer();
        tracer.Seize(target.Pid, PtraceOptions.ExitKill);
        tracer.Interrupt(target.Pid);

        // Default-ignored signals, so delivering them after the test is harmless. A stopped
        // tracee keeps them queued (ignored signals are queued for traced tasks).
        Assert.Equal(0, Native.Kill(target.Pid, 28 /* SIGWINCH */));
        Assert.Equal(0, Native.TgKill(target.Pid, target.Pid, 23 /* SIGURG */));

        var shared = tracer.PeekPendingSignals(target.Pid, shared: true);
        var own = tracer.PeekPendingSignals(target.Pid, shared: false);
        output.WriteLine($"shared: [{string.Join(", ", shared)}] private: [{string.Join(", ", own)}]");
        var winch = Assert.Single(shared);
        Assert.Equal(28, winch.Signal);
        Assert.Equal(Environment.ProcessId, winch.SenderPid);
        Assert.Equal(23, Assert.Single(own).Signal);
        // Peeking does not dequeue.
        Assert.Single(tracer.PeekPendingSignals(target.Pid, shared: true));
    }

    [Fact]
    public void RseqConfiguration_ShowsGlibcRegistration()
    {
        using var target = Target.Start(program, "pause");
        using var tracer = new Tracer();
        tracer.Seize(target.Pid, PtraceOptions.ExitKill);
        tracer.Interrupt(target.Pid);
        var rseq = tracer.GetRseqConfiguration(target.Pid);
        output.WriteLine($"rseq: {rseq}");
        Assert.True(rseq.Registered);
        Assert.Equal(0x53053053u, rseq.Signature);
        Assert.Equal(32u, rseq.AbiSize);
    }

    [Fact]
    public void Kill_EndsAndReapsTracee()
    {
        using var target = Target.Start(program, "spin");
        using var tracer = new Tracer();
        tracer.Seize(target.Pid, PtraceOptions.ExitKill);
        tracer.Interrupt(target.Pid);
        var status = tracer.Kill(target.Pid);
        Assert.True(status.Signaled && status.TermSignal == Signals.SIGKILL, status.ToString());
        Assert.False(Directory.Exists($"/proc/{target.Pid}"), "killed tracee was not reaped");
    }

    [Fact]
    public void Errors_NameTheCallThePidAndTheErrno()
    {
        using var target = Target.Start(program, "pause");
        using var tracer = new Tracer();
        // Not seized: the kernel answers ESRCH, the tracer says why.
        var failure = Assert.Throws<SysCallException>(() => tracer.GetRegs(target.Pid));
        output.WriteLine(failure.Message);
        Assert.Equal("ESRCH", failure.ErrnoName);
        Assert.Contains($"pid {target.Pid}", failure.Message);
        Assert.Contains("PTRACE_GETREGSET", failure.Message);
        Assert.Contains("not traced", failure.Message);

        var notSeized = Assert.Throws<InvalidOperationException>(() => tracer.Interrupt(target.Pid));
        Assert.Contains($"pid {target.Pid}", notSeized.Message);
    }

    [Fact]
    public unsafe void Ptrace_FromAnotherThread_FailsWithEsrch()
    {
        // The pitfall the tracer thread exists for: the tracee belongs to the attaching thread.
        using var target = Target.Start(program, "pause");
        using var tracer = new Tracer();
        tracer.Seize(target.Pid, PtraceOptions.ExitKill);
        tracer.Interrupt(target.Pid);
        UserRegs regs;
        var iov = new IoVec((ulong)(&regs), UserRegs.Size);
        long result = Native.Ptrace(PtraceRequest.GetRegSet, target.Pid, RegSet.PrStatus, (nint)(&iov));
        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        Assert.Equal(-1, result);
        Assert.Equal(ErrnoNames.ESRCH, errno);
        Assert.NotEqual(0UL, tracer.GetRegs(target.Pid).Rip);
    }
}
