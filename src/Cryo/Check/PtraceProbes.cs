using System.Buffers.Binary;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Tracing;

namespace Cryo.Check;

/// <summary>Probes that trace a helper process: seize/interrupt, injection, rseq, clone3 set_tid, PR_SET_MM_MAP.</summary>
internal static class PtraceProbes
{
    /// <summary>PTRACE_SEIZE + PTRACE_INTERRUPT of a sleeping helper: the interrupt stop arrives, registers read, detach.</summary>
    public static ProbeOutcome SeizeInterrupt()
    {
        using var target = ProbeTarget.Start();
        using var tracer = new Tracer("cryo-check");
        tracer.Seize(target.Pid);
        var stop = tracer.Interrupt(target.Pid);
        if (!stop.IsEventStop) return ProbeOutcome.Missing($"PTRACE_INTERRUPT gave {stop}, not an event stop");
        var regs = tracer.GetRegs(target.Pid);
        var xstate = tracer.GetXState(target.Pid);
        tracer.Detach(target.Pid);
        return ProbeOutcome.Ok($"seize, interrupt stop, regs (rip {regs.Rip:x}), xstate {xstate.Bytes.Length} bytes (XCR0 0x{xstate.FeatureMask:x}), detach");
    }

    /// <summary>An injected getpid() through the `syscall` instruction in the helper's [vdso].</summary>
    public static ProbeOutcome SyscallInjection()
    {
        using var target = ProbeTarget.Start();
        using var tracer = new Tracer("cryo-check");
        tracer.Seize(target.Pid);
        tracer.Interrupt(target.Pid);
        using var memory = new RemoteMemory(target.Pid);
        ulong site = SyscallSite.FindInVdso(target.Pid, memory);
        long pid = new RemoteSyscall(tracer, target.Pid, site).Checked("getpid", SyscallNumbers.Getpid);
        tracer.Detach(target.Pid);
        return pid == target.Pid
            ? ProbeOutcome.Ok($"injected getpid() at [vdso]+{site - ProcMaps.Find(ProcMaps.Read(target.Pid), "[vdso]")!.Start:x} returned {pid}")
            : ProbeOutcome.Missing($"injected getpid() returned {pid}, expected {target.Pid}");
    }

    /// <summary>
    /// PTRACE_SECCOMP_GET_FILTER (CONFIG_CHECKPOINT_RESTORE with CONFIG_SECCOMP_FILTER; CAP_SYS_ADMIN):
    /// the helper is put under a filter that allows everything (injected no_new_privs and
    /// seccomp(), the program written below its stack pointer), which must read back the same.
    /// Without it a process under seccomp filters cannot be checkpointed (docs/engine-memory.md).
    /// </summary>
    public static ProbeOutcome SeccompFilters()
    {
        using var target = ProbeTarget.Start();
        using var tracer = new Tracer("cryo-check");
        tracer.Seize(target.Pid);
        tracer.Interrupt(target.Pid);
        using var memory = new RemoteMemory(target.Pid);
        var calls = new RemoteSyscall(tracer, target.Pid, SyscallSite.FindInVdso(target.Pid, memory));
        // One instruction: BPF_RET | BPF_K, SECCOMP_RET_ALLOW.
        Format.BpfInstruction[] allowAll = [new(0x06, 0, 0, SeccompChain.RetAllow)];
        ulong at = (tracer.GetRegs(target.Pid).Rsp - 128 - 32) & ~15UL;
        memory.Write(at, SeccompChain.FilterArgument(allowAll, at));
        calls.Checked("prctl(PR_SET_NO_NEW_PRIVS)", SyscallNumbers.Prctl, InjectedCalls.PR_SET_NO_NEW_PRIVS, 1);
        long installed = calls.Invoke(SyscallNumbers.Seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, (long)at);
        if (installed < 0) return ProbeOutcome.Missing($"seccomp(SECCOMP_SET_MODE_FILTER) in the helper: {ErrnoNames.Name((int)-installed)}");
        List<(byte[] Program, ulong Flags)> filters;
        try { filters = tracer.GetSeccompFilters(target.Pid); }
        catch (SysCallException e) when (e.Errno is ErrnoNames.EINVAL or ErrnoNames.EIO)
        {
            return ProbeOutcome.Missing($"PTRACE_SECCOMP_GET_FILTER: {ErrnoNames.Name(e.Errno)} (a kernel without CONFIG_CHECKPOINT_RESTORE)");
        }
        tracer.Detach(target.Pid);
        return filters.Count == 1 && filters[0].Program.AsSpan().SequenceEqual(SeccompChain.Encode(allowAll))
            ? ProbeOutcome.Ok("the helper's allow-all filter read back with PTRACE_SECCOMP_GET_FILTER")
            : ProbeOutcome.Missing($"PTRACE_SECCOMP_GET_FILTER read {filters.Count} filter(s), not the helper's one");
    }

