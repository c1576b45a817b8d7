using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Tracing;

namespace Cryo.Restore;

/// <summary>
/// Creates the process a PROC section is restored into: a child of cryo with the original pid,
/// stopped under the session's tracer, rseq unregistered, in its own session if the image's
/// process led one. Its address space is still the stub's (Memory removes it when the MMST
/// arrives): /bin/sleep, libc, ld.so, heap, stack, and the kernel's [vvar]/[vvar_vclock]/[vdso].
///
/// How: start a stub (/bin/sleep infinity, found on every system), wait until it really
/// sleeps, seize it with PTRACE_O_TRACEFORK, inject clone3 with set_tid = [pid] and
/// CLONE_PARENT (the child's parent is cryo, not the stub), take over the traced child at its
/// first stop, kill and reap the stub.
/// </summary>
internal static class ProcessBirth
{
    public const string StubPath = "/bin/sleep";

    // Under emulation a stub may take seconds to start; on this machine it takes about a millisecond.
    private static readonly TimeSpan StubReadyTimeout = TimeSpan.FromSeconds(30);

    // coreutils sleep waits for "infinity" in pause(); other versions in (clock_)nanosleep.
    private const long SysPause = 34, SysClockNanosleep = 230, SysNanosleep = 35;

    internal static RestoringProcess Create(ProcessInfo info, RestoreSession session)
    {
        var tracer = session.Tracer;
        if (info.Pid <= 1)
            throw new InvalidOperationException($"cannot restore pid {info.Pid}: only pids above 1 can be recreated");

        // An empty environment keeps the stub small (no locale files mapped).
        int stub = PosixSpawn.Spawn(StubPath, [StubPath, "infinity"], environment: [], outputPath: "/dev/null", newSession: false);
        session.CreatedPids.Add(stub);
        bool stubGone = false;
        try
        {
            WaitUntilAsleep(stub, ref stubGone);
            tracer.Seize(stub, PtraceOptions.TraceSysGood | PtraceOptions.TraceFork | PtraceOptions.TraceClone);
            tracer.Interrupt(stub);
            return tracer.Run(() =>
            {
                var (child, site) = CloneWithPid(tracer, stub, info.Pid, session);
                PrepareChild(tracer, child, site, info);
                return new RestoringProcess(info, tracer, new RemoteMemory(child), new RemoteSyscall(tracer, child, site));
            });
        }
        finally
        {
            // The stub has served its purpose either way. It is our unreaped child until this
            // point (never signal a pid that may already have been reaped and reused).
            if (!stubGone)
            {
                tracer.Kill(stub);
                stubGone = true;
            }
            session.CreatedPids.Remove(stub);
        }
    }

    /// <summary>Waits until the stub is blocked in its sleep (seizing it earlier would catch it in the dynamic loader).</summary>
    private static void WaitUntilAsleep(int stub, ref bool gone)
    {
        var clock = Stopwatch.StartNew();
        string syscallFile = ProcFiles.PathOf(stub, "syscall");
        while (true)
        {
            int reaped = Native.WaitPid(stub, out int raw, Native.WNOHANG);
            if (reaped == stub)
            {
                gone = true;
                throw new InvalidOperationException($"the stub {StubPath} (pid {stub}) ended before it slept: {new WaitStatus(stub, raw)}");
            }
            string text;
            try { text = File.ReadAllText(syscallFile); }
            catch (IOException) { text = ""; }
            int space = text.IndexOf(' ');
            if (space > 0 && long.TryParse(text.AsSpan(0, space), out long number) && number is SysPause or SysClockNanosleep or SysNanosleep)
                return;
            if (clock.Elapsed > StubReadyTimeout)
                throw new TimeoutException($"the stub {StubPath} (pid {stub}) did not fall asleep within {StubReadyTimeout.TotalSeconds:0} s ({syscallFile}: '{text.Trim()}')");
            Thread.Sleep(1);
        }
    }

