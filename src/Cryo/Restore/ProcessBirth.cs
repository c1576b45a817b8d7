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

        // An empty environment keeps the stub small (no locale files mapped). The restored process
        // keeps the stub's mmap base and search direction (its exec chose them): the stub is exec'd
        // with the layout flags of the image's personality, so a process that ran without address
        // randomization, or with the legacy bottom-up layout, places its next mmap as before.
        int stub = PosixSpawn.Spawn(StubPath, [StubPath, "infinity"], environment: [], outputPath: "/dev/null", newSession: false,
            layout: info.Personality & (Native.ADDR_NO_RANDOMIZE | Native.ADDR_COMPAT_LAYOUT));
        session.CreatedPids.Add(stub);
        bool stubGone = false;
        try
        {
            WaitUntilAsleep(stub, ref stubGone);
            // ExitKill is inherited by the clone: should cryo die mid-restore, the kernel kills the
            // half-restored process instead of letting it run (the options end at the final detach).
            tracer.Seize(stub, PtraceOptions.TraceSysGood | PtraceOptions.TraceFork | PtraceOptions.TraceClone | PtraceOptions.ExitKill);
            tracer.Interrupt(stub);
            return tracer.Run(() =>
            {
                var (child, site) = CloneWithPid(tracer, stub, info.Pid, session);
                PrepareChild(tracer, child, site, info, session);
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
    private static (int Child, ulong Site) CloneWithPid(Tracer tracer, int stub, int pid, RestoreSession session)
    {
        using var memory = new RemoteMemory(stub);
        var maps = ProcMaps.Read(stub);
        ulong site = SyscallSite.FindInVdso(memory, maps);
        var regs = tracer.GetRegs(stub);

        // The scratch lies below the stub's stack pointer; the child gets a copy of it, which Memory discards.
        using var scratch = ScratchArea.BelowStack(memory, regs.Rsp, 128, maps);
        // clone3 refuses an exit signal with CLONE_PARENT: the child takes the stub's (SIGCHLD),
        // which also makes the kernel report PTRACE_EVENT_CLONE rather than FORK.
        int child = InjectClone(tracer, stub, site, scratch.Address, (offset, data) => scratch.Write(offset, data),
            MemoryCalls.CLONE_PARENT, 0, pid, session, $"stub pid {stub}", track: true);
        return (child, site);
    }

    /// <summary>
    /// Injects clone3 with set_tid = [<paramref name="wanted"/>] into the stopped tracee
    /// <paramref name="caller"/> (clone_args and the tid array go to <paramref name="scratch"/>,
    /// 128 bytes of its memory) and returns the new task, stopped under the tracer. A process
    /// (<paramref name="track"/>) goes into the session's created pids at once, so a failure
    /// later kills it. EEXIST becomes <see cref="PidTakenException"/> naming the owner.
    /// </summary>
    internal static unsafe int InjectClone(Tracer tracer, int caller, ulong site, ulong scratch, Action<int, byte[]> write,
        ulong flags, ulong exitSignal, int wanted, RestoreSession session, string where, bool track, string kind = "pid")
    {
        const int argsOffset = 0, tidOffset = 96;
        var args = new CloneArgs { Flags = flags, ExitSignal = exitSignal, SetTid = scratch + tidOffset, SetTidSize = 1 };
        write(argsOffset, new ReadOnlySpan<byte>(&args, sizeof(CloneArgs)).ToArray());
        var tid = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(tid, wanted);
        write(tidOffset, tid);

        var request = new SyscallRequest(SyscallNumbers.Clone3, (long)(scratch + argsOffset), sizeof(CloneArgs));
        var result = tracer.InjectForkingSyscall(caller, site, request);
        if (result.Result == -ErrnoNames.EEXIST && WaitUntilReleased(wanted))
            result = tracer.InjectForkingSyscall(caller, site, request);
        if (result.Child != 0 && track) session.CreatedPids.Add(result.Child);
        if (result.Result < 0)
        {
            int errno = (int)-result.Result;
            throw errno switch
            {
                ErrnoNames.EEXIST => new PidTakenException(wanted, DescribeOwner(wanted), kind),
                ErrnoNames.EINVAL when wanted > PidMax() =>
                    new InvalidOperationException($"cannot recreate {kind} {wanted}: it is above this machine's pid_max ({PidMax()}, /proc/sys/kernel/pid_max)"),
                _ => new SysCallException("clone3 with set_tid (injected)", errno, $"{where}, wanted {kind} {wanted}"),
            };
        }
        if (result.Child != wanted || result.Result != wanted)
            throw new InvalidOperationException($"clone3 with set_tid = {wanted} in {where} returned {result.Result}, new task {result.Child}");
        return result.Child;
    }

    /// <summary>
    /// Creates the process of <paramref name="info"/> as a child of its restored parent: clone3
    /// (no CLONE_PARENT, exit signal SIGCHLD, set_tid = [pid]) injected into the parent, which is
    /// stopped with its image memory already in place (its PROC section came first). The child
    /// starts as a copy of the parent (its memory, descriptors, session and group, all signals
    /// blocked), which the resource kinds then replace; its parent is the right one from the start,
    /// so getppid() and the parent's wait() see it. clone_args go to a page mapped in the parent
    /// for the call and unmapped after it.
    /// </summary>
    internal static RestoringProcess CreateChild(ProcessInfo info, RestoringProcess parent, RestoreSession session)
    {
        var tracer = session.Tracer;
        if (info.Pid <= 1)
            throw new InvalidOperationException($"cannot restore pid {info.Pid}: only pids above 1 can be recreated");
        return tracer.Run(() =>
        {
            int child = WithParentPage(parent, page => InjectClone(tracer, parent.Pid, parent.Syscalls.SyscallInstruction, page,
                (offset, data) => parent.Memory.Write(page + (ulong)offset, data), 0, (ulong)Cryo.Interop.Signals.SIGCHLD, info.Pid,
                session, $"parent pid {parent.Pid}", track: true));
            ulong site = parent.Syscalls.SyscallInstruction; // the child's address space is a copy: same vDSO
            // A zombie too: it may lead a session or group that other processes of the image are in.
            PrepareChild(tracer, child, site, info, session);
            return new RestoringProcess(info, tracer, new RemoteMemory(child), new RemoteSyscall(tracer, child, site));
        });
    }

    /// <summary>
    /// Recreates a zombie: born from its restored parent like any child, then made to end the way
    /// the original did (exit_group(code), or the fatal signal) and left unreaped, so the parent's
    /// later wait() returns the same pid and status. The SIGCHLD its end sends the parent now is
    /// taken back out of the parent's queue (the original parent had it long ago; a pending one
    /// recorded in the image is queued again by Signals). A core dump flag is not reproduced.
    /// </summary>
    internal static void CreateZombie(ProcessInfo info, RestoringProcess parent, RestoreSession session)
    {
        var tracer = session.Tracer;
        var process = CreateChild(info, parent, session);
        int pid = process.Pid;
        int status = info.ExitStatus;
        int signal = status & 0x7f;
        tracer.Run(() =>
        {
            var sys = process.Syscalls;
            // No core file from a recreated death by SIGSEGV/SIGABRT/...
            sys.Checked("prctl(PR_SET_DUMPABLE, 0)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_DUMPABLE, 0);
            WaitStatus end;
            if (signal == 0)
            {
                var regs = tracer.GetRegs(pid);
                regs.Rip = sys.SyscallInstruction;
                regs.OrigRax = UserRegs.NoSyscall;
                regs.Rax = (ulong)SyscallNumbers.ExitGroup;
                regs.Rdi = (ulong)((status >> 8) & 0xff);
                tracer.SetRegs(pid, regs);
                end = tracer.RunToEnd(pid);
            }
            else
            {
                // Reset to SIG_DFL (the stub's copy may handle or ignore it), unblock, send it.
                WithParentPage(process, page =>
                {
                    process.Memory.Write(page, new byte[32]); // struct sigaction with SIG_DFL
                    sys.Checked($"rt_sigaction({signal}, SIG_DFL)", SyscallNumbers.RtSigaction, signal, (long)page, 0, InjectedCalls.SigsetSize);
                    return 0;
                });
                tracer.SetSigMask(pid, 0);
                if (Native.Kill(pid, signal) < 0)
                    throw new SysCallException($"kill({signal})", System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"zombie-to-be pid {pid}");
                end = tracer.RunToEnd(pid);
            }
            int got = end.Exited ? end.ExitCode << 8 : end.TermSignal;
            if ((got & 0xffff) != (status & 0xff7f))
                throw new InvalidOperationException($"pid {pid}: recreating the zombie ended with {end}, the image has wait status {status}");
            // The parent got a SIGCHLD for it now; take it back out of the parent's queue.
            WithParentPage(parent, page =>
            {
                var set = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(set, 1UL << (Cryo.Interop.Signals.SIGCHLD - 1));
                parent.Memory.Write(page, set);
                parent.Memory.Write(page + 16, new byte[16]); // timespec {0, 0}: do not wait
                parent.Syscalls.Invoke(SyscallNumbers.RtSigtimedwait, (long)page, 0, (long)page + 16, 8);
                return 0;
            });
        });
        session.CreatedPids.Remove(pid);
        session.Zombies.Add((pid, parent.Pid));
    }

    /// <summary>Maps one private page in <paramref name="process"/> (the kernel picks the place), runs <paramref name="use"/>, unmaps it.</summary>
    private static T WithParentPage<T>(RestoringProcess process, Func<ulong, T> use)
    {
        long page = process.Syscalls.Checked("mmap (clone scratch)", SyscallNumbers.Mmap, 0, Environment.SystemPageSize,
            RemoteSyscall.PROT_READ | RemoteSyscall.PROT_WRITE, RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS, -1, 0);
        try { return use((ulong)page); }
        finally
        {
            if (process.Tracer.IsTracerThread) process.Syscalls.Invoke(SyscallNumbers.Munmap, page, Environment.SystemPageSize);
        }
    }

    /// <summary>Removes the stub's rseq registration (before anything is unmapped) and sets up session and group.</summary>
    private static void PrepareChild(Tracer tracer, int child, ulong site, ProcessInfo info, RestoreSession? session = null)
    {
        var syscalls = new RemoteSyscall(tracer, child, site);

        // The child inherited the stub's rseq registration (clone without CLONE_VM keeps it). The
        // kernel writes the cpu id into that area on every return to user space, and kills the
        // task with SIGSEGV once the area is unmapped: unregister it first.
        // Without PTRACE_GET_RSEQ_CONFIGURATION (KernelFeatures) it is found through glibc's __rseq_offset.
        var rseq = RseqAccess.Read(tracer, child, child);
        if (rseq.Registered)
            syscalls.Checked("rseq(RSEQ_FLAG_UNREGISTER)", SyscallNumbers.Rseq, (long)rseq.AbiPointer, rseq.AbiSize,
                MemoryCalls.RSEQ_FLAG_UNREGISTER, rseq.Signature);

        // Session leaders first (a child born later inherits the session), then group leaders,
        // then members of a group led by another process of the tree (now if that group exists
        // already, else once every process is born: TreeFinish.JoinGroups).
        if (info.SessionId == info.Pid)
            syscalls.Checked("setsid", MemoryCalls.Setsid);
        else if (info.ProcessGroupId == info.Pid)
            syscalls.Checked("setpgid(0, 0)", MemoryCalls.Setpgid, 0, 0);
        if (session is null) return;
        var stat = ProcStat.Read(child);
        if (info.SessionId != info.Pid && stat.Session != info.SessionId)
            session.Warn($"pid {info.Pid} was in session {info.SessionId}, which no process of the image leads; it is restored in session {stat.Session}");
        if (info.ProcessGroupId != info.Pid && stat.ProcessGroup != info.ProcessGroupId
            && syscalls.Invoke(MemoryCalls.Setpgid, 0, info.ProcessGroupId) < 0)
            session.DeferredGroups.Add((child, info.ProcessGroupId));
    }

    /// <summary>
    /// A pid held by a zombie whose parent is init is about to be freed (init here reaps orphans
    /// only after a second or so: e.g. the descendants of a tree killed by someone else just
    /// before the restore): waited for, up to 10 s. True once it is free. A pid held by anything
    /// else (a live process, a zombie of a live parent) is reported at once.
    /// </summary>
    private static bool WaitUntilReleased(int pid)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            ProcessStat stat;
            try { stat = ProcStat.Read(pid); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ProcFormatException) { return true; }
            if (stat.State is not ('Z' or 'X') || stat.ParentPid != 1) return false;
            Thread.Sleep(2);
        }
        return false;
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
internal sealed class PidTakenException(int pid, string owner, string kind = "pid")
    : Exception($"cannot recreate {kind} {pid}: pid {pid} is taken by {owner} (see /proc/{pid}/status)")
{
    public int Pid { get; } = pid;
}