    /// <summary>
    /// PTRACE_GET_RSEQ_CONFIGURATION on the helper (glibc registers rseq in every thread). When the
    /// kernel lacks it (before 5.13: EIO), the fallback through glibc's __rseq_offset is tried on
    /// the same helper: it working makes the row "degraded", not "missing".
    /// </summary>
    public static ProbeOutcome RseqConfiguration()
    {
        using var target = ProbeTarget.Start();
        using var tracer = new Tracer("cryo-check");
        tracer.Seize(target.Pid);
        tracer.Interrupt(target.Pid);
        try
        {
            var config = tracer.GetRseqConfiguration(target.Pid);
            tracer.Detach(target.Pid);
            return ProbeOutcome.Ok(config.Registered
                ? $"helper's rseq: area {config.AbiPointer:x}, size {config.AbiSize}, signature 0x{config.Signature:x}"
                : "works; the helper has no rseq registration");
        }
        catch (SysCallException e) when (e.Errno is ErrnoNames.EIO or ErrnoNames.EINVAL)
        {
            string fallback;
            bool fallbackWorks;
            try
            {
                var found = RseqAccess.FromGlibc(tracer, target.Pid, target.Pid);
                fallbackWorks = found.Registered;
                fallback = found.Registered
                    ? $"fallback through glibc's __rseq_offset found the area at {found.AbiPointer:x} (fs_base + offset)"
                    : "fallback through glibc's __rseq_offset found no registration";
            }
            catch (Exception f) when (f is InvalidOperationException or SysCallException or RemoteMemoryException or IOException or InvalidDataException)
            {
                fallbackWorks = false;
                fallback = $"fallback through glibc's __rseq_offset failed: {f.Message}";
            }
            tracer.Detach(target.Pid);
            string detail = $"PTRACE_GET_RSEQ_CONFIGURATION: {e.ErrnoName} (kernel before 5.13); {fallback}";
            return fallbackWorks ? ProbeOutcome.Degraded(detail) : ProbeOutcome.Missing(detail);
        }
    }

    /// <summary>
    /// clone3 with set_tid = [a free pid] and CLONE_PARENT injected into a seized helper, exactly as
    /// a restore creates its processes; the child must have that pid. Child and helper are killed.
    /// </summary>
    public static unsafe ProbeOutcome Clone3SetTid()
    {
        using var target = ProbeTarget.Start();
        using var tracer = new Tracer("cryo-check");
        tracer.Seize(target.Pid, PtraceOptions.TraceSysGood | PtraceOptions.TraceFork | PtraceOptions.TraceClone);
        tracer.Interrupt(target.Pid);
        int wanted = FreePid();
        using var memory = new RemoteMemory(target.Pid);
        var maps = ProcMaps.Read(target.Pid);
        ulong site = SyscallSite.FindInVdso(memory, maps);
        var regs = tracer.GetRegs(target.Pid);
        ForkResult result;
        using (var scratch = ScratchArea.BelowStack(memory, regs.Rsp, 128, maps))
        {
            var args = new CloneArgs { Flags = MemoryCalls.CLONE_PARENT, SetTid = scratch.Address + 96, SetTidSize = 1 };
            scratch.Write(0, new ReadOnlySpan<byte>(&args, sizeof(CloneArgs)));
            Span<byte> tid = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(tid, wanted);
            scratch.Write(96, tid);
            result = tracer.InjectForkingSyscall(target.Pid, site, new SyscallRequest(SyscallNumbers.Clone3, (long)scratch.Address, sizeof(CloneArgs)));
        }
        if (result.Child != 0) tracer.Kill(result.Child);
        tracer.Kill(target.Pid);
        if (result.Result < 0)
            return ProbeOutcome.Missing($"injected clone3(set_tid = [{wanted}]): {ErrnoNames.Name((int)-result.Result)}");
        return result.Result == wanted && result.Child == wanted
            ? ProbeOutcome.Ok($"injected clone3(set_tid = [{wanted}], CLONE_PARENT) created pid {wanted}")
            : ProbeOutcome.Missing($"injected clone3(set_tid = [{wanted}]) returned {result.Result}, child {result.Child}");
    }

