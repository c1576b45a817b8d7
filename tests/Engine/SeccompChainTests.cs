using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Tests.Engine.Support;
using Cryo.Tracing;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// The seccomp chains cryo reads (PTRACE_SECCOMP_GET_FILTER) and its BPF interpreter, against
/// the kernel: testprogs/seccomp's threads are frozen, their chains read, and for a set of calls
/// the interpreter's verdict is compared with what the kernel answers when the call is made in
/// the thread. Then the guard: a call the filters refuse is not made at all.
/// </summary>
public sealed class SeccompChainTests(TestProgs progs) : IClassFixture<TestProgs>
{
    // x86-64 numbers of the calls the program's filters judge.
    private const long Getppid = 110, Uname = 63, Sysinfo = 99, Getpriority = 140, Getpid = 39;
    private const long PrioProcess = 0, PrioPgrp = 1;

    [Fact]
    public void The_interpreter_agrees_with_the_kernel_on_real_filters_and_the_guard_keeps_refused_calls_out()
    {
        using var program = TestProgram.Start(progs, "seccomp");
        int pid = program.Pid;
        int other = ProcTasks.Read(pid).Single(t => t != pid);
        using var tracer = new Tracer();
        foreach (int tid in new[] { pid, other })
        {
            tracer.Seize(tid, PtraceOptions.TraceSysGood);
            tracer.Interrupt(tid);
        }
        using var memory = new RemoteMemory(pid);
        ulong site = SyscallSite.FindInVdso(pid, memory);

        var main = SeccompChain.Read(tracer, pid, pid)!;
        var thread = SeccompChain.Read(tracer, pid, other)!;
        // Main: A, then B with SECCOMP_FILTER_FLAG_LOG; the thread inherited both and added C.
        Assert.Equal([0u, SeccompFilter.Log], main.Filters.Select(f => f.Flags));
        Assert.Equal(3, thread.Filters.Count);
        Assert.Equal(main.Filters.Select(f => f.Program), thread.Filters.Take(2).Select(f => f.Program));

        SyscallRequest[] calls =
        [
            new(Getppid), new(Uname), new(Sysinfo), new(Getpriority, PrioPgrp), new(Getpriority, PrioProcess), new(Getpid),
        ];
        // What testprogs/seccomp documents: main getppid 77, uname 78 (B is newer than A's 76), getpriority(PRIO_PGRP) 80;
        // the thread also sysinfo 79, and uname 75 (C is the newest).
        uint Errno(int e) => SeccompChain.RetErrno | (uint)e;
        Assert.Equal([Errno(77), Errno(78), SeccompChain.RetAllow, Errno(80), SeccompChain.RetAllow, SeccompChain.RetAllow],
            calls.Select(c => Normalised(main.Evaluate(c, site))));
        Assert.Equal([Errno(77), Errno(75), Errno(79), Errno(80), SeccompChain.RetAllow, SeccompChain.RetAllow],
            calls.Select(c => Normalised(thread.Evaluate(c, site))));

        // The kernel's own answers, each call made in the thread (null pointers: an allowed uname or sysinfo fails with EFAULT).
        foreach (var (tid, chain) in new[] { (pid, main), (other, thread) })
        {
            var syscalls = new RemoteSyscall(tracer, tid, site);
            foreach (var call in calls)
            {
                uint action = chain.Evaluate(call, site);
                long result = syscalls.Invoke(call.Number, call.Arg1, call.Arg2);
                if ((action & 0xffff0000) == SeccompChain.RetErrno)
                    Assert.True(result == -(action & 0xffff), $"tid {tid} call {call.Number}: the interpreter says {SeccompChain.Describe(action)}, the kernel returned {result}");
                else
                    Assert.True(result >= 0 || result == -14, $"tid {tid} call {call.Number}: the interpreter allows it, the kernel returned {result}");
            }
        }

        // Guarded, a refused call is not made: the exception names the thread, the call and the action.
        tracer.GuardSyscalls(pid, main);
        var refused = Assert.Throws<SyscallFilteredException>(() => new RemoteSyscall(tracer, pid, site).Invoke(Getppid));
        Assert.Contains($"tid {pid}", refused.Message);
        Assert.Contains("system call 110", refused.Message);
        Assert.Contains("SECCOMP_RET_ERRNO (EBADFD)", refused.Message);
        Assert.Equal(pid, new RemoteSyscall(tracer, pid, site).Invoke(Getpid));

        foreach (int tid in new[] { other, pid }) tracer.Detach(tid);
        var (exitCode, output) = program.Terminate(TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 0 && output == "PASS", $"exit {exitCode}: {output}; {program.Describe()}");
    }