    /// <summary>Injects clone3(set_tid = [pid], CLONE_PARENT) into the stub; returns the traced child and its syscall site.</summary>
    private static unsafe (int Child, ulong Site) CloneWithPid(Tracer tracer, int stub, int pid, RestoreSession session)
    {
        using var memory = new RemoteMemory(stub);
        var maps = ProcMaps.Read(stub);
        ulong site = SyscallSite.FindInVdso(memory, maps);
        var regs = tracer.GetRegs(stub);

        // clone_args at 0 (88 bytes), the set_tid array (one pid_t) at 96. The scratch lies below
        // the stub's stack pointer; the child gets a copy of it, which Memory discards.
        const int argsOffset = 0, tidOffset = 96;
        using var scratch = ScratchArea.BelowStack(memory, regs.Rsp, 128, maps);
        var args = new CloneArgs
        {
            // clone3 refuses an exit signal with CLONE_PARENT: the child takes the stub's (SIGCHLD),
            // which also makes the kernel report PTRACE_EVENT_CLONE rather than FORK.
            Flags = MemoryCalls.CLONE_PARENT,
            ExitSignal = 0,
            SetTid = scratch.Address + tidOffset,
            SetTidSize = 1,
        };
        scratch.Write(argsOffset, new ReadOnlySpan<byte>(&args, sizeof(CloneArgs)));
        Span<byte> tid = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(tid, pid);
        scratch.Write(tidOffset, tid);

        var result = tracer.InjectForkingSyscall(stub, site,
            new SyscallRequest(SyscallNumbers.Clone3, (long)(scratch.Address + argsOffset), sizeof(CloneArgs)));
        if (result.Child != 0) session.CreatedPids.Add(result.Child);
        if (result.Result < 0)
        {
            int errno = (int)-result.Result;
            throw errno switch
            {
                ErrnoNames.EEXIST => new PidTakenException(pid, DescribeOwner(pid)),
                ErrnoNames.EINVAL when pid > PidMax() =>
                    new InvalidOperationException($"cannot recreate pid {pid}: it is above this machine's pid_max ({PidMax()}, /proc/sys/kernel/pid_max)"),
                _ => new SysCallException("clone3 with set_tid (injected)", errno, $"stub pid {stub}, wanted pid {pid}"),
            };
        }
        if (result.Child != pid || result.Result != pid)
            throw new InvalidOperationException($"clone3 with set_tid = {pid} in stub pid {stub} returned {result.Result}, new child {result.Child}");
        return (result.Child, site);
    }

    /// <summary>Removes the stub's rseq registration (before anything is unmapped) and sets up session and group.</summary>
    private static void PrepareChild(Tracer tracer, int child, ulong site, ProcessInfo info)
    {
        var syscalls = new RemoteSyscall(tracer, child, site);

        // The child inherited the stub's rseq registration (clone without CLONE_VM keeps it). The
        // kernel writes the cpu id into that area on every return to user space, and kills the
        // task with SIGSEGV once the area is unmapped: unregister it first.
        RseqConfiguration rseq;
        try { rseq = tracer.GetRseqConfiguration(child); }
        catch (SysCallException e) when (e.Errno == ErrnoNames.EIO)
        {
            throw new InvalidOperationException(
                $"pid {child}: this kernel lacks PTRACE_GET_RSEQ_CONFIGURATION (5.13+), so the stub's rseq registration cannot be removed", e);
        }
        if (rseq.Registered)
            syscalls.Checked("rseq(RSEQ_FLAG_UNREGISTER)", SyscallNumbers.Rseq, (long)rseq.AbiPointer, rseq.AbiSize,
                MemoryCalls.RSEQ_FLAG_UNREGISTER, rseq.Signature);

        // The child is in cryo's session and group. Process trees (children in their parent's
        // session, groups led by others) are recreated by the tree logic; here: leaders.
        if (info.SessionId == info.Pid)
            syscalls.Checked("setsid", MemoryCalls.Setsid);
        else if (info.ProcessGroupId == info.Pid)
            syscalls.Checked("setpgid(0, 0)", MemoryCalls.Setpgid, 0, 0);
    }

    private static string DescribeOwner(int pid)
    {
        try
        {
            var status = ProcStatus.Read(pid);
            string what = status.Tgid == pid ? "process" : $"a thread of process {status.Tgid}";
            return $"{what} '{status.Name}' (state {status.State}, parent {status.ParentPid})";
        }
        catch (ProcFormatException)
        {
            return "a process that has just ended or is not visible here";
        }
    }

    private static int PidMax()
    {
        try { return int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(), System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or FormatException) { return int.MaxValue; }
    }
}

/// <summary>The pid a process must be restored with is in use.</summary>
internal sealed class PidTakenException(int pid, string owner)
    : Exception($"cannot recreate pid {pid}: pid {pid} is taken by {owner} (see /proc/{pid}/status)")
{
    public int Pid { get; } = pid;
}