    /// <summary>A pid that is free now, a little above the last one handed out.</summary>
    private static int FreePid()
    {
        int pidMax = ReadInt("/proc/sys/kernel/pid_max") ?? 32768;
        int start = (ReadInt("/proc/sys/kernel/ns_last_pid") ?? Environment.ProcessId) + 300;
        for (int i = 0; i < 10000; i++)
        {
            int pid = 300 + (start + i - 300) % (pidMax - 300);
            if (!Directory.Exists($"/proc/{pid}")) return pid;
        }
        throw new InvalidOperationException("no free pid found for the clone3 set_tid probe");
    }

    private static int? ReadInt(string path)
    {
        try { return int.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// PR_SET_MM_MAP_SIZE (the struct size, 104 on x86-64) locally, then a real PR_SET_MM_MAP injected
    /// into a seized helper with its own current values (code/data/brk/stack/args/env, auxv, exe fd -1),
    /// the call a restore makes.
    /// </summary>
    public static unsafe ProbeOutcome PrSetMmMap()
    {
        uint size = 0;
        if (Native.Prctl(Native.PR_SET_MM, Native.PR_SET_MM_MAP_SIZE, (ulong)&size, 0, 0) != 0)
            return ProbeOutcome.Missing($"prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE): {CheckNative.LastError()} (kernel without CONFIG_CHECKPOINT_RESTORE?)");
        if (size != MemoryCalls.PrctlMmMapSize)
            return ProbeOutcome.Missing($"PR_SET_MM_MAP_SIZE is {size}, cryo writes {MemoryCalls.PrctlMmMapSize}");

        using var target = ProbeTarget.Start();
        using var tracer = new Tracer("cryo-check");
        tracer.Seize(target.Pid);
        tracer.Interrupt(target.Pid);
        using var memory = new RemoteMemory(target.Pid);
        var maps = ProcMaps.Read(target.Pid);
        ulong site = SyscallSite.FindInVdso(memory, maps);
        var calls = new RemoteSyscall(tracer, target.Pid, site);
        var stat = ProcStat.Read(target.Pid);
        var auxvBytes = File.ReadAllBytes($"/proc/{target.Pid}/auxv");
        int auxvLength = auxvBytes.Length;
        long result = tracer.Run(() =>
        {
            ulong brk = (ulong)calls.Checked("brk(0)", SyscallNumbers.Brk, 0);
            var regs = tracer.GetRegs(target.Pid);
            const int auxvOffset = 128;
            using var scratch = ScratchArea.BelowStack(memory, regs.Rsp, auxvOffset + auxvLength, maps);
            scratch.Write(auxvOffset, auxvBytes);
            var map = new byte[MemoryCalls.PrctlMmMapSize];
            ulong[] words =
            [
                stat.StartCode, stat.EndCode, stat.StartData, stat.EndData, stat.StartBrk, brk,
                stat.StartStack, stat.ArgStart, stat.ArgEnd, stat.EnvStart, stat.EnvEnd, scratch.Address + auxvOffset,
            ];
            for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(map.AsSpan(i * 8), words[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(map.AsSpan(96), (uint)auxvLength);
            BinaryPrimitives.WriteInt32LittleEndian(map.AsSpan(100), -1);
            scratch.Write(0, map);
            return calls.Invoke(SyscallNumbers.Prctl, MemoryCalls.PR_SET_MM, MemoryCalls.PR_SET_MM_MAP, (long)scratch.Address, MemoryCalls.PrctlMmMapSize, 0);
        });
        tracer.Kill(target.Pid);
        return result == 0
            ? ProbeOutcome.Ok($"PR_SET_MM_MAP_SIZE {size}; injected PR_SET_MM_MAP with the helper's own layout and auxv ({auxvLength} bytes) succeeded")
            : ProbeOutcome.Missing($"PR_SET_MM_MAP_SIZE {size}, but the injected PR_SET_MM_MAP failed: {ErrnoNames.Name((int)-result)}");
    }
}