    /// <summary>An ERRNO action with its data, any other action without (only the action matters there).</summary>
    private static uint Normalised(uint action) => (action & 0xffff0000) == SeccompChain.RetErrno ? action : action & 0xffff0000;

    /// <summary>Classic BPF beyond what the program's filters use: arithmetic, the index register, scratch memory, jumps, returns of A and X.</summary>
    [Theory]
    [InlineData(0x04, 5u, 12u)]          // ADD K: 7 + 5
    [InlineData(0x14, 5u, 2u)]           // SUB K: 7 - 5
    [InlineData(0x24, 6u, 42u)]          // MUL K
    [InlineData(0x34, 2u, 3u)]           // DIV K: 7 / 2
    [InlineData(0x44, 8u, 15u)]          // OR K
    [InlineData(0x54, 6u, 6u)]           // AND K
    [InlineData(0x64, 4u, 112u)]         // LSH K
    [InlineData(0x74, 1u, 3u)]           // RSH K
    [InlineData(0x94, 4u, 3u)]           // MOD K
    [InlineData(0xa4, 2u, 5u)]           // XOR K
    [InlineData(0x84, 0u, 0xfffffff9u)]  // NEG
    public void Arithmetic_on_the_accumulator(ushort code, uint k, uint expected)
    {
        BpfInstruction[] program = [new(0x00, 0, 0, 7), new(code, 0, 0, k), new(0x16, 0, 0, 0)]; // LD IMM 7; op; RET A
        Assert.Equal(expected, SeccompChain.Run(program, new byte[64]));
    }

    [Fact]
    public void The_index_register_scratch_memory_and_jumps()
    {
        var data = new byte[64];
        BitConverter.TryWriteBytes(data.AsSpan(16), 1000u); // args[0]
        BpfInstruction[] program =
        [
            new(0x20, 0, 0, 16),   // LD W ABS args[0]     A = 1000
            new(0x02, 0, 0, 3),    // ST M[3]
            new(0x01, 0, 0, 24),   // LDX IMM 24            X = 24
            new(0x0c, 0, 0, 0),    // ADD X                 A = 1024
            new(0x35, 1, 0, 1024), // JGE 1024 → skip one
            new(0x06, 0, 0, 1),    // RET 1 (not taken)
            new(0x45, 0, 1, 0x400),// JSET 0x400 → next, else skip
            new(0x05, 0, 0, 1),    // JA +1
            new(0x06, 0, 0, 2),    // RET 2 (jumped over)
            new(0x61, 0, 0, 3),    // LDX MEM M[3]          X = 1000
            new(0x87, 0, 0, 0),    // TXA                   A = 1000
            new(0x80, 0, 0, 0),    // LD LEN                A = 64
            new(0x07, 0, 0, 0),    // TAX                   X = 64
            new(0x0e, 0, 0, 0),    // RET X
        ];
        Assert.Equal(64u, SeccompChain.Run(program, data));
        // Division by a zero X ends the program with 0 (SECCOMP_RET_KILL_THREAD), as the kernel does.
        Assert.Equal(0u, SeccompChain.Run([new(0x00, 0, 0, 7), new(0x01, 0, 0, 0), new(0x3c, 0, 0, 0), new(0x06, 0, 0, SeccompChain.RetAllow)], data));
        // The most restrictive action of a chain wins, KILL_PROCESS (0x80000000, negative as the kernel compares) above all.
        var chain = SeccompChain.Of([([new(0x06, 0, 0, SeccompChain.RetErrno | 1)], 0u), ([new(0x06, 0, 0, SeccompChain.RetKillProcess)], 0u),
            ([new(0x06, 0, 0, SeccompChain.RetAllow)], 0u)]);
        Assert.Equal(SeccompChain.RetKillProcess, chain.Evaluate(new SyscallRequest(Getpid), 0));
    }
}
