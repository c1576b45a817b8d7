using Cryo.Interop;
using Cryo.Tests.Engine.Support;
using Cryo.Tracing;
using FsCheck.Xunit;
using Xunit;
using Xunit.Abstractions;

namespace Cryo.Tests.Engine;

/// <summary>Interrupted-syscall normalisation: the pure function and its effect on live targets.</summary>
public sealed class NormalizationTests(TargetProgram program, ITestOutputHelper output) : IClassFixture<TargetProgram>
{
    private static UserRegs Regs(long rax, long origRax, ulong rip = 0x1000) =>
        new() { Rax = (ulong)rax, OrigRax = (ulong)origRax, Rip = rip, Rdi = 7 };

    [Theory]
    [InlineData(-512, (int)SyscallRestart.RestartSys)]
    [InlineData(-513, (int)SyscallRestart.RestartNoIntr)]
    [InlineData(-514, (int)SyscallRestart.RestartNoHand)]
    public void RestartCodes_ReExecuteTheSameSyscall(long rax, int expectedCase)
    {
        // (int: xunit theory parameters must be public types, SyscallRestart is internal)
        var expected = (SyscallRestart)expectedCase;
        var result = InterruptedSyscall.Normalize(Regs(rax, origRax: 0));
        Assert.Equal(expected, result.Restart);
        Assert.Equal(0L, result.InterruptedSyscall);
        Assert.Equal(0UL, result.Registers.Rax);
        Assert.Equal(0xffeUL, result.Registers.Rip);
        Assert.Equal(UserRegs.NoSyscall, result.Registers.OrigRax);
        Assert.Equal(7UL, result.Registers.Rdi); // arguments untouched
    }

    [Theory]
    [InlineData(232)] // epoll_wait
    [InlineData(281)] // epoll_pwait
    [InlineData(441)] // epoll_pwait2
    [InlineData(128)] // rt_sigtimedwait
    [InlineData(65)]  // semop
    [InlineData(220)] // semtimedop
    public void WaitsNeverRestarted_CutShortWithEintr_AreMadeAgain(long call)
    {
        Assert.True(InterruptedSyscall.IsWaitCutShort(Regs(-4, call)));
        var again = InterruptedSyscall.Reexecuting(Regs(-4, call));
        Assert.Equal((ulong)call, again.Rax);
        Assert.Equal(0xffeUL, again.Rip);
        Assert.Equal(UserRegs.NoSyscall, again.OrigRax);
        Assert.Equal(7UL, again.Rdi);
        // Only EINTR, and only these calls: a read (0) or a finished epoll_wait is left alone.
        Assert.False(InterruptedSyscall.IsWaitCutShort(Regs(-4, 0)));
        Assert.False(InterruptedSyscall.IsWaitCutShort(Regs(1, call)));
        Assert.False(InterruptedSyscall.IsWaitCutShort(Regs(-11, call)));
    }

    [Fact]
    public void RestartBlock_ContinuesViaRestartSyscall()
    {
        var result = InterruptedSyscall.Normalize(Regs(-516, origRax: 230));
        Assert.Equal(SyscallRestart.RestartBlock, result.Restart);
        Assert.Equal(230L, result.InterruptedSyscall);
        Assert.Equal(219UL, result.Registers.Rax);
        Assert.Equal(0xffeUL, result.Registers.Rip);
    }

    [Theory]
    [InlineData(-4, 0)]      // -EINTR: returned to user space as is
    [InlineData(42, 0)]      // a completed read
    [InlineData(-512, -1)]   // not in a syscall: rax is just a value
    public void AnythingElse_IsLeftAlone(long rax, long origRax)
    {
        var regs = Regs(rax, origRax);
        var result = InterruptedSyscall.Normalize(regs);
        Assert.Equal(SyscallRestart.None, result.Restart);
        Assert.Equal(-1L, result.InterruptedSyscall);
        Assert.Equal(regs, result.Registers);
    }

    [Property]
    public bool OutsideASyscall_RegistersNeverChange(long rax, ulong rip, byte negativeOrigRax)
    {
        var regs = Regs(rax, origRax: -1 - negativeOrigRax, rip: rip);
        return InterruptedSyscall.Normalize(regs).Registers.Equals(regs);
    }

    [Property]
    public bool Normalising_IsIdempotent(long rax, long origRax, ulong rip)
    {
        var once = InterruptedSyscall.Normalize(Regs(rax, origRax, rip)).Registers;
        return InterruptedSyscall.Normalize(once).Registers.Equals(once);
    }

    [Theory]
    [InlineData("sleep", SyscallNumbers.ClockNanosleep, -516, (int)SyscallRestart.RestartBlock)]
    [InlineData("pause", SyscallNumbers.Pause, -514, (int)SyscallRestart.RestartNoHand)]
    [InlineData("read", SyscallNumbers.Read, -512, (int)SyscallRestart.RestartSys)]
    public void LiveInterruptStop_ShowsTheRestartCode_AndNormalisedRegistersResumeCleanly(
        string mode, long syscall, long expectedRax, int expectedCase)
    {
        var expectedRestart = (SyscallRestart)expectedCase;
        using var target = Target.Start(program, mode);
        target.WaitUntilInSyscall(syscall);
        using (var tracer = new Tracer())
        {
            tracer.Seize(target.Pid, PtraceOptions.ExitKill);
            tracer.Interrupt(target.Pid);
            var raw = tracer.GetRegs(target.Pid);
            output.WriteLine($"at interrupt stop: {raw}");
            Assert.Equal(expectedRax, (long)raw.Rax);
            Assert.Equal(syscall, (long)raw.OrigRax);

            var normalized = InterruptedSyscall.Normalize(raw);
            Assert.Equal(expectedRestart, normalized.Restart);
            tracer.SetRegs(target.Pid, normalized.Registers);

            // The injector works from normalised registers just as well.
            using var memory = new RemoteMemory(target.Pid);
            var syscalls = new RemoteSyscall(tracer, target.Pid, SyscallSite.FindInVdso(target.Pid, memory));
            Assert.Equal(target.Pid, syscalls.Invoke(SyscallNumbers.Getpid));
            Assert.Equal(normalized.Registers, tracer.GetRegs(target.Pid));
            tracer.Detach(target.Pid);
        }
        // Resumed at the syscall instruction with rax = the syscall (or restart_syscall).
        long expectedResume = expectedRestart == SyscallRestart.RestartBlock ? SyscallNumbers.RestartSyscall : syscall;
        target.WaitUntilInSyscall(expectedResume);
        var (exitCode, text) = target.Terminate();
        Assert.True(exitCode == 0, $"exit {exitCode}: {text}; {target.Describe()}");
    }
}
